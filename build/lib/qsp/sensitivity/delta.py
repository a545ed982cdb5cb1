"""Borgonovo's moment-independent delta (bias-reduced) and the first-order Sobol index it estimates too.

Sampling: Latin hypercube on the unit cube (:func:`SALib.sample.latin.sample`); ``n`` runs. The
analyser gets the unit-cube design, so its conditioning classes are equal-probability slices of each
parameter whatever its distribution. Analysis: :func:`SALib.analyze.delta.analyze` (one output at a
time; time courses are not offered, the kernel density bootstrap costs too much per time point).
``delta`` is SALib's bias-reduced estimate with plain bootstrap resampling (its ``delta_raw``);
``S1`` is the first-order Sobol index estimated from the same sample.

Reference: Borgonovo (2007) doi:10.1016/j.ress.2006.04.015; Plischke, Borgonovo & Smith (2013)
doi:10.1016/j.ejor.2012.11.047.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import QSPError
from ._tidy import concat, tidy

NESTED = False
INDICES = ("delta", "S1")
MAIN_INDEX = "delta"


def check_n(n: int, problem, **_) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 50:
        raise QSPError(f"delta needs n >= 50 samples (several hundred in practice). Got {n!r}.")


def n_runs(problem, n: int, **_) -> int:
    return n


def sample(problem, n: int, *, seed: int = 0, **_) -> np.ndarray:
    from SALib.sample import latin

    check_n(n, problem)
    return latin.sample(problem.salib(), n, seed=seed)


def analyze(problem, unit: np.ndarray, y: np.ndarray, *, seed: int = 1, conf_level: float = 0.95,
            num_resamples: int = 100, **_) -> pd.DataFrame:
    from SALib.analyze import delta

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib's per-parameter bin notices
        si = delta.analyze(problem.salib(), np.asarray(unit, dtype=float), np.asarray(y, dtype=float),
                           num_resamples=num_resamples, conf_level=conf_level, seed=seed)
    return concat([tidy(problem.names, "delta", np.asarray(si["delta_raw"]), np.asarray(si["delta_raw_conf"])),
                   tidy(problem.names, "S1", np.asarray(si["S1"]), np.asarray(si["S1_conf"]))])
