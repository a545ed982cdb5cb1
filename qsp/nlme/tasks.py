"""Running one stage of a population fit on an ensemble backend: one task per subject (or subject and chain)."""

from __future__ import annotations

import math
import os
import time
import weakref
from dataclasses import dataclass

import numpy as np

from .job import run_units

__all__ = ["Stage", "run_stage", "unit_seed", "backend_for"]

#: Simulations per worker before a process pool is replaced (between stages): libRoadRunner keeps about
#: 128 bytes per integration call for the life of a process, and a fit runs many short stages, each
#: too small for the pool's own recycling.
RECYCLE_SIMULATIONS = 50_000
_SINCE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass
class Stage:
    """What a stage returned per task (``values[t]`` None where it failed) and what it cost."""

    values: list
    status: np.ndarray
    messages: list
    sims: int
    seconds: float

    def failures(self) -> list[int]:
        return [int(t) for t in np.flatnonzero(self.status != 0)]


def backend_for(backend) -> tuple[object, bool]:
    """(backend object, whether the caller closes it); ``"processes"`` recycles its workers more often."""
    from ..ensemble.backends import ProcessBackend, get_backend

    if isinstance(backend, str) and backend == "processes":
        return ProcessBackend(), False
    return get_backend(backend)


def _recycle(backend, sims: int) -> None:
    """Replace a process pool's workers once they have run :data:`RECYCLE_SIMULATIONS` each."""
    from ..ensemble.backends import ProcessBackend

    if not isinstance(backend, ProcessBackend):
        return
    total = _SINCE.get(backend, 0) + sims
    if total > RECYCLE_SIMULATIONS * _workers(backend):
        backend.close()  # rebuilt on next use
        total = 0
    _SINCE[backend] = total


def _workers(backend) -> int:
    n = getattr(backend, "n_workers", None)
    return n if isinstance(n, int) and n > 0 else (os.cpu_count() or 1)


def run_stage(backend, job, make, n: int, chunk_size: int | None = None) -> Stage:
    """``make(tasks)`` builds the chunk of those task positions; every chunk runs on ``backend``."""
    start = time.perf_counter()
    size = chunk_size or max(1, min(64, math.ceil(n / (4 * _workers(backend)))))
    chunks = (make(np.arange(a, min(a + size, n))) for a in range(0, n, size))
    values, status, messages = [None] * n, np.ones(n, dtype=np.int8), ["not run"] * n
    sims = 0
    stream = backend.map(run_units, job, chunks)
    try:
        for res in stream:
            sims += int(np.sum(res.sims))
            for k, t in enumerate(res.task):
                t = int(t)
                values[t], status[t], messages[t] = res.values[k], res.status[k], res.message[k]
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    _recycle(backend, sims)
    return Stage(values, status, messages, sims, time.perf_counter() - start)


def unit_seed(seed: int, stage: int, iteration: int, task: int) -> list[int]:
    """The entropy of one task's generator: the same on every backend and with any chunking."""
    return [int(seed), int(stage), int(iteration), int(task)]
