"""Dose grids: levels of each treatment, the ``MIN:MAX:N[:log]`` text form, dense single-treatment levels,
and the memory bound of a surface."""

from __future__ import annotations

import numpy as np

from ..errors import InputError, QSPError
from ..memory_limits import check_memory, ensemble_bytes
from ..option_names import option

__all__ = ["dose_grid", "parse_grid", "default_mono_levels", "surface_bytes", "check_surface_size"]


def dose_grid(low: float, high: float, n: int, *, scale: str = "linear", zero: bool = False) -> np.ndarray:
    """``n`` levels from ``low`` to ``high`` (linear or log spacing), optionally preceded by 0."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise QSPError(f"grid size must be a positive integer. Got {n!r}.")
    check_surface_size(f"a grid axis of {n} levels", int(n), 1, 0, 0)
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high < low:
        raise QSPError(f"grid bounds must satisfy 0 <= low <= high. Got {low!r}, {high!r}.")
    if scale == "log":
        if low <= 0:
            raise QSPError(f"a log grid needs low > 0. Got {low!r}.")
        g = np.geomspace(low, high, n)
    elif scale == "linear":
        g = np.linspace(low, high, n)
    else:
        raise QSPError(f"grid scale must be 'linear' or 'log'. Got {scale!r}.")
    return np.concatenate([[0.0], g]) if zero and g[0] > 0 else g


def parse_grid(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``A_MIN:A_MAX:N[:log],B_MIN:B_MAX:N[:log]`` -> the two dose arrays.

    Raises
    ------
    InputError
        A malformed axis, doses < 0 or MIN > MAX, N < 1, or a grid above the memory bound.
    """
    axes = text.split(",")
    if len(axes) != 2:
        raise InputError(f"grid {text!r} must give two axes separated by a comma, e.g. 0.4:10.9:30,0.14:3.5:30")
    specs = []
    for ax in axes:
        parts = ax.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin", "linear")):
            raise InputError(f"grid axis {ax!r} must be MIN:MAX:N or MIN:MAX:N:log")
        try:
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise InputError(f"grid axis {ax!r}: MIN and MAX must be numbers and N an integer") from None
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi < lo:
            raise InputError(f"grid axis {ax!r}: doses must satisfy 0 <= MIN <= MAX")
        if n < 1:
            raise InputError(f"grid axis {ax!r}: N must be >= 1")
        if len(parts) == 4 and parts[3] == "log" and lo <= 0:
            raise InputError(f"grid axis {ax!r}: a log axis needs MIN > 0")
        specs.append((lo, hi, n, "log" if len(parts) == 4 and parts[3] == "log" else "linear"))
    check_surface_size(f"{option('grid', text)} ({specs[0][2]} x {specs[1][2]} dose pairs)", specs[0][2],
                       specs[1][2], 0, 0)
    d1, d2 = (dose_grid(lo, hi, n, scale=scale) for lo, hi, n, scale in specs)
    return d1, d2


def default_mono_levels(grid: np.ndarray, n: int = 60, factor: float = 20.0) -> np.ndarray:
    """Dense single-treatment levels: 0, ``n`` log-spaced levels from min/factor to max*factor, and the grid."""
    pos = grid[grid > 0]
    if pos.size == 0:
        raise QSPError("a dose grid needs at least one positive level")
    return np.unique(np.concatenate([[0.0], np.geomspace(pos.min() / factor, pos.max() * factor, n), grid]))


def surface_bytes(n1: int, n2: int, m1: int, m2: int, n_samples: int = 1, n_metrics: int = 1,
                  points: int | None = None, n_surfaces: int = 1) -> float:
    """Estimated memory (bytes) of ``n_surfaces`` surfaces (protocols): ``n1 x n2`` grid points and ``m1 + m2``
    single-treatment levels each (one regimen each), simulated for ``n_samples`` parameter sets, then scored by
    MOOCS-DS (about 40 columns per grid point, sample and surface)."""
    n_reg = 1 + n_surfaces * (n1 * n2 + m1 + m2)
    tasks = float(n_samples) * n_reg
    return (ensemble_bytes(tasks, 0, n_reg, grid_points=points) + 8.0 * tasks * n_metrics
            + 8.0 * 40 * n1 * n2 * max(1, n_samples) * max(1, n_surfaces))


def check_surface_size(what: str, n1: int, n2: int, m1: int, m2: int, **kw) -> None:
    """Refuse a surface above the memory bound; ``what`` names the size options in the message."""
    check_memory(surface_bytes(n1, n2, m1, m2, **kw), what, "use a coarser grid, fewer dense levels or samples")
