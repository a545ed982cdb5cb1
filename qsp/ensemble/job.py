"""What an ensemble runs: a picklable job description and the worker-side chunk runner.

A :class:`Job` travels to every worker once per chunk; the worker keeps one
compiled :class:`~qsp.model.Model` per distinct job model (keyed by a hash of
its SBML), so a worker compiles each model once. A chunk is a few hundred
tasks given as arrays; its result comes back as arrays, never as a
DataFrame per simulation.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np

from ..dosing import Dose
from ..errors import QSPError
from .metrics import Metric

STATUS_OK, STATUS_FAILED = 0, 1


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides the rows of a chunk."""

    sbml: str
    name: str
    metadata: dict
    key: str
    columns: tuple[str, ...]
    regimens: tuple[tuple[str, tuple[Dose, ...], tuple[tuple[str, float], ...]], ...]
    grid: np.ndarray
    t_start: float
    t_end: float
    outputs: tuple[str, ...]
    metrics: tuple[Metric, ...]
    trajectory_outputs: tuple[str, ...]
    body_weight: float | None
    rtol: float
    atol: float
    max_steps: int | None
    stochastic: bool
    equilibrate: float | None = None
    #: Per regimen, the ids of the regimen's own parameters: a pre-equilibration runs without them.
    treatment: tuple[tuple[str, ...], ...] = ()


@dataclass
class Chunk:
    """A block of tasks: ids, sample and regimen index, override values (n x len(columns)) and seeds.

    ``body_weight``: per-task body weights (kg) for per-kg doses; None: the job's ``body_weight``.
    """

    task: np.ndarray
    sample: np.ndarray
    regimen: np.ndarray
    values: np.ndarray
    seed: np.ndarray
    body_weight: np.ndarray | None = None

    def halves(self) -> tuple[Chunk, Chunk]:
        """The first and second half of the tasks (for finding a task that kills a worker)."""
        k = len(self.task) // 2
        bw = self.body_weight
        return (Chunk(self.task[:k], self.sample[:k], self.regimen[:k], self.values[:k], self.seed[:k],
                      None if bw is None else bw[:k]),
                Chunk(self.task[k:], self.sample[k:], self.regimen[k:], self.values[k:], self.seed[k:],
                      None if bw is None else bw[k:]))


@dataclass
class ChunkResult:
    """Arrays for a chunk's rows: status codes, messages (per row, '' when ok), metrics, trajectories."""

    task: np.ndarray
    status: np.ndarray
    message: list
    metrics: np.ndarray
    trajectories: np.ndarray | None
    seconds: float

    @classmethod
    def failed(cls, job: Job, chunk: Chunk, message: str) -> ChunkResult:
        """Every task of ``chunk`` failed with ``message`` (e.g. the worker process died running it)."""
        n = len(chunk.task)
        traj = np.full((n, len(job.grid), len(job.trajectory_outputs)), np.nan) if job.trajectory_outputs else None
        return cls(chunk.task, np.full(n, STATUS_FAILED, dtype=np.int8), [message] * n,
                   np.full((n, len(job.metrics)), np.nan), traj, 0.0)


def sbml_key(sbml: str) -> str:
    """Content hash that identifies a model across processes."""
    return hashlib.sha1(sbml.encode("utf-8")).hexdigest()


_MODELS: dict = {}
_PREPARED: dict = {}


def _model_for(job: Job):
    from ..model import Model

    model = _MODELS.get(job.key)
    if model is None:
        if len(_MODELS) > 8:
            _MODELS.clear()
            _PREPARED.clear()
        model = Model(job.sbml, name=job.name, metadata=job.metadata)
        _MODELS[job.key] = model
    return model


def _prepare(job: Job, model, body_weight):
    """Per-job state kept in the worker, per body weight: schedules and merged regimen overrides.

    Bounded: the cache is emptied past 512 entries (per-row body weights can be all distinct).
    """
    pkey = (job.key, job.regimens, body_weight, job.t_start, job.t_end)
    prepared = _PREPARED.get(pkey)
    if prepared is None:
        prepared = [(model._schedule(doses, body_weight, job.t_start, job.t_end), dict(params))
                    for (_, doses, params) in job.regimens]
        if len(_PREPARED) > 512:
            _PREPARED.clear()
        _PREPARED[pkey] = prepared
    return prepared


def run_chunk(job: Job, chunk: Chunk) -> ChunkResult:
    """Simulate every task of a chunk; failures become rows with a message, never exceptions."""
    from .. import engine

    start = time.perf_counter()
    model = _model_for(job)
    weights = chunk.body_weight
    prepared = _prepare(job, model, job.body_weight) if weights is None else None
    by_weight: dict[float, list] = {}  # this chunk's schedules per distinct body weight
    if job.max_steps:
        engine.integrator_setting(model._rr, "maximum_num_steps", int(job.max_steps))
    n = len(chunk.task)
    status = np.zeros(n, dtype=np.int8)
    messages = [""] * n
    metric_values = np.full((n, len(job.metrics)), np.nan)
    keep = job.trajectory_outputs
    traj = np.full((n, len(job.grid), len(keep)), np.nan) if keep else None
    out_index = {o: i for i, o in enumerate(job.outputs)}
    metric_cols = [out_index[m.output] for m in job.metrics]
    traj_cols = [out_index[o] for o in keep]
    cols = job.columns
    for i in range(n):
        row = chunk.values[i]
        try:
            if weights is None:
                schedule, reg_params = prepared[chunk.regimen[i]]
            else:
                bw = float(weights[i])
                per = by_weight.get(bw)
                if per is None:
                    per = by_weight[bw] = _prepare(job, model, bw)
                schedule, reg_params = per[chunk.regimen[i]]
            if not np.isfinite(row).all():
                bad = [c for c, v in zip(cols, row) if not np.isfinite(v)]
                raise QSPError(f"non-finite value for {', '.join(bad)}")
            overrides = dict(reg_params)
            overrides.update(zip(cols, row.tolist()))
            if job.stochastic:
                engine.set_seed(model._rr, int(chunk.seed[i]))
            doses = job.regimens[chunk.regimen[i]][1]
            if any(d.steady_state for d in doses):  # the event-table engine starts from the steady state
                from ..events.regimen import simulate_regimen

                bw = job.body_weight if weights is None else float(weights[i])
                values = simulate_regimen(model, job.grid, job.t_start, job.outputs, overrides, doses, bw,
                                          job.rtol, job.atol)
            else:
                values = model._run(job.grid, job.t_start, job.t_end, job.outputs, overrides, schedule,
                                    job.rtol, job.atol, job.equilibrate,
                                    treatment=job.treatment[chunk.regimen[i]] if job.treatment else ())
            if not np.isfinite(values).all():
                bad = [job.outputs[j] for j in range(values.shape[1]) if not np.isfinite(values[:, j]).all()]
                raise QSPError(f"non-finite values in {', '.join(bad)}")
            for j, (m, c) in enumerate(zip(job.metrics, metric_cols)):
                metric_values[i, j] = m.compute(job.grid, values[:, c])
            if traj is not None:
                traj[i] = values[:, traj_cols]
        except Exception as exc:  # any failure of one simulation is a row, not a crash of the run
            status[i] = STATUS_FAILED
            messages[i] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]
            metric_values[i] = np.nan
    return ChunkResult(chunk.task, status, messages, metric_values, traj, time.perf_counter() - start)
