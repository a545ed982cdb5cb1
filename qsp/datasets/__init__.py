"""Pharmacometric datasets: reading and checking NONMEM-style event tables (CSV, Parquet, data frames).

>>> from qsp.datasets import read_dataset
>>> ds = read_dataset("1001-data.csv", cmt_map={1: "depot", 2: "central"})   # doctest: +SKIP
"""

from .check import DatasetReport, check_dataset
from .columns import CANONICAL, DatasetError
from .dataset import Dataset
from .plot import plot_dataset
from .read import read_dataset
from .result import DatasetSimulation
from .simulate import simulate_dataset

__all__ = ["read_dataset", "simulate_dataset", "check_dataset", "plot_dataset", "Dataset", "DatasetSimulation",
           "DatasetReport", "DatasetError", "CANONICAL"]
