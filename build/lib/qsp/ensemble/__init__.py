"""Ensembles: many parameter sets x regimens, on all cores or a Dask cluster, with nothing lost.

>>> from qsp import ensemble
>>> X = ensemble.sample_parameters({"CL": {"low": 0.1, "high": 1, "distribution": "loguniform"}}, n=1000)
>>> res = ensemble.run(model, X, metrics=["cmax:[Cp]", "auc:[Cp]"], backend="processes")
>>> res.table.head()
"""

from .backends import DaskBackend, ProcessBackend, SerialBackend
from .metrics import Metric
from .result import EnsembleResult
from .runner import run
from .sampling import sample_parameters

__all__ = ["run", "Metric", "EnsembleResult", "sample_parameters", "SerialBackend", "ProcessBackend",
           "DaskBackend"]
