"""Calibration: objectives from data (PEtab problems, pharmacometric datasets), multi-start fits on all
cores, profile likelihoods, Fisher intervals, posterior sampling and prediction bands.

Every analysis here works on an :class:`~qsp.fit.objective.Objective`: the negative log-likelihood
(or log-posterior) of the estimated parameters on their scales, with bounds. Objectives are picklable,
so starts, profiles and chains run as ensemble tasks on any backend.

The names below are imported on first use, so that ``qsp`` commands that do not fit anything do not
pay for the PEtab and SymPy imports.
"""

from __future__ import annotations

import importlib

#: public name -> module that defines it
_EXPORTS = {
    "Objective": "objective", "ParameterSpace": "objective", "DatasetObjective": "dataset_objective",
    "PetabObjective": "petab_problem", "export_petab": "petab_export", "fit": "multistart",
    "FitError": "multistart", "FitResult": "result", "profile": "profile", "ProfileResult": "profile_result",
    "fisher_intervals": "fisher", "sample": "sample", "SampleResult": "sample_result",
    "prediction_band": "bands", "model_prediction_band": "bands", "PredictionBand": "bands",
}

__all__ = [*_EXPORTS, "noise"]

# ``profile`` and ``sample`` are also the names of their modules: bind the functions now, so that a later
# import of the module cannot leave the module object under the function's name.
from .profile import profile  # noqa: E402
from .sample import sample  # noqa: E402


def __getattr__(name: str):
    if name == "noise":
        return importlib.import_module(".noise", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qsp.fit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
