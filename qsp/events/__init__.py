"""Running one event table (a subject's doses, resets, parameter changes and output times) on a model's
warm instance with NONMEM's dosing rules, periodic steady states included.

The dataset layer (:mod:`qsp.datasets`) builds the plans and hands them to the ensemble; ``Model.simulate``
uses the same engine for a regimen with a dose at steady state.
"""

from .plan import DoseRecord, SubjectPlan
from .steady_state import SteadyState, periodic_state
from .subject import run_subject

__all__ = ["DoseRecord", "SubjectPlan", "SteadyState", "periodic_state", "run_subject"]
