"""qsp: load, check, dose and simulate quantitative systems pharmacology models.

>>> import qsp
>>> m = qsp.load_model("trimeric")
>>> res = m.simulate(21, doses=[qsp.Dose("Cp", 1, unit="mg/kg", every=7, count=3)])
>>> res.to_pandas().head()

The names below (except the errors and the version) are imported on first use, so that a ``qsp``
command loads only what it runs.
"""

from __future__ import annotations

from ._version import __version__
from .errors import (DosingError, InputError, ModelError, QSPError, QSPWarning, SimulationError, UnknownIdError,
                     UnsupportedModelError)
from .lazy_exports import lazy_exports

__all__ = [
    "Dose", "Model", "SimulationResult", "load_model", "list_models", "metrics", "CovariateModel", "covariates",
    "QSPError", "ModelError", "UnsupportedModelError", "UnknownIdError", "InputError", "DosingError",
    "SimulationError",
    "QSPWarning", "__version__",
]

__getattr__, _dir = lazy_exports(__name__, {
    "Dose": "dosing", "Model": "model", "load_model": "model", "SimulationResult": "result",
    "list_models": "catalog", "CovariateModel": "covariates", "covariates": None, "metrics": None,
})


def __dir__() -> list[str]:
    return sorted(__all__)
