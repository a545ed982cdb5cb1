"""Pharmacometric datasets: reading and checking NONMEM-style event tables (CSV, Parquet, data frames).

>>> from qsp.datasets import read_dataset
>>> ds = read_dataset("1001-data.csv", cmt_map={1: "depot", 2: "central"})   # doctest: +SKIP
"""

from .columns import CANONICAL, DatasetError
from .dataset import Dataset
from .read import read_dataset
from .result import DatasetSimulation
from .simulate import simulate_dataset

__all__ = ["read_dataset", "simulate_dataset", "Dataset", "DatasetSimulation", "DatasetError", "CANONICAL"]
