"""The few libRoadRunner calls qsp makes per simulation, without the Python wrapper's overhead.

RoadRunner's Python ``simulate`` re-reads integrator settings and options on
every call; the calls here go straight to the compiled library.

Nothing here changes libRoadRunner's process-wide state for other code in the
same process: qsp's instances are built without RoadRunner's dynamic Python
properties (which live on the RoadRunner *class*, so building an instance the
usual way would replace those of the user's own instances), and the log level
is lowered only while qsp itself calls the library (:func:`quiet`).
"""

from __future__ import annotations

import contextlib

import numpy as np
import roadrunner
from roadrunner import _roadrunner as _R

_SR = roadrunner.SelectionRecord
#: Reset everything to the current ``init()`` values, including pending delayed events
#: (``resetAll``'s narrower flags leave those queued, so one call's events would leak into the next).
RESET_ALL = _SR.ALL

_LOG_QUIET = roadrunner.Logger.LOG_CRITICAL


@contextlib.contextmanager
def quiet():
    """Keep libRoadRunner's warnings (CVODE's step-size messages, say) quiet inside the block only.

    The library's logger is process-wide; the level in force before the block is restored after it,
    so a user's own RoadRunner code in the same process logs as it would without qsp.
    """
    before = _R.Logger_getLevel()
    if before == _LOG_QUIET:
        yield
        return
    _R.Logger_setLevel(_LOG_QUIET)
    try:
        yield
    finally:
        _R.Logger_setLevel(before)


def compile_sbml(sbml_text: str):
    """Compile SBML text into a RoadRunner instance (without dynamic Python properties)."""
    rr = roadrunner.RoadRunner.__new__(roadrunner.RoadRunner)
    with quiet():
        roadrunner.RoadRunner._swig_init(rr, sbml_text)
    return rr


def model_of(rr):
    """The compiled ExecutableModel of ``rr``."""
    return _R.RoadRunner__getModel(rr)


def ids_of(rr, types) -> list[str]:
    """Selection ids of ``rr`` of the given :class:`roadrunner.SelectionRecord` types."""
    return list(_R.RoadRunner__getIds(rr, types))


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
