"""Global sensitivity: describe the parameters, sample SALib's unit cube, simulate through the ensemble,
analyse with SALib."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..ensemble.metrics import as_metrics
from ..errors import QSPError, QSPWarning
from ..memory_limits import check_memory, ensemble_bytes
from ..option_names import option
from ._tidy import concat, tidy
from .evaluate import FAILURE_POLICIES, apply_failure_policy, simulate
from .methods import get_method
from .problem import Problem
from .result import INDEX_COLUMNS, SensitivityResult
from .timecourse import analyze_columns, check_method

__all__ = ["gsa", "sample", "analyze", "as_problem", "study_bytes", "check_study_size", "size_text"]


def as_problem(model, parameters) -> Problem:
    """A :class:`Problem` from a Problem, ranges, parameter ids (metadata ranges) or None (all metadata ranges)."""
    if isinstance(parameters, Problem):
        return parameters
    if isinstance(parameters, str):
        parameters = [parameters]
    return Problem.from_model(model, parameters)


def _options(method: str, second_order: bool, num_levels: int, harmonics: int, slices: int) -> dict:
    return {"sobol": {"second_order": bool(second_order)}, "morris": {"num_levels": num_levels},
            "efast": {"harmonics": harmonics}, "delta": {}, "pawn": {"slices": slices}}[method]


def study_bytes(n_rows: int, n_params: int, *, n_columns: int = 1, points: int | None = None,
                timecourse: bool = False, bootstrap: int = 0) -> float:
    """Estimated memory (bytes) of a study of ``n_rows`` simulations.

    The design (unit cube and values), the ensemble (one task per row, one simulated grid of ``points``
    per worker, the kept time course when ``timecourse``), the output matrix of ``n_columns`` columns
    (time points for a time course) with the estimators' copies, and ``bootstrap`` resampled copies of
    one column (Sobol's bootstrap in SALib).
    """
    pts = 101 if points is None else int(points)
    cols = pts if timecourse else max(1, int(n_columns))
    return (16.0 * n_rows * n_params + ensemble_bytes(n_rows, pts if timecourse else 0, grid_points=pts)
            + 32.0 * n_rows * cols + 40.0 * n_rows * bootstrap)


def size_text(rows: int, points, grid_points: int, timecourse: bool) -> str:
    """``7168 simulations[, --points P | , P time points each]`` for memory messages."""
    if points is not None:
        return f"{rows} simulations, {option('points', points)}"
    return f"{rows} simulations" + (f", {grid_points} time points each" if timecourse else "")


def check_study_size(n_rows: int, n_params: int, what: str, **kw) -> None:
    """Refuse a study whose :func:`study_bytes` exceeds the memory bound (``what`` names the size options)."""
    check_memory(study_bytes(n_rows, n_params, **kw), what, "use a smaller sample size or fewer time points")


def sample(problem: Problem, method: str, n: int, *, seed: int = 0, **options) -> np.ndarray:
    """The unit-cube design of ``method`` for ``n`` (map it with ``problem.values``).

    Works with: :func:`analyze` (same method and options), :func:`qsp.ensemble.run`.
    """
    module = get_method(method)
    module.check_n(n, problem, **options)
    return module.sample(problem, n, seed=seed, **options)


def analyze(problem: Problem, method: str, unit: np.ndarray, y, *, outputs: Sequence[str] | None = None,
            times: np.ndarray | None = None, seed: int = 1, conf_level: float = 0.95, num_resamples: int = 100,
            **options) -> pd.DataFrame:
    """Indices of each column of ``y`` (one row per design row) as a long table (:data:`INDEX_COLUMNS`).

    With ``times`` (one per column), all columns are analysed at once by the vectorised estimators;
    otherwise each column goes through SALib's analyser. ``y`` must be complete (no NaN): see
    :func:`qsp.sensitivity.evaluate.apply_failure_policy`.
    """
    module = get_method(method)
    y = np.asarray(y, dtype=float)
    y = y.reshape(len(y), -1)
    if not np.isfinite(y).all():
        raise QSPError("outputs contain NaN or inf; apply a failure policy (on_failure=) before analysing")
    if not 0 < conf_level < 1:
        raise QSPError(f"conf_level must be in (0, 1). Got {conf_level!r}.")
    outputs = list(outputs) if outputs is not None else [f"y{j}" for j in range(y.shape[1])]
    kw = dict(seed=seed, conf_level=conf_level, num_resamples=num_resamples, **options)
    if times is not None:
        check_method(method)
        df = analyze_columns(module, problem, unit, y, **kw)
        df.insert(0, "time", np.asarray(times, dtype=float)[df["column"].to_numpy()])
    else:
        frames = []
        for j in range(y.shape[1]):
            col = y[:, j]
            if np.ptp(col) <= np.finfo(float).eps * max(1.0, np.abs(col).max()):
                warnings.warn(f"output {outputs[j]!r} is constant over the design; its indices are set to 0",
                              QSPWarning, stacklevel=2)
                if hasattr(module, "analyze_many"):
                    f = analyze_columns(module, problem, unit, col[:, None], **kw)
                else:
                    f = concat([tidy(problem.names, k, np.zeros(problem.n_params)) for k in module.INDICES])
            else:
                f = module.analyze(problem, unit, col, **kw)
            f["column"] = j
            frames.append(f)
        df = concat(frames)
        df.insert(0, "time", np.nan)
    df.insert(0, "output", [outputs[c] for c in df["column"]])
    return df[INDEX_COLUMNS]


def gsa(model, method: str = "sobol", *, parameters=None, metrics=(), timecourse: str | None = None,
        n: int = 1024, regimen=None, t_end: float | None = None, points: int | None = None,
        times: Sequence[float] | None = None, backend="serial", seed: int = 0, equilibrate: float | None = None,
        on_failure: str = "raise", second_order: bool = False, num_levels: int = 4, harmonics: int = 4,
        slices: int = 10, conf_level: float = 0.95, num_resamples: int = 100, rtol: float = 1e-6,
        atol: float = 1e-12, max_steps: int | None = None, body_weight: float | None = None,
        chunk_size: int = 256, progress: bool | None = None, out=None, covariate_model=None) -> SensitivityResult:
    """Global sensitivity of model metrics (or of one output's time course) to uncertain parameters.

    Sample SALib's unit cube for ``method``, map it through each parameter's inverse CDF, simulate all
    rows in one :func:`qsp.ensemble.run`, apply the failure policy, and analyse with SALib.

    Parameters
    ----------
    model : qsp.Model
    method : {'sobol', 'morris', 'efast', 'delta', 'pawn'}
    parameters : Problem, mapping, sequence of str or None
        What to vary: a :class:`Problem`, ranges ``{id: {low, high, distribution}}``, ids whose ranges
        come from ``model.metadata["parameter_ranges"]``, or None (all metadata ranges). A factor named
        ``body_weight`` (kg) is sampled like a parameter and scales each row's per-kg doses; factors
        named after the covariates of ``covariate_model`` (e.g. ``WT``) set parameters through it.
    metrics : sequence of str or Metric
        Scalar outputs, as in :func:`qsp.ensemble.run` (``"value_at:TV_tot:28"``, ``"auc:[Cp]"``).
    timecourse : str, optional
        An output id: indices at every time point of its time course instead of metrics
        (Sobol, Morris, eFAST).
    n : int
        Method sample size: Sobol base points (power of 2; runs = n (D + 2), or n (2D + 2) with
        second order), Morris trajectories (runs = n (D + 1)), eFAST points per parameter
        (runs = n D, n > 4 harmonics^2), delta/PAWN samples (runs = n).
    regimen : str, list of Dose or (doses, params), optional
        One regimen (a metadata regimen name for shipped models).
    t_end, points, times : output grid (model time unit), as in :func:`qsp.ensemble.run`.
    backend : 'serial', 'processes', 'dask' or a backend object
    seed : int
        Seeds the design, the ensemble, and the bootstrap of the analysis.
    equilibrate : float, optional
        Pre-run each parameter set undosed for this long (model time unit) before dosing.
    on_failure : {'raise', 'impute_mean', 'impute_median'}
        What to do with failed simulations (see :mod:`qsp.sensitivity.evaluate`); always reported in
        ``result.failures``.
    second_order : bool
        Sobol: also S2 (costs n D more runs).
    num_levels : int
        Morris grid levels (even).
    harmonics : int
        eFAST interference factor M.
    slices : int
        PAWN conditioning slices.
    conf_level, num_resamples : confidence level and bootstrap resamples of the CIs.
    rtol, atol, max_steps, body_weight, chunk_size : passed to :func:`qsp.ensemble.run`.
    covariate_model : qsp.CovariateModel, optional
        Applied to every design row (see :func:`qsp.ensemble.run`); its covariates are factors of the design.
    progress : bool, optional
        Progress bar of the simulations on stderr (default: only when stderr is a terminal).
    out : path, optional
        Keep the simulations in this Parquet directory (the ensemble's store). Run again with the same
        ``out`` and inputs, the study reuses the simulations already there (``result.n_reused``), so an
        interrupted study resumes where it stopped.

    Returns
    -------
    SensitivityResult

    Raises
    ------
    QSPError
        Bad method, sample size, ranges or ids; failed simulations with ``on_failure='raise'``.

    Examples
    --------
    >>> m = qsp.load_model("tritherapy")
    >>> res = gsa(m, "sobol", parameters=["r", "S_L"], metrics=["value_at:TV_tot:28"], n=256,
    ...           regimen="tritherapy", backend="processes")
    >>> res.to_pandas().head()
    """
    started = time.perf_counter()
    module = get_method(method)
    problem = as_problem(model, parameters)
    if on_failure not in FAILURE_POLICIES:
        raise QSPError(f"{option('on_failure')} must be one of {FAILURE_POLICIES}. Got {on_failure!r}.")
    if timecourse is not None:
        check_method(method)
        if metrics:
            raise QSPError(f"give either {option('metrics')} or {option('timecourse')}, not both (run twice for both)")
    elif not as_metrics(metrics):
        raise QSPError(f"give at least one metric ({option('metrics', 'value_at:TV_tot:28')}) or "
                       f"{option('timecourse', 'OUTPUT')}")
    options = _options(method, second_order, num_levels, harmonics, slices)
    module.check_n(n, problem, **options)
    rows = module.n_runs(problem, n, **options)
    grid_points = (len(times) if times is not None else points or model.metadata.get("points")) or 101
    what = f"{option('n', n)} ({size_text(rows, points, grid_points, timecourse is not None)})"
    check_study_size(rows, problem.n_params, what, n_columns=len(as_metrics(metrics)),
                     points=grid_points, timecourse=timecourse is not None,
                     bootstrap=num_resamples if method == "sobol" else 0)
    unit = module.sample(problem, n, seed=seed, **options)
    ev = simulate(model, problem.values(unit), metrics=metrics, timecourse=timecourse, regimen=regimen, t_end=t_end,
                  points=points, times=times, backend=backend, seed=seed, equilibrate=equilibrate, rtol=rtol,
                  atol=atol, max_steps=max_steps, body_weight=body_weight, chunk_size=chunk_size, progress=progress,
                  out=out, covariate_model=covariate_model)
    y = apply_failure_policy(ev, on_failure)
    indices = analyze(problem, method, unit, y, outputs=ev.columns, times=ev.times, seed=analysis_seed(seed),
                      conf_level=conf_level, num_resamples=num_resamples, **options)
    settings = {"seed": seed, "on_failure": on_failure, "conf_level": conf_level, "num_resamples": num_resamples,
                "equilibrate": equilibrate, "regimen": regimen if isinstance(regimen, str) else None,
                "store": None if out is None else str(out), **options}
    return SensitivityResult(method, indices, problem.to_dict(), n=n, n_simulations=ev.n_simulations,
                             failures=ev.failures, settings=settings, wall_seconds=time.perf_counter() - started,
                             n_reused=ev.n_reused)


def analysis_seed(seed) -> int:
    """A non-zero seed for SALib's bootstrap (SALib treats seed 0 as 'unseeded')."""
    return int(np.random.default_rng(seed).integers(1, 2**31 - 1))
