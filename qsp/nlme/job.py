"""What a population fit sends to the ensemble's workers: one task per subject (or per subject and chain).

A :class:`PopulationJob` carries the model and what every subject shares (outputs, tolerances, the
parameter transformations, the residual error model); a chunk carries a few subjects' plans and
observations with the current population state, and its ``run`` does the work of one stage for each
(:mod:`qsp.nlme.kernels`: the MCMC E-step, conditional modes, importance sampling, predictions).
:func:`run_units` turns the failure of one subject into a row with a message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..ensemble.job import STATUS_FAILED, _model_for
from ..errors import SimulationError
from ..events.plan import SubjectPlan
from ..events.subject import run_subject

__all__ = ["PopulationJob", "SubjectData", "UnitResult", "run_units", "simulate", "residual_nllh", "residual_sd"]


@dataclass(frozen=True)
class SubjectData:
    """One subject: its plan, and per observation the output row ``k``, output column ``j``, the DV ``y``
    and whether it is censored below LLOQ (``y`` is then the LLOQ)."""

    subject: object
    plan: SubjectPlan
    k: np.ndarray
    j: np.ndarray
    y: np.ndarray
    censored: np.ndarray


@dataclass(frozen=True)
class PopulationJob:
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
    names: tuple[str, ...]
    transforms: tuple[str, ...]
    ranges: tuple[tuple[float, float], ...]
    error: str
    kernels: tuple[int, int, int] = (2, 2, 2)
    max_steps: int | None = None

    def failed(self, chunk, message: str) -> UnitResult:
        """Every subject of ``chunk`` failed with ``message`` (e.g. its worker process died)."""
        n = len(chunk.task)
        return UnitResult(chunk.task, np.full(n, STATUS_FAILED, dtype=np.int8), [message] * n, [None] * n,
                          np.zeros(n, dtype=int), 0.0)


@dataclass
class UnitResult:
    """Per task of a chunk: status, message, what the stage computed, simulations run."""

    task: np.ndarray
    status: np.ndarray
    message: list
    values: list
    sims: np.ndarray
    seconds: float


class Counter:
    """Simulations run for one task."""

    def __init__(self):
        self.n = 0


def simulate(model, job: PopulationJob, s: SubjectData, phi: np.ndarray, counter: Counter | None = None) -> np.ndarray:
    """The model output at each observation of ``s`` for individual parameters ``phi`` (Gaussian scale)."""
    from .spec import from_phi

    theta = from_phi(phi, job.transforms, job.ranges)
    base = dict(job.base)
    base.update(zip(job.names, theta.tolist()))
    if counter is not None:
        counter.n += 1
    if not np.all(np.isfinite(theta)):
        raise SimulationError("non-finite individual parameters")
    values, _ = run_subject(model, s.plan, job.outputs, base, rtol=job.rtol, atol=job.atol,
                            ss_tolerance=job.ss_tolerance)
    f = values[s.k, s.j]
    if not np.all(np.isfinite(f)):
        raise SimulationError("non-finite model outputs")
    return f


def residual_sd(error: str, f: np.ndarray, sigma) -> np.ndarray:
    """Residual SD at predictions ``f`` (on the log scale for an exponential error)."""
    a, b = float(sigma[0]), float(sigma[1])
    if error in ("additive", "exponential"):
        return np.full(np.shape(f), a)
    if error == "proportional":
        return b * np.abs(f)
    return np.sqrt(a * a + (b * f) ** 2)


def residual_nllh(error: str, s: SubjectData, f: np.ndarray | None, sigma) -> float:
    """-log p(y | f) of one subject (M3 for censored rows); inf when ``f`` is None or impossible."""
    from ..fit.noise import nllh_terms

    if f is None:
        return np.inf
    sd = residual_sd(error, f, sigma)
    dist = "lognormal" if error == "exponential" else "normal"
    total = float(np.sum(nllh_terms(s.y, f, sd, dist, censored=s.censored)))
    return total if np.isfinite(total) else np.inf


def run_units(job: PopulationJob, chunk) -> UnitResult:
    """Run ``chunk``'s stage for each of its subjects; a failure is that subject's status and message."""
    from .. import engine

    start = time.perf_counter()
    model = _model_for(job)
    if job.max_steps:
        engine.integrator_setting(model._rr, "maximum_num_steps", int(job.max_steps))
    n = len(chunk.task)
    status = np.zeros(n, dtype=np.int8)
    messages, values, sims = [""] * n, [None] * n, np.zeros(n, dtype=int)
    for i in range(n):
        counter = Counter()
        try:
            values[i] = chunk.run_one(model, job, i, counter)
        except Exception as exc:  # one subject's failure is a row, not a crash of the run
            status[i] = STATUS_FAILED
            messages[i] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]
        sims[i] = counter.n
    return UnitResult(chunk.task, status, messages, values, sims, time.perf_counter() - start)
