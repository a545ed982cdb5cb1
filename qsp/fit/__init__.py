"""Calibration: objectives from data (PEtab problems, pharmacometric datasets), multi-start fits on all
cores, profile likelihoods and posterior sampling.

Every analysis here works on an :class:`~qsp.fit.objective.Objective`: the negative log-likelihood
(or log-posterior) of the estimated parameters on their scales, with bounds. Objectives are picklable,
so starts and profiles run as ensemble tasks on any backend.
"""

from .objective import Objective, ParameterSpace

__all__ = ["Objective", "ParameterSpace"]
