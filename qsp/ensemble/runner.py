"""Run a table of parameter sets x regimens through a model and summarise each simulation."""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DosingError, InputError, QSPWarning
from ..arguments import DEFAULT_POINTS, _check_equilibrate, _output_grid, check_tolerances
from ..model import Model
from . import individuals, inputs
from .backends import DaskBackend, ProcessBackend, SerialBackend, get_backend
from .interrupt import sigterm_as_interrupt
from .job import STATUS_OK, Chunk, ChunkResult, Job, run_chunk, sbml_key
from .memory import Request, check_request
from .metrics import Metric, as_metrics, check_metrics
from .result import EnsembleResult
from .store import PartStore

__all__ = ["run"]

#: columns every result table starts with
RESERVED_COLUMNS = ("task", "sample", "regimen", "seed", "status", "message")


def _progress(total: int, progress):
    show = progress if progress is not None else sys.stderr.isatty()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sim", desc="ensemble", smoothing=0.05)


def _placement(backend) -> tuple[int, bool]:
    """(worker processes on this machine, whether simulations run in this process) for the memory check."""
    if isinstance(backend, SerialBackend):
        return 0, True
    if isinstance(backend, ProcessBackend):
        n = backend.n_workers or os.cpu_count() or 1
        return (n, False) if isinstance(n, int) else (0, False)
    if isinstance(backend, DaskBackend):
        if backend.client is not None or backend.address:
            return 0, False
        n = backend.n_workers or os.cpu_count() or 1
        return (n, False) if isinstance(n, int) else (0, False)
    return 0, False


def _n_points(points, times) -> int | None:
    if times is not None:
        try:
            return len(times)
        except TypeError:
            return None
    n = DEFAULT_POINTS if points is None else points
    return int(n) if isinstance(n, (int, np.integer)) and not isinstance(n, bool) else None


def run(model: Model, samples: pd.DataFrame | None = None, *, regimens=None,
        metrics: Sequence[Metric | str] = (), t_end: float | None = None, points: int | None = None,
        times: Sequence[float] | None = None, t_start: float = 0.0, trajectories: Sequence[str] | bool = False,
        params: Mapping[str, float] | None = None, initial: Mapping[str, float] | None = None,
        body_weight: float | str | None = None, rtol: float = 1e-6, atol: float = 1e-12,
        max_steps: int | None = None, backend="serial", chunk_size: int = 256, seed: int | None = 0, out=None,
        progress: bool | None = None, equilibrate: float | None = None, covariate_model=None) -> EnsembleResult:
    """Simulate every row of ``samples`` under every regimen and summarise each simulation.

    Every argument is checked before anything is simulated (metric arguments and times included),
    so bad input fails at once with one :class:`~qsp.QSPError`, never once per row.

    Parameters
    ----------
    model : Model
    samples : DataFrame, optional
        One row per parameter set; columns are parameter/compartment ids, species ids (initial
        amount) or ``[S]`` (initial concentration). None: one run of the model as it is. A column
        ``body_weight`` (kg; reserved name) gives each row its own body weight for per-kg doses; the
        covariate columns of ``covariate_model`` may hold other values (e.g. ``SEX`` levels). Columns
        that are not model ids are carried to the result table, never sent to the model.
    regimens : mapping, optional
        name -> list of Dose, (doses, params) or the name of a regimen in the model's metadata.
    metrics : sequence of Metric or str
        Per-simulation summaries, e.g. ``"cmax:[Cp]"``, ``"value_at:TV:28"``, ``Metric("auc", "[Cp]")``.
        A string's column is named as typed; a Metric's by its ``name``.
    t_end, points, times, t_start
        Output grid, as in :meth:`Model.simulate` (t_end defaults to the model metadata's).
    trajectories : sequence of str or bool
        Also keep these outputs' time courses (True: the metric outputs).
    params, initial : mapping, optional
        Fixed overrides for every row: parameter/compartment values, and initial amounts (``S``) or
        concentrations (``[S]``). They apply on top of a regimen's own overrides, and a sample
        column of the same id wins over them.
    body_weight : float or str, optional
        kg for per-kg doses: one number for every row, or the name of a samples column holding each
        row's body weight (default: the ``body_weight`` column if there is one, else the model metadata's
        ``body_weight``). Body weight only scales per-kg doses; a number together with a ``body_weight``
        column is refused, and so is a ``body_weight`` column when the model has an id of that name
        (pass ``body_weight="body_weight"`` to use it for both).
    covariate_model : qsp.CovariateModel, optional
        Turns the covariate columns of ``samples`` into per-row parameter values before running: each
        parameter's typical value (the row's own column of that parameter, else ``params=``, else the
        model's value) times its covariate factors. The table reports the values used.
    rtol, atol : float
        Integrator tolerances (checked: 0 < rtol <= 0.1, atol > 0).
    max_steps : int, optional
        CVODE step limit per segment; a simulation that needs more fails (a computational timeout).
    backend : 'serial', 'processes', 'dask' or a backend object
    chunk_size : int
        Simulations per chunk sent to a worker.
    seed : int
        Master seed; task ``i`` gets its own seed drawn from it (the same on every backend).
    out : path, optional
        Stream results to this Parquet directory; a run started again with the same path and
        inputs completes only the missing tasks (``result.n_reused`` says how many were stored).
        One run at a time may write to a directory.
    progress : bool, optional
        Show a progress bar (default: only on a terminal).
    equilibrate : float, optional
        Pre-run each parameter set undosed for this long before dosing (see :meth:`Model.simulate`).

    Returns
    -------
    EnsembleResult

    Raises
    ------
    QSPError
        Bad input (InputError, UnknownIdError, DosingError), a request too large for memory, or an
        output directory of another ensemble or being written by another run.
    KeyboardInterrupt
        On Ctrl-C or SIGTERM; the chunks finished so far are kept in ``out`` and workers are stopped.
    """
    started = time.perf_counter()
    if samples is None:
        samples = pd.DataFrame(index=[0])
    if not isinstance(samples, pd.DataFrame):
        raise InputError(f"samples must be a pandas DataFrame. Got {type(samples).__name__}.")
    if len(samples) == 0:
        raise InputError("samples has no rows")
    samples = samples.reset_index(drop=True)
    fixed = inputs.fixed_overrides(model, params, initial)
    people = individuals.prepare(model, samples, body_weight, covariate_model, fixed)
    samples, body_weight = people.samples, people.body_weight
    metric_list = as_metrics(metrics)
    rtol, atol = check_tolerances(rtol, atol)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise InputError(f"chunk_size must be a positive integer. Got {chunk_size!r}.")
    chunk_size = int(chunk_size)
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise InputError(f"max_steps must be a positive integer. Got {max_steps!r}.")
    if t_end is None and times is None:
        t_end = model.metadata.get("t_end")
    if points is None and times is None:
        points = model.metadata.get("points")
    if trajectories is True:
        keep = tuple(dict.fromkeys(m.output for m in metric_list))
    elif trajectories:
        keep = tuple([trajectories] if isinstance(trajectories, str) else trajectories)
    else:
        keep = ()
    outputs = tuple(dict.fromkeys([m.output for m in metric_list] + list(keep)))
    if not outputs:
        raise InputError("give at least one metric (or trajectories=) to report")
    check_metrics(metric_list, model, None)
    outputs = model._check_outputs(outputs)
    columns = inputs.columns(model, samples, people.carried)
    clash = [m.name for m in metric_list if m.name in samples.columns or m.name in RESERVED_COLUMNS]
    if clash:
        raise InputError(f"metric name {clash[0]!r} is also a column of the table; give the metric another name")
    regs = inputs.regimens(model, regimens, fixed)
    inputs.check_regimen_overrides(model, regs)
    equilibrate = _check_equilibrate(equilibrate)
    backend_obj, owned = get_backend(backend)
    n_samples, n_reg = len(samples), len(regs)
    n_tasks = n_samples * n_reg
    n_points = _n_points(points, times)
    if n_points is not None:  # before the grid itself is allocated
        workers, in_process = _placement(backend_obj)
        check_request(Request(n_tasks=n_tasks, n_points=n_points, n_outputs=len(outputs), n_kept=len(keep),
                              n_columns=len(columns), n_metrics=len(metric_list), chunk_size=chunk_size,
                              local_workers=workers, in_process=in_process, streamed=out is not None))
    grid, t_start, t_end = _output_grid(t_end, points, times, t_start)
    check_metrics(metric_list, model, grid)
    for name, doses, _ in regs:  # every per-row weight is checked positive: the first stands for all
        model._schedule(doses, people.weights[0] if people.weights is not None else body_weight, t_start, t_end)
        if equilibrate and any(d.steady_state for d in doses):
            raise DosingError(f"regimen {name!r} has a dose at steady state, which starts the model from that steady "
                              "state; it cannot be combined with equilibrate")
    weights = people.weights if people.weights is not None and individuals.per_kg(regs) else None

    import libsbml

    sbml = libsbml.writeSBMLToString(model._doc)
    job = Job(sbml=sbml, name=model.name, metadata=model.metadata, key=sbml_key(sbml), columns=columns,
              regimens=tuple((n, d, tuple(sorted(p.items()))) for n, d, p in regs), grid=grid,
              t_start=t_start, t_end=t_end, outputs=outputs, metrics=metric_list, trajectory_outputs=keep,
              body_weight=body_weight, rtol=rtol, atol=atol, max_steps=max_steps,
              stochastic=bool(model._doc.isPackageEnabled("distrib")), equilibrate=equilibrate,
              treatment=tuple(tuple(k for k in p if k not in fixed) for _, _, p in regs))
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=n_tasks)
    values = samples[list(columns)].to_numpy(dtype=float) if columns else np.empty((n_samples, 0))

    with sigterm_as_interrupt():
        store = (PartStore(out, inputs.fingerprint(job, samples, seed, people.weight_column))
                 if out is not None else None)
        try:
            todo = np.arange(n_tasks, dtype=np.int64)
            if store is not None:
                todo = np.setdiff1d(todo, store.done_tasks(), assume_unique=True)
            frames, traj_frames = _execute(job, backend_obj, owned, todo, values, seeds, samples, regs, chunk_size,
                                           store, progress, weights)
        finally:
            if store is not None:
                store.close()
    names = [m.name for m in metric_list]
    n_reused = n_tasks - len(todo)
    if store is not None:  # streamed: the table stays on disk until asked for, so memory stays flat
        result = EnsembleResult(None, None, names, time.perf_counter() - started, store=store, n_tasks=n_tasks,
                                n_failed=store.count_failed(), has_trajectories=bool(keep), n_reused=n_reused)
    else:
        table = pd.concat(frames, ignore_index=True).sort_values("task").reset_index(drop=True)
        traj = (pd.concat(traj_frames, ignore_index=True).sort_values(["task", "time"]).reset_index(drop=True)
                if keep else None)
        result = EnsembleResult(table, traj, names, time.perf_counter() - started)
    if result.n_failed:
        warnings.warn(f"{result.n_failed} of {n_tasks} simulations failed; see result.failures",
                      QSPWarning, stacklevel=2)
    return result


def _execute(job: Job, backend_obj, owned: bool, todo: np.ndarray, values: np.ndarray, seeds: np.ndarray,
             samples: pd.DataFrame, regs, chunk_size: int, store: PartStore | None, progress,
             weights: np.ndarray | None = None):
    """Run the tasks ``todo``; stream each chunk to ``store`` or collect (frames, trajectory frames).

    ``weights``: per-sample body weights (kg) sent with each chunk, or None.
    """
    n_reg = len(regs)

    def chunks():
        for start in range(0, len(todo), chunk_size):
            task = todo[start:start + chunk_size]
            sample, regimen = task // n_reg, task % n_reg
            yield Chunk(task, sample, regimen, values[sample], seeds[task],
                        None if weights is None else weights[sample])

    bar = _progress(len(todo), progress)
    frames, traj_frames = [], []
    results = backend_obj.map(run_chunk, job, chunks())
    try:
        for res in results:
            df = _frame(res, job, samples, regs, n_reg, seeds)
            tf = _traj_frame(res, job) if job.trajectory_outputs else None
            if store is not None:
                if tf is not None:
                    store.write(tf, kind="traj")
                store.write(df)
            else:
                frames.append(df)
                if tf is not None:
                    traj_frames.append(tf)
            if bar is not None:
                bar.update(len(res.task))
    finally:
        close = getattr(results, "close", None)
        try:
            if close is not None:
                close()  # stops a backend's workers when the loop ended early (an interrupt)
        finally:
            if bar is not None:
                bar.close()
            if owned:
                backend_obj.close()
    return frames, traj_frames


def _frame(res: ChunkResult, job: Job, samples: pd.DataFrame, regs, n_reg: int, seeds) -> pd.DataFrame:
    task = res.task
    sample = task // n_reg
    df = pd.DataFrame({
        "task": task,
        "sample": sample,
        "regimen": [regs[i][0] for i in task % n_reg],
        "seed": seeds[task],
        "status": np.where(res.status == STATUS_OK, "ok", "failed"),
        "message": res.message,
    })
    for col in samples.columns:  # the model's columns and the carried ones (covariates, body weight)
        df[col] = samples[col].to_numpy()[sample]
    for j, m in enumerate(job.metrics):
        df[m.name] = res.metrics[:, j]
    return df


def _traj_frame(res: ChunkResult, job: Job) -> pd.DataFrame:
    n, t = len(res.task), len(job.grid)
    df = pd.DataFrame({"task": np.repeat(res.task, t), "time": np.tile(job.grid, n)})
    for j, name in enumerate(job.trajectory_outputs):
        df[name] = res.trajectories[:, :, j].ravel()
    return df
