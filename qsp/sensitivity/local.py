"""Local sensitivity: normalised coefficients S = (dY/Y) / (dp/p) by central finite differences.

For each parameter p, two runs at p (1 + h) and p (1 - h) (h: ``rel_step``) and one base run give
``S = (Y+ - Y-) / (2 h Y0)`` and the raw derivative ``dY/dp = (Y+ - Y-) / (2 h p)``. The truncation
error of S is O(h^2); the integration error enters as about rtol / h, so the defaults pair h = 1e-4
with rtol = 1e-10. All 2 D + 1 parameter sets go through one :func:`qsp.ensemble.run`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..ensemble.metrics import as_metrics
from ..errors import QSPError
from ..option_names import offered, option
from .evaluate import simulate
from .gsa import check_study_size
from .problem import Problem
from .result import INDEX_COLUMNS, SensitivityResult

__all__ = ["local"]


def _base_values(model, ids: Sequence[str], at: Mapping | None, regimen) -> dict[str, float]:
    reg_params = {}
    if isinstance(regimen, str):
        reg_params = model.regimen(regimen)[1]
    elif isinstance(regimen, tuple) and len(regimen) == 2 and isinstance(regimen[1], Mapping):
        reg_params = dict(regimen[1])
    known = {**model.compartments["value"].to_dict(), **model.parameters["value"].to_dict(), **reg_params,
             **dict(at or {})}
    base = {}
    for pid in ids:
        if pid not in known:
            give = f": give it with at={{{pid!r}: value}}" if offered("at") else ""
            raise QSPError(f"no base value for {pid!r}{give} (parameters and compartments are read from the model)")
        v = float(known[pid])
        if not np.isfinite(v) or v == 0:
            give = " (give one with at=)" if offered("at") else " (leave it out of the parameters varied)"
            raise QSPError(f"parameter {pid!r} has base value {v}; a relative step needs a finite non-zero value{give}")
        base[pid] = v
    return base


def local(model, parameters=None, *, metrics=(), timecourse: str | None = None, at: Mapping | None = None,
          rel_step: float = 1e-4, regimen=None, t_end: float | None = None, points: int | None = None,
          times: Sequence[float] | None = None, backend="serial", seed: int = 0, equilibrate: float | None = None,
          rtol: float = 1e-10, atol: float = 1e-14, max_steps: int | None = None, body_weight: float | None = None,
          chunk_size: int = 256, progress: bool | None = None, out=None) -> SensitivityResult:
    """Normalised local sensitivity coefficients of metrics (or of a whole time course) at one point.

    Parameters
    ----------
    model : qsp.Model
    parameters : sequence of str, mapping, Problem or None
        Ids to perturb (None: those with metadata ``parameter_ranges``; a mapping or Problem: its keys).
    metrics : sequence of str or Metric
        Scalar outputs, as in :func:`qsp.ensemble.run`.
    timecourse : str, optional
        An output id: coefficients at every time point instead of metrics (``time`` column set).
    at : mapping, optional
        Base values (default: the regimen's parameter values, then the model's).
    rel_step : float
        Relative step h (dimensionless), default 1e-4.
    regimen, t_end, points, times, backend, seed, equilibrate, max_steps, body_weight, chunk_size
        As in :func:`qsp.sensitivity.gsa`.
    rtol, atol : float
        Integrator tolerances; tighter than the ensemble's defaults because differences are divided by h.
    progress, out
        Progress bar and simulation store, as in :func:`qsp.sensitivity.gsa`.

    Returns
    -------
    SensitivityResult
        ``method='local'``; indices ``S`` (normalised; NaN where Y0 = 0) and ``dYdp`` (output unit per
        parameter unit).

    Raises
    ------
    QSPError
        Unknown ids, zero base values, a bad step, or any failed simulation (a finite difference cannot
        be imputed).
    """
    started = time.perf_counter()
    if isinstance(parameters, Problem):
        ids = parameters.names
    elif isinstance(parameters, Mapping):
        ids = list(parameters)
    elif isinstance(parameters, str):
        ids = [parameters]
    elif parameters is None:
        ids = list(model.metadata.get("parameter_ranges") or {})
        if not ids:
            raise QSPError(f"model {model.name!r} has no metadata parameter_ranges; name the parameters to perturb")
    else:
        ids = list(parameters)
    if not (isinstance(rel_step, (int, float)) and 0 < rel_step < 0.5):
        raise QSPError(f"{option('rel_step')} must be a number in (0, 0.5). Got {rel_step!r}.")
    if timecourse is None and not as_metrics(metrics):
        raise QSPError(f"give at least one metric ({option('metrics', 'auc:[Cp]')}) or "
                       f"{option('timecourse', 'OUTPUT')}")
    if timecourse is not None and metrics:
        raise QSPError(f"give either {option('metrics')} or {option('timecourse')}, not both (run twice for both)")
    base = _base_values(model, ids, at, regimen)
    d = len(ids)
    grid_points = (len(times) if times is not None else points or model.metadata.get("points")) or 101
    check_study_size(2 * d + 1, d, option("points", grid_points), n_columns=len(as_metrics(metrics)),
                     points=grid_points, timecourse=timecourse is not None)
    values = np.tile(np.array([base[p] for p in ids]), (2 * d + 1, 1))
    for j in range(d):
        values[1 + 2 * j, j] *= 1 + rel_step
        values[2 + 2 * j, j] *= 1 - rel_step
    ev = simulate(model, pd.DataFrame(values, columns=ids), metrics=metrics, timecourse=timecourse, regimen=regimen,
                  t_end=t_end, points=points, times=times, backend=backend, seed=seed, equilibrate=equilibrate,
                  rtol=rtol, atol=atol, max_steps=max_steps, body_weight=body_weight, chunk_size=chunk_size,
                  progress=progress, out=out)
    if len(ev.failures):
        first = ev.failures.iloc[0]
        raise QSPError(f"{len(ev.failures)} of {ev.n_simulations} finite-difference simulations failed (first: row "
                       f"{first['row']}: {first['message']}); choose another base point or a smaller "
                       f"{option('rel_step')}")
    y0, yp, ym = ev.y[0], ev.y[1::2], ev.y[2::2]                    # (m,), (D, m), (D, m)
    diff = (yp - ym) / (2 * rel_step)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(y0 != 0, diff / y0, np.nan)
    dydp = diff / np.array([base[p] for p in ids])[:, None]
    m = len(ev.columns)
    frames = []
    for name, arr in (("S", s), ("dYdp", dydp)):
        frames.append(pd.DataFrame({"output": np.tile(ev.columns, d),
                                    "time": np.tile(ev.times, d) if ev.times is not None else np.nan,
                                    "parameter": np.repeat(ids, m), "parameter2": "", "index": name,
                                    "value": arr.ravel(), "conf": np.nan}))
    indices = pd.concat(frames, ignore_index=True)[INDEX_COLUMNS]
    settings = {"rel_step": rel_step, "rtol": rtol, "atol": atol, "seed": seed, "equilibrate": equilibrate,
                "regimen": regimen if isinstance(regimen, str) else None, "store": None if out is None else str(out)}
    return SensitivityResult("local", indices, {p: {"value": v} for p, v in base.items()}, n=1,
                             n_simulations=ev.n_simulations, failures=ev.failures, settings=settings,
                             wall_seconds=time.perf_counter() - started, n_reused=ev.n_reused)
