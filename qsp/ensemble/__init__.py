"""Ensembles: many parameter sets x regimens, on all cores or a Dask cluster, with nothing lost.

>>> from qsp import ensemble
>>> X = ensemble.sample_parameters({"CL": {"low": 0.1, "high": 1, "distribution": "loguniform"}}, n=1000)
>>> res = ensemble.run(model, X, metrics=["cmax:[Cp]", "auc:[Cp]"], backend="processes")
>>> res.table.head()
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

__all__ = ["run", "Metric", "EnsembleResult", "sample_parameters", "SerialBackend", "ProcessBackend",
           "DaskBackend"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "DaskBackend": "backends", "ProcessBackend": "backends", "SerialBackend": "backends", "Metric": "metrics",
    "EnsembleResult": "result", "run": "runner", "sample_parameters": "sampling",
})
