"""Morris elementary effects: mu, mu* (with bootstrap CI) and sigma.

Sampling: SALib's Morris trajectories on a ``num_levels`` grid of the unit cube
(:func:`SALib.sample.morris.sample`); ``n`` trajectories give ``n * (D + 1)`` runs. Elementary
effects are taken in unit-cube coordinates (the change of output per whole range of the parameter's
quantile), so mu* is comparable across parameters whatever their distribution. Analysis: SALib's
:func:`SALib.analyze.morris.analyze` for one output; the same statistics vectorised over columns for a
time course. Trajectories are nested (the first ``n'`` of ``n`` are a valid design).

References: Morris (1991) doi:10.1080/00401706.1991.10484804; Campolongo, Cariboni & Saltelli (2007)
doi:10.1016/j.envsoft.2006.10.004.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import QSPError
from ._tidy import concat, tidy, z_value

NESTED = True
MAIN_INDEX = "mu_star"


def check_n(n: int, problem, num_levels: int = 4, **_) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise QSPError(f"Morris needs n >= 2 trajectories. Got {n!r}.")
    if not isinstance(num_levels, (int, np.integer)) or num_levels < 2 or num_levels % 2:
        raise QSPError(f"num_levels must be an even integer >= 2. Got {num_levels!r}.")


def n_runs(problem, n: int, **_) -> int:
    return n * (problem.n_params + 1)


def rows_for(problem, n: int, **_) -> int:
    return n_runs(problem, n)


def sample(problem, n: int, *, seed: int = 0, num_levels: int = 4, **_) -> np.ndarray:
    from SALib.sample import morris as salib_morris

    check_n(n, problem, num_levels)
    return salib_morris.sample(problem.salib(), n, num_levels=num_levels, seed=seed)


def analyze(problem, unit: np.ndarray, y: np.ndarray, *, seed: int = 1, conf_level: float = 0.95,
            num_resamples: int = 100, num_levels: int = 4, **_) -> pd.DataFrame:
    """SALib's Morris analysis of one output vector ``y`` (``unit``: the design it was run on)."""
    from SALib.analyze import morris as salib_morris

    si = salib_morris.analyze(problem.salib(), np.asarray(unit, dtype=float), np.asarray(y, dtype=float),
                              num_resamples=num_resamples, conf_level=conf_level, num_levels=num_levels, seed=seed)
    names = problem.names
    return concat([tidy(names, "mu", np.asarray(si["mu"])), tidy(names, "mu_star", np.asarray(si["mu_star"]),
                                                                   np.asarray(si["mu_star_conf"])),
                   tidy(names, "sigma", np.asarray(si["sigma"]))])


def elementary_effects(unit: np.ndarray, y: np.ndarray, num_levels: int = 4) -> np.ndarray:
    """Effects of shape (D, r, m): one per parameter, trajectory and output column."""
    unit = np.asarray(unit, dtype=float)
    d = unit.shape[1]
    y = np.asarray(y, dtype=float).reshape(unit.shape[0], -1)
    r = unit.shape[0] // (d + 1)
    x = unit[: r * (d + 1)].reshape(r, d + 1, d)
    yy = y[: r * (d + 1)].reshape(r, d + 1, -1)
    dx = np.diff(x, axis=1)                                  # (r, D steps, D vars)
    var = np.argmax(np.abs(dx), axis=2)                      # which variable moved at each step
    sign = np.sign(np.take_along_axis(dx, var[..., None], axis=2))[..., 0]
    dy = np.diff(yy, axis=1) * sign[..., None]               # (r, D steps, m)
    delta = num_levels / (2.0 * (num_levels - 1))
    ee = np.empty((d, r, y.shape[1]))
    rows = np.arange(r)[:, None]
    ee[var, np.broadcast_to(rows, var.shape)] = dy / delta
    return ee


def analyze_many(problem, unit: np.ndarray, y: np.ndarray, *, seed: int = 1, conf_level: float = 0.95,
                 num_resamples: int = 100, num_levels: int = 4, **_) -> pd.DataFrame:
    """mu, mu* (with bootstrap CI) and sigma for every column of ``y`` at once."""
    ee = elementary_effects(unit, y, num_levels)
    r = ee.shape[1]
    rng = np.random.default_rng(seed)
    absee = np.abs(ee)
    boot = np.stack([absee[:, rng.integers(r, size=r)].mean(axis=1) for _ in range(num_resamples)])
    names = problem.names
    return concat([tidy(names, "mu", ee.mean(axis=1)),
                   tidy(names, "mu_star", absee.mean(axis=1), z_value(conf_level) * boot.std(axis=0, ddof=1)),
                   tidy(names, "sigma", ee.std(axis=1, ddof=1))])
