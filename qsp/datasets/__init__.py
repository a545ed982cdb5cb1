"""Pharmacometric datasets: reading and checking NONMEM-style event tables (CSV, Parquet, data frames).

>>> from qsp.datasets import read_dataset
>>> ds = read_dataset("1001-data.csv", cmt_map={1: "depot", 2: "central"})   # doctest: +SKIP
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

__all__ = ["read_dataset", "simulate_dataset", "check_dataset", "plot_dataset", "Dataset", "DatasetSimulation",
           "DatasetReport", "DatasetError", "CANONICAL"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "DatasetReport": "check", "check_dataset": "check", "CANONICAL": "columns", "DatasetError": "columns",
    "Dataset": "dataset", "plot_dataset": "plot", "read_dataset": "read", "DatasetSimulation": "result",
    "simulate_dataset": "simulate",
})
