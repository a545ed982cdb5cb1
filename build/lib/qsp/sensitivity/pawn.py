"""PAWN: a moment-independent index from Kolmogorov-Smirnov distances between conditional and
unconditional output distributions (minimum, mean, median, maximum and CV over ``slices`` slices).

Sampling: Latin hypercube on the unit cube (:func:`SALib.sample.latin.sample`); ``n`` runs. The
analyser slices each parameter's unit-cube coordinate into equal widths, i.e. equal probabilities.
Analysis: :func:`SALib.analyze.pawn.analyze`, one output at a time. No confidence interval.

Reference: Pianosi & Wagener (2015) doi:10.1016/j.envsoft.2015.01.004; (2018)
doi:10.1016/j.envsoft.2018.07.019.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import QSPError
from ._tidy import concat, tidy

NESTED = False
INDICES = ("minimum", "mean", "median", "maximum", "CV")
MAIN_INDEX = "median"


def check_n(n: int, problem, slices: int = 10, **_) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 5 * slices:
        raise QSPError(f"PAWN needs n >= 5 * slices = {5 * slices} samples (several hundred in practice). "
                       f"Got {n!r}.")


def n_runs(problem, n: int, **_) -> int:
    return n


def sample(problem, n: int, *, seed: int = 0, slices: int = 10, **_) -> np.ndarray:
    from SALib.sample import latin

    check_n(n, problem, slices)
    return latin.sample(problem.salib(), n, seed=seed)


def analyze(problem, unit: np.ndarray, y: np.ndarray, *, seed: int = 1, slices: int = 10, **_) -> pd.DataFrame:
    from SALib.analyze import pawn

    si = pawn.analyze(problem.salib(), np.asarray(unit, dtype=float), np.asarray(y, dtype=float), S=slices,
                      seed=seed)
    return concat([tidy(problem.names, key, np.asarray(si[key])) for key in ("minimum", "mean", "median",
                                                                             "maximum", "CV")])
