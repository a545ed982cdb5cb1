"""The memory bound of the analyses: a study whose estimated memory exceeds it is refused before allocating.

The bound is 4 GiB, or ``QSP_MAX_MEMORY_GB`` (GiB) from the environment. Estimates are deliberately
simple and generous: what the ensemble keeps per simulation, per kept trajectory point and per regimen
(measured on the shipped models), plus the analysis's own arrays (8 bytes per float).
Shared by :mod:`qsp.sensitivity`, :mod:`qsp.synergy` and :mod:`qsp.vpop`.
"""

from __future__ import annotations

import os

from .errors import InputError

__all__ = ["BYTES_PER_SIMULATION", "BYTES_PER_TRAJECTORY_POINT", "BYTES_PER_REGIMEN",
           "BYTES_PER_GRID_POINT", "DEFAULT_LIMIT_GB",
           "memory_limit", "check_memory", "ensemble_bytes"]

#: Ensemble table row and per-task bookkeeping (bytes).
BYTES_PER_SIMULATION = 512
#: One kept trajectory value in the long table (task, time, value and the copies made assembling it).
BYTES_PER_TRAJECTORY_POINT = 64
#: One regimen (its Dose objects, the regimen table, its copy sent to each worker).
BYTES_PER_REGIMEN = 4096
#: One point of one simulated grid (a few outputs and the copies made integrating and summarising).
BYTES_PER_GRID_POINT = 512
#: Default bound (GiB).
DEFAULT_LIMIT_GB = 4.0


def memory_limit() -> float:
    """The bound in bytes (``QSP_MAX_MEMORY_GB`` GiB, default 4)."""
    text = os.environ.get("QSP_MAX_MEMORY_GB", "")
    try:
        gb = float(text) if text.strip() else DEFAULT_LIMIT_GB
    except ValueError:
        raise InputError(f"QSP_MAX_MEMORY_GB must be a number of GiB. Got {text!r}.") from None
    if not gb > 0:
        raise InputError(f"QSP_MAX_MEMORY_GB must be > 0. Got {text!r}.")
    return gb * 2**30


def _size(n: float) -> str:
    for unit, f in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= f:
            return f"{n / f:.3g} {unit}"
    return f"{n / 2**10:.3g} KiB"


def check_memory(n_bytes: float, what: str, hint: str = "") -> None:
    """Refuse, in one line naming ``what`` (an option and its value), an estimate above the bound.

    Raises
    ------
    InputError
        ``n_bytes`` is above :func:`memory_limit`.
    """
    limit = memory_limit()
    if n_bytes > limit:
        raise InputError(f"{what} needs about {_size(n_bytes)} of memory, above the limit of {_size(limit)} "
                         f"(set QSP_MAX_MEMORY_GB to change it){'; ' + hint if hint else ''}")


def ensemble_bytes(n_simulations: float, trajectory_points: float = 0, n_regimens: float = 1,
                   grid_points: float | None = None) -> float:
    """Estimated memory of one ensemble run: tasks, kept trajectory points (per task), regimens, and the
    simulated grid (``grid_points`` output times, default 101) of the simulations in progress."""
    grid = 101.0 if grid_points is None else float(grid_points)
    return (float(n_simulations) * (BYTES_PER_SIMULATION + BYTES_PER_TRAJECTORY_POINT * float(trajectory_points))
            + BYTES_PER_REGIMEN * float(n_regimens) + BYTES_PER_GRID_POINT * grid)
