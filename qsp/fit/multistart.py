"""``fit``: multi-start optimisation of an objective, each start one ensemble task on any backend.

Starts are drawn by Latin hypercube within the bounds on the parameter scale
(:meth:`~qsp.fit.objective.ParameterSpace.sample`), after any ``x0`` rows; each runs a local
optimiser (:mod:`qsp.fit.optimizers`) in a worker, which receives the picklable objective and does
all the simulating. A start that fails is a row with a message; a worker process that dies fails
the start it was running.
"""

from __future__ import annotations

import math
import time
import uuid
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError, QSPError, QSPWarning
from .optimizers import METHODS, optimize_start
from .result import LEADING, TRAILING, FitResult, x_columns

__all__ = ["fit", "FitError", "FitJob", "StartChunk", "StartResult", "run_starts", "METHODS"]


class FitError(QSPError, RuntimeError):
    """No start of a fit gave a result; ``result`` holds the failed starts."""

    def __init__(self, message: str, result: FitResult | None = None):
        super().__init__(message)
        self.result = result


@dataclass
class StartChunk:
    """Starts optimised together on one worker: their indices ``task`` and points ``x0`` (parameter scale)."""

    task: np.ndarray
    x0: np.ndarray

    def halves(self) -> tuple[StartChunk, StartChunk]:
        k = len(self.task) // 2
        return StartChunk(self.task[:k], self.x0[:k]), StartChunk(self.task[k:], self.x0[k:])


@dataclass
class StartResult:
    """One row dict per start of a chunk (see :func:`~qsp.fit.optimizers.optimize_start`)."""

    task: np.ndarray
    rows: list
    seconds: float


@dataclass(frozen=True, eq=False)
class FitJob:
    """The objective and the optimiser settings every start shares."""

    objective: object
    method: str
    max_evals: int | None = None
    options: dict = field(default_factory=dict)
    key: str = ""
    population: np.ndarray | None = None
    seed: int | None = None
    redraws: int = 0
    given: int = 0

    def redraws_of(self, task: int) -> int:
        """Redraws allowed for start ``task``: none for the ``x0`` rows the caller gave."""
        return self.redraws if task >= self.given else 0

    def redraw_seed(self, task: int):
        """The seed of start ``task``'s redraws: the fit's seed and the start's index (None: fresh entropy)."""
        return None if self.seed is None else [int(self.seed), int(task)]

    def failed(self, chunk: StartChunk, message: str) -> StartResult:
        """Every start of ``chunk`` failed with ``message`` (e.g. the worker process died running it)."""
        rows = [{"status": "failed", "message": message, "nllh_start": math.nan, "nllh": math.nan,
                 "x": np.asarray(x, float), "n_redrawn": 0, "n_evals": 0, "n_grad": 0, "optimizer_message": "",
                 "seconds": 0.0}
                for x in chunk.x0]
        return StartResult(chunk.task, rows, 0.0)


_OBJECTIVES: dict = {}


def _objective_for(job: FitJob):
    """The job's objective, kept across chunks in a worker (a model it compiles stays compiled)."""
    obj = _OBJECTIVES.get(job.key)
    if obj is None:
        _OBJECTIVES.clear()
        obj = _OBJECTIVES[job.key] = job.objective
    return obj


def run_starts(job: FitJob, chunk: StartChunk) -> StartResult:
    """Optimise from each start of ``chunk``; a failure is that start's row, never an exception."""
    started = time.perf_counter()
    objective = _objective_for(job)
    rows = [optimize_start(objective, x0, job.method, max_evals=job.max_evals, options=job.options,
                           population=job.population, seed=job.seed, redraws=job.redraws_of(int(task)),
                           redraw_seed=job.redraw_seed(int(task)))
            for task, x0 in zip(chunk.task, chunk.x0)]
    return StartResult(chunk.task, rows, time.perf_counter() - started)


def fit(objective, *, starts: int = 20, seed: int | None = 0, method: str = "lbfgsb", backend="serial",
        chunk_size: int = 1, max_evals: int | None = None, x0=None, progress: bool | None = None,
        options: dict | None = None, redraws: int = 10) -> FitResult:
    """Minimise ``objective.nllh`` from many starts within the bounds; the best is the estimate.

    Parameters
    ----------
    objective : an :class:`~qsp.fit.objective.Objective` (picklable for the processes and dask backends)
    starts : number of Latin-hypercube starts within the bounds (parameter scale)
    seed : seed of the starts (and of differential evolution)
    method : ``"lbfgsb"`` (L-BFGS-B with ``objective.gradient``), ``"least_squares"`` (trust-region
        reflective on ``objective.residuals``), ``"nelder-mead"`` (bounded simplex), ``"fides"``
        (fides' trust-region method with the objective's Fisher information as Hessian where it gives one,
        PEtab objectives do, else BFGS: :mod:`qsp.fit.trust_region`) or
        ``"differential_evolution"`` (one global run: a population of 15 points per parameter drawn
        like the starts, ``x0`` rows included, then polished by L-BFGS-B; ``starts`` is not used)
    backend : ``"serial"``, ``"processes"``, ``"dask"`` or a backend object: one task per start
    chunk_size : starts per task sent to a worker
    max_evals : objective evaluations allowed per start (default: the optimiser's own limit)
    x0 : extra start points on the parameter scale (one row per point, or one point), run first
        (start 0, 1, ...); ``"nominal"`` for the space's nominal values
    progress : show a progress bar (default: only on a terminal)
    redraws : where the objective is not finite at a drawn start (the simulation fails there), up to this
        many new points are drawn uniformly within the bounds, seeded by ``seed`` and the start's index
        (``n_redrawn`` counts them); ``x0`` rows are never redrawn; 0 keeps such starts as failed rows
    options : passed to the optimiser (scipy's ``minimize`` options, keywords of ``least_squares`` and
        ``differential_evolution``, or fides' options and ``hessian_update``)

    Returns
    -------
    FitResult
        ``.starts`` (one row per start, best first), ``.best_x``, ``.best_llh``, ``.estimates``.

    Raises
    ------
    InputError
        A bad option, an ``x0`` outside the bounds, or ``least_squares`` on an objective without residuals.
    FitError
        Every start failed (the message of the first says why).
    KeyboardInterrupt
        On Ctrl-C or SIGTERM; workers are stopped.
    """
    from ..ensemble.backends import get_backend
    from ..ensemble.interrupt import sigterm_as_interrupt

    begun = time.perf_counter()
    space = _space(objective)
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(map(repr, METHODS))}. Got {method!r}.")
    extra = _x0_rows(x0, space)
    starts = _count(starts, "starts", minimum=0 if len(extra) else 1)
    chunk_size = _count(chunk_size, "chunk_size", minimum=1)
    max_evals = None if max_evals is None else _count(max_evals, "max_evals", minimum=1)
    redraws = _count(redraws, "redraws", minimum=0)
    if options is not None and not isinstance(options, dict):
        raise InputError(f"options must be a dict of optimiser options. Got {type(options).__name__}.")
    opts = dict(options or {})
    if method == "least_squares":
        _check_residuals(objective, space)
    if method == "fides":
        _check_fides(opts)
    population = None
    if method == "differential_evolution":
        size = max(5, int(opts.pop("popsize", 15)) * len(space), len(extra))
        population = np.vstack([extra, space.sample(size - len(extra), seed)]) if size > len(extra) else extra
        points = population[:1]
    else:
        points = np.vstack([extra, space.sample(starts, seed)]) if starts else extra
    job = FitJob(objective, method, max_evals, opts, uuid.uuid4().hex, population, seed, redraws, len(extra))
    backend_obj, owned = get_backend(backend)
    rows: dict[int, dict] = {}
    bar = _progress(len(points), progress)
    chunks = (StartChunk(np.arange(a, min(a + chunk_size, len(points))), points[a:a + chunk_size])
              for a in range(0, len(points), chunk_size))
    with sigterm_as_interrupt():
        stream = backend_obj.map(run_starts, job, chunks)
        try:
            for res in stream:
                for task, row in zip(res.task, res.rows):
                    rows[int(task)] = row
                if bar is not None:
                    bar.update(len(res.task))
        finally:
            _OBJECTIVES.pop(job.key, None)
            close = getattr(stream, "close", None)
            try:
                if close is not None:
                    close()  # stops the backend's workers when the loop ended early (an interrupt)
            finally:
                if bar is not None:
                    bar.close()
                if owned:
                    backend_obj.close()
    table = _table(rows, space)
    result = FitResult(table, space, method=method, seed=seed, wall_s=time.perf_counter() - begun,
                       objective=objective)
    if result.n_failed == len(table):
        raise FitError(f"all {len(table)} starts failed; the first: {table['message'].iloc[0]}", result)
    if result.n_failed:
        warnings.warn(f"{result.n_failed} of {len(table)} starts failed; see the message column of result.starts",
                      QSPWarning, stacklevel=2)
    return result


def _space(objective):
    from .objective import ParameterSpace

    space = getattr(objective, "space", None)
    if not isinstance(space, ParameterSpace) or not callable(getattr(objective, "nllh", None)):
        raise InputError(f"fit needs an Objective (with .space and .nllh); got {type(objective).__name__}")
    return space


def _count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be a whole number >= {minimum}. Got {value!r}.")
    return int(value)


def _x0_rows(x0, space) -> np.ndarray:
    """``x0`` as rows within the bounds (parameter scale)."""
    d = len(space)
    if x0 is None:
        return np.empty((0, d))
    if isinstance(x0, str):
        if x0 != "nominal":
            raise InputError(f"x0 must be points on the parameter scale or 'nominal'. Got {x0!r}.")
        x0 = space.nominal
    try:
        rows = np.atleast_2d(np.asarray(x0, dtype=float))
    except (TypeError, ValueError):
        raise InputError("x0 must be numbers: one row of values on the parameter scale per start") from None
    if rows.ndim != 2 or rows.shape[1] != d:
        raise InputError(f"x0 must have {d} values per start ({', '.join(space.ids)}); got shape {rows.shape}")
    bad = ~np.isfinite(rows) | (rows < space.lower) | (rows > space.upper)
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise InputError(f"x0 row {r}: {space.ids[c]} = {rows[r, c]:g} is outside its bounds "
                         f"[{space.lower[c]:g}, {space.upper[c]:g}] on its scale ({space.scales[c]})")
    return rows


def _check_residuals(objective, space) -> None:
    """Refuse least squares on an objective that is not a sum of squares."""
    from .objective import Objective

    method = getattr(type(objective), "residuals", None)
    given = method is not None and method is not Objective.residuals
    if given:
        try:
            given = objective.residuals(space.nominal) is not None
        except Exception:  # a failed simulation at the nominal point: the starts will tell
            given = True
    if not given:
        raise InputError(f"method 'least_squares' needs an objective with residuals; this "
                         f"{type(objective).__name__} gives none (it is not a sum of squares, e.g. its noise "
                         "parameters are estimated): use method 'lbfgsb'")


def _check_fides(opts: dict) -> None:
    """Refuse method 'fides' without the fides package or with an unknown Hessian update."""
    try:
        import fides  # noqa: F401
    except ImportError as exc:
        raise InputError(f"method 'fides' needs the fides package (pip install fides): {exc}") from None
    kind = str(opts.get("hessian_update", "fim")).lower()
    if kind not in ("fim", "bfgs", "sr1", "hybrid"):
        raise InputError(f"hessian_update must be 'fim', 'bfgs', 'sr1' or 'hybrid'. Got {kind!r}.")


def _progress(total: int, progress):
    import sys

    if not (progress if progress is not None else sys.stderr.isatty()):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="start", desc="fit")


def _table(rows: dict[int, dict], space) -> pd.DataFrame:
    """One row per start, best first (failed starts last)."""
    names = x_columns(space)
    records = []
    for task in sorted(rows):
        row = rows[task]
        rec = {"start": task, **{k: row[k] for k in LEADING[1:]}}
        rec.update(zip(names, np.asarray(row["x"], float).tolist()))
        rec.update({k: row[k] for k in TRAILING})
        records.append(rec)
    table = pd.DataFrame(records, columns=[*LEADING, *names, *TRAILING])
    table = table.sort_values(["nllh", "start"], na_position="last", kind="mergesort").reset_index(drop=True)
    return table.astype({"start": int, "n_redrawn": int, "n_evals": int, "n_grad": int})
