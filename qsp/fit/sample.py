"""Posterior sampling by adaptive Metropolis (Haario, Saksman & Tamminen 2001), one chain per ensemble task.

The chain moves on the parameter scale within the bounds. Proposals are Gaussian; after
``adapt_start`` iterations their covariance is ``2.38^2 / d`` times the chain's own running covariance
(Haario), and a global factor is tuned towards the acceptance rate 0.234 (0.44 in one dimension) with
diminishing steps (Andrieu & Thoms 2008), so a poor first proposal does not stall a chain. A proposal
outside the bounds is reflected back into them (``outside="reflect"``) or rejected (``"reject"``).

The target is ``exp(-nllh)``: the posterior when the objective includes its prior
(:attr:`~qsp.fit.objective.Objective.with_prior`); otherwise the likelihood with a uniform prior on the
parameter scale within the bounds (the result's ``settings["prior"]`` says which).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, QSPWarning
from .objective import Objective
from .sample_result import SAMPLE_COLUMNS, SampleResult
from .uncertainty_common import TaskChunk, check_ids, check_objective, check_point, run_tasks

__all__ = ["sample", "SAMPLE_METHODS", "OUTSIDE"]

SAMPLE_METHODS = ("adaptive-metropolis", "metropolis")
OUTSIDE = ("reflect", "reject")


@dataclass
class _ChainChunkResult:
    task: np.ndarray
    results: list  # per chain: (x (n, d), nllh (n,), accepted (n,), message)


@dataclass(frozen=True)
class SampleJob:
    """What a worker needs to run its chains."""

    objective: Objective
    starts: np.ndarray
    seeds: tuple
    n_samples: int
    proposal_cov: np.ndarray
    adapt_start: int
    adaptive: bool
    outside: str

    def failed(self, chunk: TaskChunk, message: str) -> _ChainChunkResult:
        """Every chain of ``chunk`` failed with ``message``."""
        return _ChainChunkResult(chunk.task, [(None, None, None, message) for _ in chunk.task])


def sample(objective: Objective, x_start, *, n_samples: int = 2000, chains: int = 4, seed: int = 0,
           method: str = "adaptive-metropolis", backend="serial", burn_in: int | None = None,
           proposal_cov=None, outside: str = "reflect", adapt_start: int | None = None,
           quantiles=(0.025, 0.5, 0.975)) -> SampleResult:
    """Sample the posterior of the estimated parameters with ``chains`` Metropolis chains.

    Parameters
    ----------
    objective : Objective
    x_start : array
        A start on the parameter scale (e.g. the best fit), or one per chain (chains x parameters).
        From one start, chain 0 starts there and the others at points drawn around it (twice the
        proposal's spread), so that R-hat can detect chains that have not mixed.
    n_samples : int
        Iterations per chain, burn-in included.
    chains : int
        Independent chains; one ensemble task each (``backend="processes"`` runs them in parallel).
    seed : int
        Chain ``c`` draws from the ``c``-th child of ``numpy.random.SeedSequence(seed)``: the same
        numbers on every backend.
    method : 'adaptive-metropolis' or 'metropolis'
        'metropolis' keeps the first proposal covariance throughout.
    burn_in : int, optional
        Iterations per chain left out of the summary (default: half).
    proposal_cov : array, optional
        First proposal covariance on the parameter scale (default: the inverse Hessian at ``x_start``
        where it is positive definite, else (1 % of each bound width)^2 on the diagonal).
    outside : 'reflect' or 'reject'
        What a proposal outside the bounds becomes.
    adapt_start : int, optional
        Iterations before the covariance adapts (default: min(200, n_samples // 10), at least 2 d).
    quantiles : sequence of float
        Quantiles of the summary.

    Returns
    -------
    SampleResult
        ``.samples`` (every iteration), ``.summary`` (after burn-in: mean, sd, quantiles on the scale and
        linear, split R-hat, bulk ESS), ``.acceptance`` per chain.
    """
    check_objective(objective)
    space = objective.space
    d = len(space)
    check_ids(space.ids, SAMPLE_COLUMNS, "samples")
    if method not in SAMPLE_METHODS:
        raise InputError(f"method must be one of {', '.join(map(repr, SAMPLE_METHODS))}. Got {method!r}.")
    if outside not in OUTSIDE:
        raise InputError(f"outside must be one of {', '.join(map(repr, OUTSIDE))}. Got {outside!r}.")
    for name, v, least in (("n_samples", n_samples, 4), ("chains", chains, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
            raise InputError(f"{name} must be an integer >= {least}. Got {v!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer. Got {seed!r}.")
    burn = n_samples // 2 if burn_in is None else burn_in
    if isinstance(burn, bool) or not isinstance(burn, (int, np.integer)) or not 0 <= burn <= n_samples - 4:
        raise InputError(f"burn_in must be an integer from 0 to n_samples - 4 ({n_samples - 4}). Got {burn_in!r}.")
    if adapt_start is None:
        adapt_start = max(2 * d, min(200, n_samples // 10))
    if isinstance(adapt_start, bool) or not isinstance(adapt_start, (int, np.integer)) or adapt_start < 1:
        raise InputError(f"adapt_start must be a positive integer. Got {adapt_start!r}.")
    q = _check_quantiles(quantiles)
    x0 = np.asarray(x_start, dtype=float) if not isinstance(x_start, (str, bytes)) else x_start
    if getattr(x0, "ndim", 1) == 2:
        if x0.shape[0] != chains:
            raise InputError(f"x_start has {x0.shape[0]} rows; give one start or one per chain ({chains})")
        starts = np.array([check_point(objective, r, f"x_start row {k}") for k, r in enumerate(x0)])
    else:
        starts = check_point(objective, x0, "x_start")[None, :]
    cov = _proposal(objective, starts[0], proposal_cov)
    children = np.random.SeedSequence(int(seed)).spawn(int(chains) + 1)
    if len(starts) == 1:
        starts = _dispersed(objective, starts[0], cov, int(chains), np.random.default_rng(children[-1]), outside)
    for k, s in enumerate(starts):
        if not math.isfinite(float(objective.nllh(s))):
            raise InputError(f"the objective is not finite at the start of chain {k}")
    job = SampleJob(objective, starts, tuple(children[:chains]), int(n_samples), cov, int(adapt_start),
                    method == "adaptive-metropolis", outside)
    done = run_tasks(run_chains, job, range(chains), backend)
    prior = ("the objective's own (it includes its prior), within the bounds" if objective.with_prior else
             "uniform on the parameter scale within the bounds (the objective has no prior of its own)")
    settings = {"method": method, "chains": int(chains), "n_samples": int(n_samples), "burn_in": int(burn),
                "seed": int(seed), "outside": outside, "adapt_start": int(adapt_start), "prior": prior}
    res = SampleResult(space, [done[c] for c in range(chains)], burn_in=int(burn), quantiles=q, settings=settings)
    if len(res.failures):
        warnings.warn(f"{len(res.failures)} of {chains} chains failed, e.g. {res.failures['message'].iloc[0]}",
                      QSPWarning, stacklevel=2)
    bad = res.summary[res.summary["rhat"] > 1.05]
    if len(bad):
        warnings.warn(f"R-hat above 1.05 for {', '.join(bad['parameter'])}: the chains have not converged; run "
                      "longer chains", QSPWarning, stacklevel=2)
    return res


def _check_quantiles(quantiles) -> tuple[float, ...]:
    try:
        q = tuple(float(v) for v in quantiles)
    except (TypeError, ValueError):
        raise InputError(f"quantiles must be numbers between 0 and 1. Got {quantiles!r}.") from None
    if not q or any(not 0 <= v <= 1 for v in q):
        raise InputError(f"quantiles must be numbers between 0 and 1. Got {quantiles!r}.")
    return q


def _proposal(objective: Objective, x: np.ndarray, given) -> np.ndarray:
    """The first proposal covariance: ``given``, else the inverse Hessian, else 1 % of the bound widths."""
    d = len(x)
    width = objective.space.upper - objective.space.lower
    if given is not None:
        cov = np.atleast_2d(np.asarray(given, dtype=float))
        if cov.shape == (1, d) or cov.shape == (d,):
            cov = np.diag(np.ravel(cov))
        if cov.shape != (d, d) or not np.isfinite(cov).all():
            raise InputError(f"proposal_cov must be a {d} x {d} covariance matrix (or {d} variances)")
        try:
            np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise InputError("proposal_cov must be positive definite") from None
        return cov
    from .fisher import hessian

    fallback = np.diag((0.01 * width) ** 2)
    try:
        H, _ = hessian(objective, x)
        lam, vec = np.linalg.eigh(H)
        if not np.isfinite(lam).all() or lam.min() <= 1e-10 * max(lam.max(), 1e-300):
            return fallback
        cov = (vec / lam) @ vec.T
        sd = np.sqrt(np.diag(cov))
        if not (sd <= width).all():  # broader than the bounds: the curvature says little here
            return fallback
        return cov
    except Exception:  # noqa: BLE001 - any trouble with the curvature: the plain default
        return fallback


def _fold(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Reflect ``x`` into ``[lo, hi]`` (as often as needed)."""
    w = hi - lo
    y = np.mod(x - lo, 2 * w)
    return lo + np.where(y > w, 2 * w - y, y)


def _dispersed(objective: Objective, x: np.ndarray, cov: np.ndarray, chains: int, rng, outside: str) -> np.ndarray:
    """Chain 0 at ``x``, the others drawn from N(x, 4 cov) within the bounds where the objective is finite."""
    lo, hi = objective.space.lower, objective.space.upper
    L = np.linalg.cholesky(4 * cov)
    starts = [x]
    for _ in range(1, chains):
        for _attempt in range(20):
            s = _fold(x + L @ rng.standard_normal(len(x)), lo, hi)
            if math.isfinite(float(objective.nllh(s))):
                break
        else:
            s = x
        starts.append(s)
    return np.array(starts)


def run_chains(job: SampleJob, chunk: TaskChunk) -> _ChainChunkResult:
    """Run each chain of ``chunk``; an error of one chain is its message, not a crash of the run."""
    out = []
    for c in chunk.task:
        try:
            out.append((*_chain(job, int(c)), ""))
        except Exception as exc:  # noqa: BLE001 - reported per chain
            out.append((None, None, None, f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]))
    return _ChainChunkResult(chunk.task, out)


def _chain(job: SampleJob, c: int):
    obj = job.objective
    lo, hi = obj.space.lower, obj.space.upper
    rng = np.random.default_rng(job.seeds[c])
    d, n = len(lo), job.n_samples
    target = 0.44 if d == 1 else 0.234
    eps = 1e-10 * np.diag((hi - lo) ** 2)
    x = job.starts[c].copy()
    f = float(obj.nllh(x))
    xs, fs, acc = np.empty((n, d)), np.empty(n), np.zeros(n, dtype=bool)
    mean, m2 = x.copy(), np.zeros((d, d))
    log_scale = 0.0
    base = job.proposal_cov
    L = np.linalg.cholesky(base)
    for t in range(n):
        y = x + math.exp(log_scale / 2) * (L @ rng.standard_normal(d))
        if job.outside == "reflect":
            y = _fold(y, lo, hi)
        inside = bool(((y >= lo) & (y <= hi)).all())
        g = float(obj.nllh(y)) if inside else math.inf
        alpha = math.exp(min(0.0, f - g)) if math.isfinite(g) else 0.0
        if rng.random() < alpha:
            x, f, acc[t] = y, g, True
        xs[t], fs[t] = x, f
        # running mean and covariance of the chain (Welford), then the proposal from them
        delta = x - mean
        mean = mean + delta / (t + 2)
        m2 = m2 + np.outer(delta, x - mean)
        if job.adaptive:
            log_scale += (t + 1) ** -0.6 * (alpha - target)
            log_scale = float(np.clip(log_scale, -30.0, 30.0))
            if t + 1 >= job.adapt_start and (t + 1 == job.adapt_start or (t + 1) % 10 == 0):
                emp = m2 / (t + 1) * (2.38 ** 2 / d) + eps
                try:
                    L = np.linalg.cholesky(emp)
                except np.linalg.LinAlgError:
                    pass
                else:
                    if t + 1 == job.adapt_start:
                        log_scale = 0.0
    return xs, fs, acc
