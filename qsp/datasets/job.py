"""What a dataset simulation sends to the ensemble's workers: one task per subject.

A :class:`DatasetJob` travels once per chunk (the model is compiled once per worker, as for
ensembles); a :class:`SubjectChunk` holds a few subjects' plans; :func:`run_subjects` simulates them
and turns any failure of one subject into a row with a message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..ensemble.job import STATUS_FAILED, _model_for
from ..events.plan import SubjectPlan
from ..events.subject import run_subject

__all__ = ["DatasetJob", "SubjectChunk", "SubjectResult", "run_subjects"]


@dataclass
class SubjectChunk:
    """Subjects (their positions ``task`` and plans) simulated together on one worker."""

    task: np.ndarray
    plans: list[SubjectPlan]

    def halves(self) -> tuple[SubjectChunk, SubjectChunk]:
        k = len(self.task) // 2
        return SubjectChunk(self.task[:k], self.plans[:k]), SubjectChunk(self.task[k:], self.plans[k:])


@dataclass
class SubjectResult:
    """Per subject of a chunk: status, message, outputs at its output rows, steady-state reports."""

    task: np.ndarray
    status: np.ndarray
    message: list
    values: list
    steady: list
    seconds: float


@dataclass(frozen=True)
class DatasetJob:
    """The model and the settings every subject shares."""

    sbml: str
    name: str
    metadata: dict
    key: str
    outputs: tuple[str, ...]
    base: tuple[tuple[str, float], ...]
    rtol: float
    atol: float
    ss_tolerance: float
    max_steps: int | None = None

    def failed(self, chunk: SubjectChunk, message: str) -> SubjectResult:
        """Every subject of ``chunk`` failed with ``message``."""
        n = len(chunk.task)
        return SubjectResult(chunk.task, np.full(n, STATUS_FAILED, dtype=np.int8), [message] * n,
                             [np.full((p.n_outputs_rows, len(self.outputs)), np.nan) for p in chunk.plans],
                             [[] for _ in chunk.plans], 0.0)


def run_subjects(job: DatasetJob, chunk: SubjectChunk) -> SubjectResult:
    """Simulate each subject of ``chunk``; a failure is that subject's status and message."""
    from .. import engine

    start = time.perf_counter()
    model = _model_for(job)
    if job.max_steps:
        engine.integrator_setting(model._rr, "maximum_num_steps", int(job.max_steps))
    base = dict(job.base)
    n = len(chunk.task)
    status = np.zeros(n, dtype=np.int8)
    messages, values, steady = [""] * n, [], []
    for i, plan in enumerate(chunk.plans):
        try:
            v, ss = run_subject(model, plan, job.outputs, base, rtol=job.rtol, atol=job.atol,
                                ss_tolerance=job.ss_tolerance)
            if not np.isfinite(v).all():
                bad = [job.outputs[j] for j in range(v.shape[1]) if not np.isfinite(v[:, j]).all()]
                raise ValueError(f"non-finite values in {', '.join(bad)}")
        except Exception as exc:  # one subject's failure is a row, not a crash of the run
            status[i] = STATUS_FAILED
            messages[i] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]
            v, ss = np.full((plan.n_outputs_rows, len(job.outputs)), np.nan), []
        values.append(v)
        steady.append(ss)
    return SubjectResult(chunk.task, status, messages, values, steady, time.perf_counter() - start)
