"""qsp: load, check, dose and simulate quantitative systems pharmacology models.

>>> import qsp
>>> m = qsp.load_model("trimeric")
>>> res = m.simulate(21, doses=[qsp.Dose("Cp", 1, unit="mg/kg", every=7, count=3)])
>>> res.to_pandas().head()
"""

from . import covariates, metrics
from .catalog import list_models
from .covariates import CovariateModel
from .dosing import Dose
from .errors import (DosingError, InputError, ModelError, QSPError, QSPWarning, SimulationError, UnknownIdError,
                     UnsupportedModelError)
from .model import Model, load_model
from .result import SimulationResult

from ._version import __version__

__all__ = [
    "Dose", "Model", "SimulationResult", "load_model", "list_models", "metrics", "CovariateModel", "covariates",
    "QSPError", "ModelError", "UnsupportedModelError", "UnknownIdError", "InputError", "DosingError",
    "SimulationError",
    "QSPWarning", "__version__",
]
