"""The long table every method returns: one row per (output column, parameter[, parameter2], index)."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["column", "parameter", "parameter2", "index", "value", "conf"]


def tidy(names: list[str], index: str, value: np.ndarray, conf: np.ndarray | None = None) -> pd.DataFrame:
    """Rows for one index: ``value``/``conf`` have shape (D, m) (parameters x output columns)."""
    value = np.atleast_2d(np.asarray(value, dtype=float).reshape(len(names), -1))
    conf = np.full_like(value, np.nan) if conf is None else np.asarray(conf, dtype=float).reshape(value.shape)
    d, m = value.shape
    return pd.DataFrame({"column": np.tile(np.arange(m), d), "parameter": np.repeat(names, m), "parameter2": "",
                         "index": index, "value": value.ravel(), "conf": conf.ravel()})


def concat(frames) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def z_value(conf_level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + conf_level / 2))
