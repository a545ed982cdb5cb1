"""Indices of many output columns at once (every time point of a time course).

Sobol, Morris and eFAST have estimators vectorised over columns (``analyze_many``), so a time course
with hundreds of points costs about as much as a few scalar analyses. Columns whose output does not
vary (e.g. the initial time point) get indices 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import QSPError
from ._tidy import COLUMNS

TIMECOURSE_METHODS = ("sobol", "morris", "efast", "local")


def check_method(method: str) -> None:
    if method not in TIMECOURSE_METHODS:
        raise QSPError(f"time-course sensitivity supports {', '.join(TIMECOURSE_METHODS)}. Got {method!r}; use a "
                       f"scalar metric (e.g. value_at:OUTPUT:T) for {method}")


def analyze_columns(module, problem, unit: np.ndarray, y: np.ndarray, **options) -> pd.DataFrame:
    """Long table (``column`` = column of ``y``) from the module's vectorised estimators."""
    y = np.asarray(y, dtype=float)
    constant = np.ptp(y, axis=0) <= np.finfo(float).eps * np.maximum(1.0, np.abs(y).max(axis=0))
    df = module.analyze_many(problem, unit, y, **options)
    if constant.any():
        mask = constant[df["column"].to_numpy()]
        df.loc[mask, "value"] = 0.0
        df.loc[mask & df["conf"].notna().to_numpy(), "conf"] = 0.0
    return df[COLUMNS]
