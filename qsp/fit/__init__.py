"""Calibration: objectives from data (PEtab problems, pharmacometric datasets), multi-start fits on all
cores, profile likelihoods, Fisher intervals, posterior sampling and prediction bands.

Every analysis here works on an :class:`~qsp.fit.objective.Objective`: the negative log-likelihood
(or log-posterior) of the estimated parameters on their scales, with bounds. Objectives are picklable,
so starts, profiles and chains run as ensemble tasks on any backend.
"""

from . import noise
from .bands import PredictionBand, model_prediction_band, prediction_band
from .dataset_objective import DatasetObjective
from .fisher import fisher_intervals
from .multistart import FitError, fit
from .objective import Objective, ParameterSpace
from .petab_export import export_petab
from .petab_problem import PetabObjective
from .profile import profile
from .profile_result import ProfileResult
from .result import FitResult
from .sample import sample
from .sample_result import SampleResult

__all__ = ["Objective", "ParameterSpace", "DatasetObjective", "PetabObjective", "export_petab", "noise", "fit", "FitResult", "FitError", "profile",
           "ProfileResult", "fisher_intervals", "sample", "SampleResult", "prediction_band",
           "model_prediction_band", "PredictionBand"]
