"""Indices against sample size: does the study use enough simulations?

Sobol and Morris designs are nested, so the largest design is simulated once and its prefixes (the
first n' base points or trajectories) are analysed. eFAST, delta and PAWN draw one design per n; all
of them still go through a single :func:`qsp.ensemble.run` table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..ensemble.metrics import as_metrics
from ..errors import QSPError
from ..option_names import option
from .evaluate import FAILURE_POLICIES, apply_failure_policy, simulate
from .gsa import _options, analysis_seed, analyze, as_problem, check_study_size, size_text
from .methods import get_method
from .result import ConvergenceResult
from .timecourse import check_method

__all__ = ["convergence"]


def convergence(model, method: str = "sobol", ns: Sequence[int] = (64, 128, 256, 512, 1024), *, parameters=None,
                metrics=(), timecourse: str | None = None, regimen=None, t_end=None, points=None, times=None,
                backend="serial", seed: int = 0, equilibrate=None, on_failure: str = "raise",
                second_order: bool = False, num_levels: int = 4, harmonics: int = 4, slices: int = 10,
                conf_level: float = 0.95, num_resamples: int = 100, rtol: float = 1e-6, atol: float = 1e-12,
                max_steps=None, body_weight=None, chunk_size: int = 256, progress: bool | None = None,
                out=None, covariate_model=None) -> ConvergenceResult:
    """Recompute the indices of :func:`qsp.sensitivity.gsa` for each sample size in ``ns``.

    Parameters are those of :func:`qsp.sensitivity.gsa`; ``ns`` are the method's sample sizes (Sobol:
    powers of 2, e.g. 2^6..2^10). Simulations: the largest design for Sobol/Morris (nested prefixes),
    the sum of all designs otherwise. ``progress``, ``out`` (simulation store, resumable) and
    ``covariate_model`` as in gsa.

    Returns
    -------
    ConvergenceResult
        ``indices`` with an ``n`` column; ``plot()`` draws each parameter's main index against n.
    """
    started = time.perf_counter()
    module = get_method(method)
    problem = as_problem(model, parameters)
    ns = sorted(set(int(v) for v in ns))
    if not ns:
        raise QSPError("ns must list at least one sample size")
    if on_failure not in FAILURE_POLICIES:
        raise QSPError(f"{option('on_failure')} must be one of {FAILURE_POLICIES}. Got {on_failure!r}.")
    if timecourse is not None:
        check_method(method)
    elif not as_metrics(metrics):
        raise QSPError(f"give at least one metric ({option('metrics', 'auc:[Cp]')}) or "
                       f"{option('timecourse', 'OUTPUT')}")
    options = _options(method, second_order, num_levels, harmonics, slices)
    for n in ns:
        module.check_n(n, problem, **options)
    rows = (module.n_runs(problem, ns[-1], **options) if module.NESTED
            else sum(module.n_runs(problem, n, **options) for n in ns))
    grid_points = (len(times) if times is not None else points or model.metadata.get("points")) or 101
    check_study_size(rows, problem.n_params,
                     f"{option('ns', ns)} ({size_text(rows, points, grid_points, timecourse is not None)})",
                     n_columns=len(as_metrics(metrics)), points=grid_points, timecourse=timecourse is not None,
                     bootstrap=num_resamples if method == "sobol" else 0)
    if module.NESTED:
        unit = module.sample(problem, ns[-1], seed=seed, **options)
        spans = {n: (0, module.rows_for(problem, n, **options)) for n in ns}
    else:
        parts, spans, start = [], {}, 0
        for n in ns:
            u = module.sample(problem, n, seed=seed + n, **options)
            parts.append(u)
            spans[n] = (start, start + len(u))
            start += len(u)
        unit = np.concatenate(parts)
    ev = simulate(model, problem.values(unit), metrics=metrics, timecourse=timecourse, regimen=regimen, t_end=t_end,
                  points=points, times=times, backend=backend, seed=seed, equilibrate=equilibrate, rtol=rtol,
                  atol=atol, max_steps=max_steps, body_weight=body_weight, chunk_size=chunk_size,
                  progress=progress, out=out, covariate_model=covariate_model)
    y = apply_failure_policy(ev, on_failure)
    frames = []
    for n in ns:
        a, b = spans[n]
        df = analyze(problem, method, unit[a:b], y[a:b], outputs=ev.columns, times=ev.times,
                     seed=analysis_seed(seed), conf_level=conf_level, num_resamples=num_resamples, **options)
        df.insert(0, "n", n)
        frames.append(df)
    settings = {"seed": seed, "on_failure": on_failure, "conf_level": conf_level, **options}
    return ConvergenceResult(method, pd.concat(frames, ignore_index=True), problem.to_dict(),
                             n_simulations=ev.n_simulations, failures=ev.failures, settings=settings,
                             wall_seconds=time.perf_counter() - started)
