"""SAEM: population fitting by stochastic approximation EM (Delyon, Lavielle & Moulines 1999; Kuhn &
Lavielle 2005), the algorithm of Monolix and nlmixr2's ``saem``.

Each iteration k draws every subject's eta by a few MCMC kernels (:mod:`qsp.nlme.kernels`; one task
per subject and chain on the ensemble backend), updates the sufficient statistics by stochastic
approximation, ``S_k = S_{k-1} + gamma_k (s(phi_k) - S_{k-1})`` with ``gamma_k = 1`` during the
``K1`` exploratory iterations and ``1 / (k - K1)`` during the ``K2`` smoothing ones, and maximises:

- typical values: ``mu = (sum_i C_i W C_i)^-1 sum_i C_i W (S1_i - o_i)`` (with no covariates, the mean of
  the subjects' phi), W = Omega^-1;
- Omega: ``(1/N) sum_i E[(phi_i - m_i)(phi_i - m_i)']`` from S1 and S2 (its diagonal unless full);
- residual error: closed form for additive, proportional and exponential errors (``sigma^2`` = the
  stochastic approximation of the mean squared (weighted) residual); for a combined error the 1-D
  maximisation of the profiled likelihood over the ratio of its parts, then stochastic approximation
  of (a, b) (as saemix does).

Simulated annealing: during the first ``K1 / 2`` iterations each diagonal element of Omega and the
residual error parameters shrink by at most a factor ``alpha`` (0.95) per iteration. Parameters without
random effects get a variance that decreases by 0.95 per iteration (Monolix's "decreasing variability").
The first ``burn`` iterations only run the MCMC. MCMC scales adapt towards 40 % acceptance.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import InputError, QSPError, QSPWarning
from .kernels import EStepChunk
from .problem import Problem, build_problem, initial_sigma
from .spec import PopulationModel
from .tasks import run_stage, unit_seed

__all__ = ["saem", "Settings", "NLMEError"]

_ADAPT, _TARGET = 0.4, 0.4  # saemix's stepsize.rw and proba.mcmc


class NLMEError(QSPError, RuntimeError):
    """A population fit cannot go on (every simulation of a subject fails, Omega degenerates)."""


@dataclass(frozen=True)
class Settings:
    """SAEM settings: iterations (K1 exploratory, K2 smoothing), MCMC kernels (n1, n2, n3), chains per
    subject, burn-in iterations, annealing factor, seed, importance-sampling draws per subject."""

    iterations: tuple[int, int] = (200, 100)
    kernels: tuple[int, int, int] = (2, 2, 2)
    chains: int = 1
    burn: int = 5
    annealing: float = 0.95
    seed: int = 0
    is_samples: int = 300

    def check(self) -> Settings:
        it = tuple(self.iterations)
        if len(it) != 2 or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0 for k in it) \
                or it[0] + it[1] < 1:
            raise InputError(f"iterations must be two whole numbers K1,K2 >= 0 (K1 + K2 >= 1); got {self.iterations!r}")
        ke = tuple(self.kernels)
        if len(ke) != 3 or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0 for k in ke) \
                or sum(ke) < 1:
            raise InputError(f"kernels must be three whole numbers n1,n2,n3 >= 0, not all 0; got {self.kernels!r}")
        for name, v, lo in (("chains", self.chains, 1), ("burn", self.burn, 0), ("is_samples", self.is_samples, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise InputError(f"{name} must be a whole number >= {lo}; got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InputError(f"seed must be a whole number >= 0; got {self.seed!r}")
        if isinstance(self.annealing, bool) or not isinstance(self.annealing, (int, float)) \
                or not 0 < self.annealing <= 1:
            raise InputError(f"annealing must be in (0, 1]; got {self.annealing!r}")
        return replace(self, iterations=tuple(int(k) for k in it), kernels=tuple(int(k) for k in ke),
                       chains=int(self.chains), burn=int(self.burn), seed=int(self.seed),
                       is_samples=int(self.is_samples), annealing=float(self.annealing))


def _population(spec) -> PopulationModel:
    if isinstance(spec, PopulationModel):
        return spec
    if isinstance(spec, dict):
        return PopulationModel.from_dict(spec)
    return PopulationModel.from_toml(spec)


def saem(model, data, population, *, seed: int | None = None, iterations=None, kernels=None, chains=None,
         burn=None, annealing=None, is_samples=None, standard_errors: bool = True, likelihood: bool = True,
         backend="serial", chunk_size: int | None = None, progress=None, cmt_map=None, **options):
    """Fit a population model to a dataset by SAEM, then conditional modes, log-likelihood and SEs.

    Parameters
    ----------
    model : qsp.Model
    data : Dataset, or a path / data frame read with the spec's ``cmt``, ``evid_style``, ``missing``
    population : PopulationModel, a spec dict, or a TOML spec file
    seed, iterations, kernels, chains, burn, annealing, is_samples : SAEM settings (see :class:`Settings`);
        given here they win over the spec's ``[saem]`` table
    standard_errors : compute SEs (linearised Fisher information at the conditional modes)
    likelihood : estimate the log-likelihood by importance sampling (``is_samples`` draws per subject)
    backend : ``"serial"``, ``"processes"``, ``"dask"`` or a backend object: every stage runs one task per
        subject (per subject and chain in the E-step)
    progress : a callable ``progress(iteration, total)`` called after each iteration
    **options : dataset-simulation options (``lag``, ``bioavailability``, ``rtol``, ``atol`` ...) and
        ``subjects`` (fit only these IDs)

    Returns
    -------
    NLMEResult
    """
    from .posthoc import posthoc
    from .tasks import backend_for
    from .result import NLMEResult

    start = time.perf_counter()
    pop = _population(population)
    given = {k: v for k, v in dict(seed=seed, iterations=iterations, kernels=kernels, chains=chains, burn=burn,
                                   annealing=annealing, is_samples=is_samples).items() if v is not None}
    settings = Settings(**{**dict(pop.saem), **given}).check()
    problem = build_problem(model, data, pop, kernels=settings.kernels, cmt_map=cmt_map, **options)
    backend_obj, owned = backend_for(backend)
    try:
        state = _iterate(problem, settings, backend_obj, chunk_size, progress)
        post = posthoc(problem, state, settings, backend_obj, chunk_size, standard_errors=standard_errors,
                       likelihood=likelihood)
    finally:
        if owned:
            backend_obj.close()
    return NLMEResult(problem, settings, state, post, wall_s=time.perf_counter() - start)


@dataclass
class State:
    """Where SAEM ended: population parameters, statistics, chains, the trace and the cost."""

    mu: np.ndarray
    omega: np.ndarray
    sigma: np.ndarray
    s1: np.ndarray
    s2i: np.ndarray
    eta: np.ndarray
    trace: pd.DataFrame
    sims: int
    estep_s: float
    failures: int


def _means(problem: Problem, mu: np.ndarray, chains: int) -> np.ndarray:
    m = problem.c * mu + problem.o
    return np.repeat(m, chains, axis=0)


def _iterate(problem: Problem, st: Settings, backend, chunk_size, progress) -> State:
    pop, job = problem.population, problem.job
    n, d = len(problem.subjects), len(pop.names)
    chains = st.chains
    units = n * chains
    random = pop.random
    k1, k2 = st.iterations
    total = k1 + k2
    mu = pop.initial_mu.copy()
    omega0 = np.array([p.omega for p in pop.parameters.values()]) ** 2
    omega = np.diag(omega0)
    sigma = initial_sigma(pop, problem)
    eta = np.zeros((units, d))
    pred: list = [None] * units
    scale = np.full(d + 1, 0.5)
    s1 = np.zeros((n, d))
    s2 = np.zeros((d, d))
    s2i = np.zeros((n, d, d))
    sres = 0.0
    n_obs = problem.n_observations
    anneal_until = st.burn + max(1, k1 // 2)
    rows, sims, estep_s, failures = [], 0, 0.0, 0
    subjects = [problem.subjects[u // chains] for u in range(units)]
    for it in range(1, total + 1):
        mean = _means(problem, mu, chains)

        def make(tasks, it=it, mean=mean, omega=omega, sigma=sigma, scale=scale):
            return EStepChunk(tasks, [subjects[t] for t in tasks], mean[tasks], eta[tasks], [pred[t] for t in tasks],
                              [unit_seed(st.seed, 1, it, t) for t in tasks], omega, tuple(sigma), scale.copy())

        stage = run_stage(backend, job, make, units, chunk_size)
        sims += stage.sims
        estep_s += stage.seconds
        acc, tried = np.zeros((3, d)), np.zeros((3, d))
        yres: list = [None] * units
        for t in range(units):
            v = stage.values[t]
            if stage.status[t] != 0 or v is None:
                failures += 1
                if pred[t] is None:
                    raise NLMEError(f"subject {subjects[t].subject}: {stage.messages[t]}")
                yres[t] = subjects[t].y
                continue
            eta[t], pred[t], yres[t] = v[0], v[1], v[2]
            acc += v[3]
            tried += v[4]
            if not np.isfinite(v[5]):
                raise NLMEError(f"subject {subjects[t].subject}: its observations are impossible under the "
                                f"{pop.error} error at every parameter value tried (a zero prediction at an "
                                "observation, e.g. before absorption, makes a proportional or exponential error "
                                "impossible; leave such rows out or use an additive or combined error)")
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = acc / tried
        for k in range(d):
            if tried[1, k] > 0:
                scale[k] *= 1 + _ADAPT * (rate[1, k] - _TARGET)
        if tried[2, 0] > 0:
            scale[d] *= 1 + _ADAPT * (rate[2, 0] - _TARGET)
        phase = "burn" if it <= st.burn else ("exploration" if it <= k1 else "smoothing")
        if it > st.burn:
            # step 1 while exploring (and at the first update, whatever K1), then 1/k
            gamma = 1.0 if it <= max(k1, st.burn + 1) else 1.0 / (it - max(k1, st.burn))
            phi = (mean + eta).reshape(n, chains, d)
            s1 += gamma * (phi.mean(axis=1) - s1)
            outer = np.einsum("ncj,nck->njk", phi, phi) / chains
            s2 += gamma * (outer.sum(axis=0) - s2)
            s2i += gamma * (outer - s2i)
            previous = omega
            mu = _typical(problem, s1, previous)
            omega = _omega(problem, s1, s2, mu, random, pop.covariance == "full")
            pseudo = omega0 * 0.95 ** (it - st.burn)
            for k in np.flatnonzero(~random):
                omega[k, :] = omega[:, k] = 0.0
                omega[k, k] = max(pseudo[k], 1e-12)
            new_sigma, sres = _residual(pop.error, problem, pred, yres, chains, sigma, sres, gamma, n_obs)
            if it <= anneal_until:
                for k in np.flatnonzero(random):
                    omega[k, k] = max(omega[k, k], st.annealing * previous[k, k])
                new_sigma = np.maximum(new_sigma, st.annealing * sigma)
            sigma = new_sigma
            omega = _positive_definite(omega)
            eta += mean - _means(problem, mu, chains)  # the chains keep their phi (and predictions)
        rows.append(_trace_row(pop, it, phase, mu, omega, sigma, random))
        if progress is not None:
            progress(it, total)
    if failures:
        warnings.warn(f"{failures} subject E-steps failed over {total} iterations (those subjects kept their "
                      "previous draw)", QSPWarning, stacklevel=3)
    trace = pd.DataFrame(rows)
    return State(mu, omega, sigma, s1, s2i, eta[::chains].copy(), trace, sims, estep_s, failures)


def _typical(problem: Problem, s1: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """Generalised least squares of S1_i - o_i on C_i mu with weight Omega^-1 (the mean when C_i = 1)."""
    c, o = problem.c, problem.o
    if np.all(c == 1.0):
        return (s1 - o).mean(axis=0)
    w = np.linalg.inv(omega)
    lhs = np.einsum("nj,jk,nk->jk", c, w, c)
    rhs = np.einsum("nj,jk,nk->j", c, w, s1 - o)
    return np.linalg.solve(lhs, rhs)


def _omega(problem: Problem, s1, s2, mu, random, full: bool) -> np.ndarray:
    n = len(s1)
    m = problem.c * mu + problem.o
    om = (s2 - m.T @ s1 - s1.T @ m + m.T @ m) / n
    om = 0.5 * (om + om.T)
    if not full:
        return np.diag(np.diag(om))
    keep = np.outer(random, random) | np.eye(len(mu), dtype=bool)
    return np.where(keep, om, 0.0)


def _positive_definite(om: np.ndarray) -> np.ndarray:
    diag = np.maximum(np.diag(om), 1e-12)
    om = om.copy()
    np.fill_diagonal(om, diag)
    for _ in range(20):
        try:
            np.linalg.cholesky(om)
            return om
        except np.linalg.LinAlgError:
            off = om - np.diag(np.diag(om))
            om = np.diag(diag) + 0.9 * off
    raise NLMEError("Omega is not positive definite")


def _residual(error, problem, pred, yres, chains, sigma, sres, gamma, n_obs):
    """The residual error parameters (a, b) after this iteration's stochastic approximation."""
    f = np.concatenate([p for p in pred])
    y = np.concatenate(yres)
    with np.errstate(divide="ignore", invalid="ignore"):
        if error == "combined":
            a, b = _combined(y, f)
            new = sigma + gamma * (np.array([a, b]) - sigma)
            return new, sres
        if error == "additive":
            q = np.sum((y - f) ** 2)
        elif error == "proportional":
            q = np.sum(((y - f) / f) ** 2)
        else:
            q = np.sum((np.log(y) - np.log(f)) ** 2)
    if not np.isfinite(q):
        raise NLMEError(f"the {error} residual error is undefined at the current predictions "
                        "(a zero prediction at an observation, for a proportional or exponential error)")
    sres += gamma * (q / chains - sres)
    s = math.sqrt(max(sres / n_obs, 1e-300))
    return (np.array([0.0, s]) if error == "proportional" else np.array([s, 0.0])), sres


def _combined(y: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (a, b) of sd = sqrt(a^2 + (b f)^2) for residuals y - f (profiled over the scale)."""
    from scipy.optimize import minimize_scalar

    r2 = (y - f) ** 2
    fs = float(np.median(np.abs(f))) or 1.0
    g2 = (f / fs) ** 2

    def profile(theta):
        w = math.cos(theta) ** 2 + math.sin(theta) ** 2 * g2
        s2 = np.mean(r2 / w)
        return 0.5 * len(y) * math.log(s2) + 0.5 * np.sum(np.log(w)), s2

    best = minimize_scalar(lambda t: profile(t)[0], bounds=(0.0, 0.999 * math.pi / 2), method="bounded",
                           options={"xatol": 1e-6})
    theta = float(best.x)
    s = math.sqrt(profile(theta)[1])
    return s * math.cos(theta), s * math.sin(theta) / fs


def _trace_row(pop: PopulationModel, it, phase, mu, omega, sigma, random) -> dict:
    row = {"iteration": it, "phase": phase}
    row.update(zip(pop.names, pop.from_phi(mu).tolist()))
    sd = np.sqrt(np.diag(omega))
    for k, name in enumerate(pop.names):
        if random[k]:
            row[f"omega_{name}"] = float(sd[k])
    if pop.covariance == "full":
        idx = np.flatnonzero(random)
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                i, j = idx[a], idx[b]
                row[f"corr_{pop.names[i]}_{pop.names[j]}"] = float(omega[i, j] / (sd[i] * sd[j]))
    for name in pop.sigma_names():
        row[name] = float(sigma[0] if name == "sigma_add" else sigma[1])
    return row
