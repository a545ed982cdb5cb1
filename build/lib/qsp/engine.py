"""The few libRoadRunner calls qsp makes per simulation, without the Python wrapper's overhead.

RoadRunner's Python ``simulate`` re-reads integrator settings and options on
every call; the calls here go straight to the compiled library. qsp also
turns off RoadRunner's dynamic Python properties, which would otherwise put
model ids (a parameter called ``reset``, say) on the RoadRunner class itself.
"""

from __future__ import annotations

import numpy as np
import roadrunner
from roadrunner import _roadrunner as _R

_SR = roadrunner.SelectionRecord
#: Reset everything to the current ``init()`` values, including pending delayed events
#: (``resetAll``'s narrower flags leave those queued, so one call's events would leak into the next).
RESET_ALL = _SR.ALL

_configured = False


def configure() -> None:
    """Process-wide RoadRunner settings qsp relies on (idempotent)."""
    global _configured
    if _configured:
        return
    roadrunner.Config.setValue(roadrunner.Config.ROADRUNNER_DISABLE_PYTHON_DYNAMIC_PROPERTIES, True)
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_CRITICAL)
    _configured = True


def compile_sbml(sbml_text: str):
    """Compile SBML text into a RoadRunner instance."""
    configure()
    return roadrunner.RoadRunner(sbml_text)


def reset_all(rr) -> None:
    """Reset time, state and parameters to the compiled initial values."""
    _R.RoadRunner_reset(rr, RESET_ALL)


set_value = _R.RoadRunner_setValue
get_value = _R.RoadRunner__getValue
selected_values = _R.RoadRunner_getSelectedValues


def set_selections(rr, selectors) -> None:
    """Choose the columns that :func:`simulate_at` returns."""
    _R.RoadRunner__setSelections(rr, list(selectors))


def set_tolerances(rr, rtol: float, atol: float) -> None:
    """Set the CVODE relative and absolute tolerances."""
    integ = _R.RoadRunner_getIntegrator(rr)
    integ.setValue("relative_tolerance", rtol)
    integ.setValue("absolute_tolerance", atol)


def simulate_at(rr, times: np.ndarray) -> np.ndarray:
    """Integrate from the current state at ``times[0]`` and return the selections at ``times``."""
    opt = _R.RoadRunner___simulateOptions_get(rr)
    _R.RoadRunner__setSimulateOptionsTimes(rr, opt, times.tolist())
    return np.asarray(_R.RoadRunner__simulate(rr, opt))


def integrator_setting(rr, name: str, value) -> None:
    """Set one CVODE integrator setting (e.g. ``maximum_num_steps``)."""
    _R.RoadRunner_getIntegrator(rr).setValue(name, value)


def set_seed(rr, seed: int) -> None:
    """Seed libRoadRunner's random number generator (distrib functions, random event order)."""
    _R.RoadRunner_setSeed(rr, int(seed), False)
