"""Checks of the arguments of a simulation (time grid, tolerances, overrides), shared by every entry point.

Each returns the value in the form the engine uses, or raises :class:`qsp.InputError` with one line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .errors import InputError

__all__ = ["check_tolerances", "DEFAULT_POINTS", "MAX_POINTS", "MAX_VALUES", "MAX_RTOL"]

DEFAULT_POINTS = 101
#: Most output points one simulation may have, and most values (points x outputs) it may return;
#: larger requests are refused up front rather than exhausting memory.
MAX_POINTS = 10_000_000
MAX_VALUES = 50_000_000

#: Largest relative tolerance accepted: above it CVODE's answers are no longer approximations.
MAX_RTOL = 0.1


def check_tolerances(rtol, atol) -> tuple[float, float]:
    """Return (rtol, atol) as floats after checking both are finite and positive, with rtol < 0.1.

    Raises
    ------
    InputError
    """
    rtol = _finite(rtol, "rtol")
    atol = _finite(atol, "atol")
    if not 0 < rtol <= MAX_RTOL:
        raise InputError(f"rtol (relative tolerance) must be in (0, {MAX_RTOL:g}]. Got {rtol!r} instead.")
    if not atol > 0:
        raise InputError(f"atol (absolute tolerance) must be > 0. Got {atol!r} instead.")
    return rtol, atol


def _as_mapping(value, what: str) -> Mapping:
    """``value`` as a mapping of ids to numbers (None: empty), or an InputError naming ``what``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{what} must be a mapping of ids to values, e.g. {{'k': 1.0}}. "
                         f"Got {type(value).__name__} instead.")
    for key in value:
        if not isinstance(key, str):
            raise InputError(f"{what} keys must be id strings. Got {key!r} instead.")
    return value


def _check_equilibrate(value) -> float | None:
    if value is None:
        return None
    v = _finite(value, "equilibrate")
    if v < 0:
        raise InputError(f"equilibrate must be a duration >= 0. Got {value!r} instead.")
    return v or None


def _finite(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{what} must be a number. Got {value!r} instead.")
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{what} must be finite. Got {value!r} instead.")
    return v


def _output_grid(t_end, points, times, t_start) -> tuple[np.ndarray, float, float]:
    t_start = _finite(t_start, "t_start")
    if times is not None:
        if points is not None:
            raise InputError("give either points= or times=, not both")
        try:
            grid = np.asarray(times, dtype=float).ravel()
        except (TypeError, ValueError):
            raise InputError("times must be a sequence of numbers") from None
        if grid.size == 0 or not np.isfinite(grid).all():
            raise InputError("times must be a non-empty sequence of finite numbers")
        if grid.size > MAX_POINTS:
            raise InputError(f"times has {grid.size} points, more than the {MAX_POINTS:,} one simulation may have")
        if grid.size > 1 and not (np.diff(grid) > 0).all():
            raise InputError("times must be strictly increasing")
        if grid[0] < t_start:
            raise InputError(f"times start at {grid[0]:g}, before t_start={t_start:g}")
        t_end = float(grid[-1]) if t_end is None else _finite(t_end, "t_end")
        if grid[-1] > t_end:
            raise InputError(f"times end at {grid[-1]:g}, after t_end={t_end:g}")
    else:
        if t_end is None:
            raise InputError("give t_end (or times=)")
        t_end = _finite(t_end, "t_end")
        n = DEFAULT_POINTS if points is None else points
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise InputError(f"points must be an integer >= 2. Got {points!r} instead.")
        if n > MAX_POINTS:
            raise InputError(f"points={n} is more than the {MAX_POINTS:,} output points one simulation may "
                             "have; use fewer points or times= at the instants needed")
        grid = np.linspace(t_start, t_end, int(n))
    if t_end <= t_start:
        raise InputError(f"t_end must be after t_start. Got t_start={t_start:g}, t_end={t_end:g}.")
    return grid, t_start, t_end
