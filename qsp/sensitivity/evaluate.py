"""Simulate a sensitivity design through :func:`qsp.ensemble.run` and apply the failure policy.

SALib analysers need an output for every row of the design. Failed simulations (and non-finite
metric values) are reported, then handled by the policy the user chose; rows are never dropped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import ensemble
from ..errors import QSPError, QSPWarning
from ..option_names import offered, option

__all__ = ["Evaluation", "simulate", "apply_failure_policy", "FAILURE_POLICIES"]

#: ``raise``: stop with a QSPError naming the count and the first message (default).
#: ``impute_mean`` / ``impute_median``: fill each failed row with the mean/median of the successful rows
#: (per output and time point) and warn with a QSPWarning.
FAILURE_POLICIES = ("raise", "impute_mean", "impute_median")


@dataclass
class Evaluation:
    """Outputs of one design: ``y`` has one row per design row, one column per metric or time point."""

    y: np.ndarray
    columns: list[str]
    times: np.ndarray | None
    failures: pd.DataFrame
    n_simulations: int
    wall_seconds: float
    table: pd.DataFrame = field(repr=False, default=None)
    n_reused: int = 0


def _regimens(regimen):
    if regimen is None:
        return None
    return {regimen if isinstance(regimen, str) else "regimen": regimen}


def stored_tasks(out) -> int:
    """Simulations already in an ensemble store directory (0 when there is none yet)."""
    if out is None:
        return 0
    path = Path(out)
    if not path.is_dir() or not any(path.glob("part-*.parquet")):
        return 0
    return int(pd.read_parquet(path, columns=["task"])["task"].nunique())


def simulate(model, samples: pd.DataFrame, *, metrics=(), timecourse: str | None = None, regimen=None,
             t_end=None, points=None, times=None, backend="serial", seed=0, equilibrate=None, rtol=1e-6,
             atol=1e-12, max_steps=None, body_weight=None, chunk_size=256, progress: bool | None = None,
             out=None, covariate_model=None) -> Evaluation:
    """Run every row of ``samples`` once (one :func:`qsp.ensemble.run` call) and collect the outputs.

    ``timecourse``: an output id whose whole time course is returned (one column per time point);
    otherwise one column per metric. Failures are listed in ``Evaluation.failures`` (row, message)
    and their outputs are NaN; see :func:`apply_failure_policy`. ``out``: the ensemble's Parquet store
    directory; simulations already stored there for the same inputs are reused (``n_reused``).
    ``progress``: progress bar on stderr (None: only on a terminal). A ``body_weight`` column of
    ``samples`` (a sampled factor) is each row's body weight for per-kg doses; ``covariate_model``
    turns covariate columns (sampled factors such as ``WT``) into parameter values, as in
    :func:`qsp.ensemble.run`.
    """
    reused = stored_tasks(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QSPWarning)  # failures are reported by the policy, once
        res = ensemble.run(model, samples, regimens=_regimens(regimen), metrics=() if timecourse else metrics,
                           t_end=t_end, points=points, times=times, trajectories=[timecourse] if timecourse else False,
                           backend=backend, seed=seed, equilibrate=equilibrate, rtol=rtol, atol=atol,
                           max_steps=max_steps, body_weight=body_weight, chunk_size=chunk_size, progress=progress,
                           out=out, covariate_model=covariate_model)
    table = res.table
    n = len(samples)
    if timecourse:
        traj = res.trajectories
        n_t = len(traj) // n
        grid = traj["time"].to_numpy()[:n_t]
        y = traj[timecourse].to_numpy(dtype=float).reshape(n, n_t).copy()
        columns = [timecourse] * n_t
    else:
        grid = None
        columns = list(res.metrics)
        y = table[columns].to_numpy(dtype=float).reshape(n, len(columns)).copy()
    status_failed = (table["status"] != "ok").to_numpy()
    bad = status_failed | ~np.isfinite(y).all(axis=1)
    messages = np.where(status_failed, table["message"].astype(str).to_numpy(), "non-finite output value")
    failures = pd.DataFrame({"row": np.flatnonzero(bad), "message": messages[bad]})
    y[bad] = np.nan
    return Evaluation(y, columns, grid, failures, n, res.wall_seconds, table, min(reused, n))


def apply_failure_policy(ev: Evaluation, on_failure: str = "raise") -> np.ndarray:
    """Return a complete output matrix for SALib, or raise, as ``on_failure`` says.

    Raises
    ------
    QSPError
        If ``on_failure='raise'`` and any row failed, or if every row failed.
    """
    if on_failure not in FAILURE_POLICIES:
        raise QSPError(f"{option('on_failure')} must be one of {FAILURE_POLICIES}. Got {on_failure!r}.")
    k = len(ev.failures)
    if k == 0:
        return ev.y
    rows = ev.failures["row"].tolist()
    shown = ", ".join(map(str, rows[:5])) + (", ..." if k > 5 else "")
    first = ev.failures["message"].iloc[0]
    if on_failure == "raise" or k == len(ev.y):
        advice = ["narrow the parameter ranges"] + ([f"raise {option('max_steps')}"] if offered("max_steps") else [])
        advice.append(f"use {option('on_failure', 'impute_mean')} to fill them (indices then describe the completed "
                      f"output)")
        raise QSPError(f"{k} of {ev.n_simulations} simulations failed (rows {shown}); first message: {first}. "
                       f"{', '.join(advice[:-1]).capitalize()} or {advice[-1]}")
    y = ev.y.copy()
    ok = np.ones(len(y), dtype=bool)
    ok[rows] = False
    fill = np.mean(y[ok], axis=0) if on_failure == "impute_mean" else np.median(y[ok], axis=0)
    y[~ok] = fill
    warnings.warn(f"{k} of {ev.n_simulations} simulations failed (rows {shown}; first message: {first}); their "
                  f"outputs were set to the {on_failure.split('_')[1]} of the others; see result.failures",
                  QSPWarning, stacklevel=3)
    return y
