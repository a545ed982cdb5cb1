"""Sobol variance-based indices: S1, ST (and S2) with bootstrap confidence intervals.

Sampling: SALib's Saltelli scheme on a scrambled Sobol sequence (:func:`SALib.sample.sobol.sample`);
``n`` base points give ``n * (D + 2)`` runs, or ``n * (2D + 2)`` with second order. Analysis: SALib's
estimators (Saltelli et al. 2010 for S1 and ST, Saltelli 2002 for S2) for one output; for many
outputs (a time course) the same estimators vectorised over columns. The design is nested: the
first ``n'`` base points of an ``n``-point design are the ``n'``-point design, so convergence
studies reuse one simulation.

References: Saltelli et al. (2010) doi:10.1016/j.cpc.2009.09.018; Saltelli (2002)
doi:10.1016/S0010-4655(02)00280-1. Works with: :class:`Problem`, :func:`qsp.ensemble.run`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import QSPError
from ._tidy import concat, tidy, z_value

NESTED = True
MAIN_INDEX = "ST"


def check_n(n: int, problem, second_order: bool = False, **_) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2 or n & (n - 1):
        raise QSPError(f"Sobol needs n = a power of 2 (>= 2) base points. Got {n!r}; try {2 ** max(1, int(np.log2(max(n, 2)) + 0.5))}.")


def step(problem, second_order: bool = False) -> int:
    return 2 * problem.n_params + 2 if second_order else problem.n_params + 2


def n_runs(problem, n: int, second_order: bool = False, **_) -> int:
    return n * step(problem, second_order)


def rows_for(problem, n: int, second_order: bool = False, **_) -> int:
    """Rows of the design that hold its first ``n`` base points (nested prefix)."""
    return n_runs(problem, n, second_order)


def sample(problem, n: int, *, seed: int = 0, second_order: bool = False, **_) -> np.ndarray:
    """Unit-cube design of ``n_runs`` rows."""
    from SALib.sample import sobol as salib_sobol

    check_n(n, problem)
    return salib_sobol.sample(problem.salib(), n, calc_second_order=second_order, scramble=True, seed=seed)


def analyze(problem, unit: np.ndarray, y: np.ndarray, *, seed: int = 1, conf_level: float = 0.95,
            num_resamples: int = 100, second_order: bool = False, **_) -> pd.DataFrame:
    """SALib's Sobol analysis of one output vector ``y``."""
    from SALib.analyze import sobol as salib_sobol

    si = salib_sobol.analyze(problem.salib(), np.asarray(y, dtype=float), calc_second_order=second_order,
                             num_resamples=num_resamples, conf_level=conf_level, seed=seed)
    frames = [tidy(problem.names, "S1", si["S1"], si["S1_conf"]), tidy(problem.names, "ST", si["ST"], si["ST_conf"])]
    if second_order:
        frames.append(_s2_rows(problem.names, np.asarray(si["S2"])[..., None], np.asarray(si["S2_conf"])[..., None]))
    return concat(frames)


def _s2_rows(names, s2, s2_conf) -> pd.DataFrame:
    rows = []
    d = len(names)
    for j in range(d):
        for k in range(j + 1, d):
            for c in range(s2.shape[-1]):
                rows.append((c, names[j], names[k], "S2", s2[j, k, c], s2_conf[j, k, c]))
    return pd.DataFrame(rows, columns=["column", "parameter", "parameter2", "index", "value", "conf"])


def _estimates(A, B, AB, BA, var, second_order):
    """S1, ST (D, m) and S2 (D, D, m) from normalised output blocks; ``var`` is (m,)."""
    safe = np.where(var > np.finfo(float).eps, var, np.inf)
    s1 = np.mean(B[None] * (AB - A[None]), axis=1) / safe
    st = 0.5 * np.mean((A[None] - AB) ** 2, axis=1) / safe
    s2 = None
    if second_order:
        d = AB.shape[0]
        s2 = np.full((d, d, A.shape[1]), np.nan)
        ab_mean = np.mean(A * B, axis=0)
        for j in range(d):
            for k in range(j + 1, d):
                vjk = (np.mean(BA[j] * AB[k], axis=0) - ab_mean) / safe
                s2[j, k] = vjk - s1[j] - s1[k]
    return s1, st, s2


def analyze_many(problem, unit: np.ndarray, y: np.ndarray, *, seed: int = 1, conf_level: float = 0.95,
                 num_resamples: int = 100, second_order: bool = False, **_) -> pd.DataFrame:
    """The same estimators as :func:`analyze` for every column of ``y`` (n_runs x m) at once."""
    y = np.asarray(y, dtype=float)
    d, s = problem.n_params, step(problem, second_order)
    if y.shape[0] % s:
        raise QSPError(f"Sobol output has {y.shape[0]} rows, not a multiple of {s}; was second_order the same "
                       f"when sampling?")
    std = y.std(axis=0)
    y = (y - y.mean(axis=0)) / np.where(std > 0, std, 1.0)
    blocks = y.reshape(-1, s, y.shape[1])                    # (N, s, m)
    A, B = blocks[:, 0], blocks[:, -1]
    AB = np.moveaxis(blocks[:, 1:d + 1], 1, 0)               # (D, N, m)
    BA = np.moveaxis(blocks[:, d + 1:2 * d + 1], 1, 0) if second_order else None
    var = np.var(np.concatenate([A, B]), axis=0)
    s1, st, s2 = _estimates(A, B, AB, BA, var, second_order)
    rng = np.random.default_rng(seed)
    n = A.shape[0]
    boot_s1, boot_st, boot_s2 = [], [], []
    for _ in range(num_resamples):
        r = rng.integers(n, size=n)
        a, b = A[r], B[r]
        b1, bt, b2 = _estimates(a, b, AB[:, r], BA[:, r] if second_order else None,
                                np.var(np.concatenate([a, b]), axis=0), second_order)
        boot_s1.append(b1)
        boot_st.append(bt)
        if second_order:
            boot_s2.append(b2)
    z = z_value(conf_level)
    frames = [tidy(problem.names, "S1", s1, z * np.std(boot_s1, axis=0, ddof=1)),
              tidy(problem.names, "ST", st, z * np.std(boot_st, axis=0, ddof=1))]
    if second_order:
        frames.append(_s2_rows(problem.names, s2, z * np.std(boot_s2, axis=0, ddof=1)))
    return concat(frames)
