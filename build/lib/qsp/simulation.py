"""Piecewise integration of a compiled model through a dosing schedule.

The integrator stops at every dosing instant, the schedule changes the state
(boluses add to species amounts) or the infusion-rate parameters, and the
integrator restarts from there. The value reported at a dosing instant is
the value just *after* the dose.
"""

from __future__ import annotations

import numpy as np

from . import engine
from .dosing import Schedule
from .errors import SimulationError

__all__ = ["integrate"]

_EMPTY = Schedule(np.empty(0))


def _apply(rr, schedule: Schedule, i: int) -> None:
    for sid, amount in schedule.boluses[i]:
        engine.set_value(rr, sid, engine.get_value(rr, sid) + amount)
    for pid, rate in schedule.rate_changes[i]:
        engine.set_value(rr, pid, rate)


def _simulate(rr, times: np.ndarray) -> np.ndarray:
    try:
        return engine.simulate_at(rr, times)
    except RuntimeError as exc:
        msg = " ".join(str(exc).split())
        raise SimulationError(f"integration failed between t={times[0]:g} and t={times[-1]:g}: {msg}") from None


def integrate(rr, grid: np.ndarray, t_start: float, t_end: float, schedule: Schedule | None,
              n_outputs: int) -> np.ndarray:
    """Integrate ``rr`` from its current state and return the selected outputs at ``grid``.

    Parameters
    ----------
    rr : roadrunner.RoadRunner
        Compiled model, already reset, with ``timeCourseSelections`` set to the outputs.
    grid : numpy.ndarray
        Sorted output times within ``[t_start, t_end]``.
    schedule : Schedule or None
        Dosing instants (times within ``[t_start, t_end]``).
    n_outputs : int
        Number of selected outputs (columns).

    Returns
    -------
    numpy.ndarray of shape (len(grid), n_outputs)
    """
    schedule = schedule if schedule is not None else _EMPTY
    stimes = schedule.times
    out = np.empty((len(grid), n_outputs))
    k = 0  # next schedule instant
    while k < len(stimes) and stimes[k] <= t_start:
        if stimes[k] == t_start:
            _apply(rr, schedule, k)
        k += 1
    a, g = t_start, 0
    while True:
        b = stimes[k] if k < len(stimes) and stimes[k] < t_end else t_end
        last = b == t_end
        j = len(grid) if last else int(np.searchsorted(grid, b, side="left"))
        pts = grid[g:j]
        lead = 0 if (len(pts) and pts[0] == a) else 1
        tail = 0 if (len(pts) and pts[-1] == b) else 1
        times = np.empty(len(pts) + lead + tail)
        times[lead:lead + len(pts)] = pts
        if lead:
            times[0] = a
        if tail:
            times[-1] = b
        if len(times) == 1:  # a segment with one point only happens for t_start == t_end
            times = np.array([a, b + 0.0])
        rows = _simulate(rr, times)
        out[g:j] = rows[lead:lead + len(pts)]
        g = j
        if last:
            break
        _apply(rr, schedule, k)
        k += 1
        a = b
    if k < len(stimes) and stimes[k] == t_end:
        _apply(rr, schedule, k)
        if len(grid) and grid[-1] == t_end:
            out[-1] = np.asarray(engine.selected_values(rr))
    return out
