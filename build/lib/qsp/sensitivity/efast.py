"""eFAST (extended Fourier amplitude sensitivity test): S1 and ST.

Sampling: SALib's search curves (:func:`SALib.sample.fast_sampler.sample`); ``n`` points per
parameter (n > 4 M^2) give ``n * D`` runs. Analysis: SALib's :func:`SALib.analyze.fast.analyze` for
one output; the same spectra, computed with one FFT over all columns, for a time course. SALib
estimates the confidence intervals by bootstrap and notes that they are indicative only. Not nested:
each ``n`` has its own frequencies.

Reference: Saltelli, Tarantola & Chan (1999) doi:10.1080/00401706.1999.10485594.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..errors import QSPError
from ._tidy import concat, tidy, z_value

NESTED = False
MAIN_INDEX = "ST"


def check_n(n: int, problem, harmonics: int = 4, **_) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 4 * harmonics ** 2:
        raise QSPError(f"eFAST needs n > 4 * harmonics^2 = {4 * harmonics ** 2} points per parameter. Got {n!r}.")


def n_runs(problem, n: int, **_) -> int:
    return n * problem.n_params


def sample(problem, n: int, *, seed: int = 0, harmonics: int = 4, **_) -> np.ndarray:
    from SALib.sample import fast_sampler

    check_n(n, problem, harmonics)
    return fast_sampler.sample(problem.salib(), n, M=harmonics, seed=seed)


def analyze(problem, unit: np.ndarray, y: np.ndarray, *, seed: int = 1, conf_level: float = 0.95,
            num_resamples: int = 100, harmonics: int = 4, **_) -> pd.DataFrame:
    from SALib.analyze import fast

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SALib's note that FAST CIs are indicative (documented)
        si = fast.analyze(problem.salib(), np.asarray(y, dtype=float), M=harmonics, num_resamples=num_resamples,
                          conf_level=conf_level, seed=seed)
    return concat([tidy(problem.names, "S1", np.asarray(si["S1"]), np.asarray(si["S1_conf"])),
                   tidy(problem.names, "ST", np.asarray(si["ST"]), np.asarray(si["ST_conf"]))])


def _orders(y: np.ndarray, harmonics: int):
    """S1, ST for blocks ``y`` of shape (..., N, m), along axis -2."""
    n = y.shape[-2]
    omega = math.floor((n - 1) / (2 * harmonics))
    f = np.fft.fft(y, axis=-2)
    sp = (np.abs(f[..., 1:math.ceil(n / 2), :]) / n) ** 2
    v = 2.0 * sp.sum(axis=-2)
    d1 = 2.0 * sp[..., np.arange(1, harmonics + 1) * omega - 1, :].sum(axis=-2)
    dt = 2.0 * sp[..., np.arange(math.floor(omega / 2.0)), :].sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return d1 / v, 1.0 - dt / v


def analyze_many(problem, unit: np.ndarray, y: np.ndarray, *, seed: int = 1, conf_level: float = 0.95,
                 num_resamples: int = 100, harmonics: int = 4, **_) -> pd.DataFrame:
    """S1 and ST for every column of ``y`` (n * D rows) with one FFT per parameter block."""
    y = np.asarray(y, dtype=float)
    d = problem.n_params
    blocks = y.reshape(d, -1, y.shape[1])                    # (D, N, m)
    s1, st = _orders(blocks, harmonics)
    n = blocks.shape[1]
    half = math.ceil(n * 0.5)
    rng = np.random.default_rng(seed)
    b1, bt = [], []
    for _ in range(num_resamples):                          # circular blocks, as SALib does
        idx = (rng.integers(n) + np.arange(half)) % n
        a, b = _orders(blocks[:, idx], harmonics)
        b1.append(a)
        bt.append(b)
    z = z_value(conf_level)
    return concat([tidy(problem.names, "S1", s1, z * np.std(b1, axis=0, ddof=1)),
                   tidy(problem.names, "ST", st, z * np.std(bt, axis=0, ddof=1))])
