"""Run a table of parameter sets x regimens through a model and summarise each simulation."""

from __future__ import annotations

import hashlib
import json
import sys
import time
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._ids import unknown_id
from ..dosing import Dose, as_dose_list
from ..errors import InputError, QSPWarning
from ..model import Model, _check_equilibrate, _output_grid
from .backends import get_backend
from .job import STATUS_OK, Chunk, ChunkResult, Job, run_chunk, sbml_key
from .metrics import Metric, as_metrics
from .result import EnsembleResult
from .store import PartStore

__all__ = ["run"]


def _regimens(model: Model, regimens) -> list[tuple[str, tuple[Dose, ...], dict]]:
    if regimens is None:
        return [("none", (), {})]
    if isinstance(regimens, (Dose, list, tuple)):
        regimens = {"regimen": regimens}
    if not isinstance(regimens, Mapping) or not regimens:
        raise InputError("regimens must be a non-empty mapping name -> doses (or (doses, params), or a "
                       "regimen name of the model's metadata)")
    out = []
    for name, spec in regimens.items():
        if isinstance(spec, str):
            doses, params = model.regimen(spec)
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Mapping):
            doses, params = spec
        else:
            doses, params = spec, {}
        out.append((str(name), as_dose_list(doses), dict(params)))
    return out


def _columns(model: Model, samples: pd.DataFrame) -> tuple[str, ...]:
    species = set(model._floating) | set(model._boundary)
    for col in samples.columns:
        if not isinstance(col, str):
            raise InputError(f"sample columns must be parameter or species ids. Got {col!r}.")
        sid = col[1:-1] if col.startswith("[") and col.endswith("]") else col
        if col not in model._parameters and col not in model._compartments and sid not in species:
            raise unknown_id("parameter or species", col, model._parameters + sorted(species),
                             where=f" of model {model.name!r} (sample column)")
        if col in model._assigned or sid in model._assigned:
            raise InputError(f"sample column {col!r} is set by an assignment rule and cannot be varied")
        if not pd.api.types.is_numeric_dtype(samples[col]):
            raise InputError(f"sample column {col!r} must be numeric")
    return tuple(samples.columns)


def _fingerprint(job: Job, samples: pd.DataFrame, seed) -> str:
    h = hashlib.sha1()
    h.update(job.key.encode())
    h.update(pd.util.hash_pandas_object(samples, index=False).values.tobytes())
    h.update(json.dumps([repr(job.regimens), [m.name for m in job.metrics], job.grid.tolist(), job.outputs,
                         job.trajectory_outputs, job.body_weight, job.rtol, job.atol, job.max_steps, seed,
                         job.equilibrate],
                        default=str).encode())
    return h.hexdigest()


def _progress(total: int, progress):
    show = progress if progress is not None else sys.stderr.isatty()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sim", desc="ensemble", smoothing=0.05)


def run(model: Model, samples: pd.DataFrame | None = None, *, regimens=None,
        metrics: Sequence[Metric | str] = (), t_end: float | None = None, points: int | None = None,
        times: Sequence[float] | None = None, t_start: float = 0.0, trajectories: Sequence[str] | bool = False,
        body_weight: float | None = None, rtol: float = 1e-6, atol: float = 1e-12, max_steps: int | None = None,
        backend="serial", chunk_size: int = 256, seed: int | None = 0, out=None,
        progress: bool | None = None, equilibrate: float | None = None) -> EnsembleResult:
    """Simulate every row of ``samples`` under every regimen and summarise each simulation.

    Parameters
    ----------
    model : Model
    samples : DataFrame, optional
        One row per parameter set; columns are parameter/compartment ids, species ids (initial
        amount) or ``[S]`` (initial concentration). None: one run of the model as it is.
    regimens : mapping, optional
        name -> list of Dose, (doses, params) or the name of a regimen in the model's metadata.
    metrics : sequence of Metric or str
        Per-simulation summaries, e.g. ``"cmax:[Cp]"``, ``"value_at:TV:28"``, ``Metric("auc", "[Cp]")``.
    t_end, points, times, t_start
        Output grid, as in :meth:`Model.simulate` (t_end defaults to the model metadata's).
    trajectories : sequence of str or bool
        Also keep these outputs' time courses (True: the metric outputs).
    max_steps : int, optional
        CVODE step limit per segment; a simulation that needs more fails (a computational timeout).
    backend : 'serial', 'processes', 'dask' or a backend object
    chunk_size : int
        Simulations per chunk sent to a worker.
    seed : int
        Master seed; task ``i`` gets its own seed drawn from it (the same on every backend).
    out : path, optional
        Stream results to this Parquet directory; a run started again with the same path and
        inputs completes only the missing tasks.
    progress : bool, optional
        Show a progress bar (default: only on a terminal).
    equilibrate : float, optional
        Pre-run each parameter set undosed for this long before dosing (see :meth:`Model.simulate`).

    Returns
    -------
    EnsembleResult
    """
    started = time.perf_counter()
    if samples is None:
        samples = pd.DataFrame(index=[0])
    if not isinstance(samples, pd.DataFrame):
        raise InputError(f"samples must be a pandas DataFrame. Got {type(samples).__name__}.")
    if len(samples) == 0:
        raise InputError("samples has no rows")
    samples = samples.reset_index(drop=True)
    metric_list = as_metrics(metrics)
    if t_end is None and times is None:
        t_end = model.metadata.get("t_end")
    if points is None and times is None:
        points = model.metadata.get("points")
    grid, t_start, t_end = _output_grid(t_end, points, times, t_start)
    if trajectories is True:
        keep = tuple(dict.fromkeys(m.output for m in metric_list))
    elif trajectories:
        keep = tuple([trajectories] if isinstance(trajectories, str) else trajectories)
    else:
        keep = ()
    outputs = tuple(dict.fromkeys([m.output for m in metric_list] + list(keep)))
    if not outputs:
        raise InputError("give at least one metric (or trajectories=) to report")
    outputs = model._check_outputs(outputs)
    columns = _columns(model, samples)
    regs = _regimens(model, regimens)
    for _, doses, params in regs:  # validate once, at the boundary
        model._override_keys({k: v for k, v in params.items() if k in model._parameters + model._compartments},
                             {k: v for k, v in params.items() if k not in model._parameters + model._compartments})
        model._schedule(doses, body_weight, t_start, t_end)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InputError(f"chunk_size must be a positive integer. Got {chunk_size!r}.")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise InputError(f"max_steps must be a positive integer. Got {max_steps!r}.")
    if body_weight is None:
        body_weight = model.metadata.get("body_weight")

    import libsbml

    sbml = libsbml.writeSBMLToString(model._doc)
    job = Job(sbml=sbml, name=model.name, metadata=model.metadata, key=sbml_key(sbml), columns=columns,
              regimens=tuple((n, d, tuple(sorted(p.items()))) for n, d, p in regs), grid=grid,
              t_start=t_start, t_end=t_end, outputs=outputs, metrics=metric_list, trajectory_outputs=keep,
              body_weight=body_weight, rtol=float(rtol), atol=float(atol), max_steps=max_steps,
              stochastic=bool(model._doc.isPackageEnabled("distrib")), equilibrate=_check_equilibrate(equilibrate))

    n_samples, n_reg = len(samples), len(regs)
    n_tasks = n_samples * n_reg
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=n_tasks)
    values = samples.to_numpy(dtype=float) if columns else np.empty((n_samples, 0))
    store = PartStore(out, _fingerprint(job, samples, seed)) if out is not None else None
    todo = np.arange(n_tasks, dtype=np.int64)
    if store is not None:
        todo = np.setdiff1d(todo, store.done_tasks(), assume_unique=True)

    def chunks():
        for start in range(0, len(todo), chunk_size):
            task = todo[start:start + chunk_size]
            sample, regimen = task // n_reg, task % n_reg
            yield Chunk(task, sample, regimen, values[sample], seeds[task])

    backend_obj, owned = get_backend(backend)
    bar = _progress(len(todo), progress)
    frames, traj_frames = [], []
    try:
        for res in backend_obj.map(run_chunk, job, chunks()):
            df = _frame(res, job, samples, regs, n_reg, seeds)
            tf = _traj_frame(res, job) if keep else None
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
        if bar is not None:
            bar.close()
        if owned:
            backend_obj.close()
    names = [m.name for m in metric_list]
    if store is not None:  # streamed: the table stays on disk until asked for, so memory stays flat
        result = EnsembleResult(None, None, names, time.perf_counter() - started, store=store, n_tasks=n_tasks,
                                n_failed=store.count_failed(), has_trajectories=bool(keep))
    else:
        table = pd.concat(frames, ignore_index=True).sort_values("task").reset_index(drop=True)
        traj = (pd.concat(traj_frames, ignore_index=True).sort_values(["task", "time"]).reset_index(drop=True)
                if keep else None)
        result = EnsembleResult(table, traj, names, time.perf_counter() - started)
    if result.n_failed:
        warnings.warn(f"{result.n_failed} of {n_tasks} simulations failed; see result.failures",
                      QSPWarning, stacklevel=2)
    return result


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
    for col in job.columns:
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


