"""Combination-dose synergy: dose-response surfaces from simulation, synergy models (Hill, MuSyC,
Bliss, Loewe, HSA, ZIP), MOOCS-DS Pareto dose selection (one surface, many parameter sets, many
protocols) and NSGA-II dose search.

>>> import qsp
>>> from qsp import synergy
>>> m = qsp.load_model("pembro_bev")
>>> t1 = synergy.Treatment("A1", "mg/kg", time=3, every=3, count=5)
>>> t2 = synergy.Treatment("A2", "mg/kg", time=0, every=3, count=6)
>>> s = synergy.simulate_surface(m, t1, t2, synergy.dose_grid(0.408, 10.88, 30),
...                              synergy.dose_grid(0.1372, 3.457, 30), response="tgi:W:35")
>>> res = synergy.moocs(s)
>>> res.robust()[["d1", "d2", "tgi"]]
"""

from .across import ProtocolMoocsResult, moocs_protocols
from .bliss import Bliss, bliss_reference
from .hill import HillFit, fit_hill, hill, hill_inverse
from .hsa import HSA
from .loewe import Loewe, combination_index
from .moocs import SPACES, UNDEFINED_POTENCY, MoocsResult, moocs, near_front, scores
from .musyc import MuSyC, musyc_closed_form, musyc_surface
from .optimize import OptimizationResult, SynergyProblem, nsga2
from .pareto import non_dominated
from .population import PopulationMoocsResult, moocs_population
from .protocols import Protocol, ProtocolSweep, as_protocols, protocol_grid, read_protocols, simulate_protocols
from .surface import (
    DoseResponseSurface,
    MonoCurve,
    Response,
    Treatment,
    dose_grid,
    parse_grid,
    simulate_surface,
)
from .zip import ZIP

__all__ = [
    "HSA",
    "SPACES",
    "UNDEFINED_POTENCY",
    "ZIP",
    "Bliss",
    "DoseResponseSurface",
    "HillFit",
    "Loewe",
    "MonoCurve",
    "MoocsResult",
    "MuSyC",
    "OptimizationResult",
    "PopulationMoocsResult",
    "Protocol",
    "ProtocolMoocsResult",
    "ProtocolSweep",
    "Response",
    "SynergyProblem",
    "Treatment",
    "as_protocols",
    "bliss_reference",
    "combination_index",
    "dose_grid",
    "fit_hill",
    "hill",
    "hill_inverse",
    "moocs",
    "moocs_population",
    "moocs_protocols",
    "musyc_closed_form",
    "musyc_surface",
    "near_front",
    "non_dominated",
    "nsga2",
    "parse_grid",
    "protocol_grid",
    "read_protocols",
    "scores",
    "simulate_protocols",
    "simulate_surface",
]
