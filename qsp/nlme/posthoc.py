"""After SAEM: conditional modes, population predictions, the log-likelihood and standard errors.

- Conditional modes (EBEs): each subject's MAP eta (Nelder-Mead from its conditional mean), the
  individual predictions there (IPRED) and their Jacobian with respect to phi.
- Linearisation at the modes (as FOCE and saemix's ``fim.saemix``): y_i ~ N(E_i, V_i) with
  ``E_i = f(phi_i) + J_i (m_i - phi_i)`` and ``V_i = J_i Omega J_i' + diag(sd_ij^2)``. It gives the
  CWRES (``chol(V_i)^-1 (y_i - E_i)``, NONMEM's definition) and the Fisher information of (mu, Omega,
  residual error) for the standard errors: ``I_ab = sum_i dE_a' V^-1 dE_b + tr(V^-1 dV_a V^-1 dV_b) / 2``.
  Censored rows are linearised as if observed at their LLOQ.
- Log-likelihood by importance sampling: per subject, draws of eta from a Student t (4 degrees of
  freedom) centred at the mode with the Gauss-Newton posterior covariance ``(J' Sigma^-1 J + Omega^-1)^-1``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import QSPWarning
from .job import residual_sd
from .kernels import ISChunk, ModeChunk, PredictChunk
from .tasks import run_stage, unit_seed

__all__ = ["Posthoc", "posthoc", "linearised"]


@dataclass
class Posthoc:
    """Per subject: mode eta, IPRED, PRED, Jacobian, CWRES; the parameter covariance; the log-likelihood."""

    eta_mode: np.ndarray
    ipred: list
    pred: list
    jacobian: list
    cwres: list
    covariance: np.ndarray | None
    labels: list
    llh: float
    llh_se: float
    ess: np.ndarray
    sims: int
    seconds: float


def _raise_failures(stage, problem, what: str) -> None:
    bad = stage.failures()
    if bad:
        s = problem.subjects[bad[0]]
        from .saem import NLMEError

        raise NLMEError(f"{what} failed for {len(bad)} subject(s); subject {s.subject}: {stage.messages[bad[0]]}")


def posthoc(problem, state, settings, backend, chunk_size, *, standard_errors=True, likelihood=True) -> Posthoc:
    """Modes, PRED, linearisation (CWRES, SEs) and the importance-sampling likelihood, each stage one task per
    subject on ``backend``."""
    pop, job = problem.population, problem.job
    random = pop.random
    mean = problem.c * state.mu + problem.o
    n = len(problem.subjects)
    sigma = tuple(state.sigma)
    cond = state.s1 - mean  # conditional means of eta

    def modes(tasks):
        return ModeChunk(tasks, [problem.subjects[t] for t in tasks], mean[tasks], cond[tasks], state.omega, sigma,
                         random)

    stage = run_stage(backend, job, modes, n, chunk_size)
    _raise_failures(stage, problem, "the conditional mode")
    sims, seconds = stage.sims, stage.seconds
    eta_mode = np.array([v[0] for v in stage.values])
    ipred = [v[1] for v in stage.values]
    jac = [v[2] for v in stage.values]

    def pop_pred(tasks):
        return PredictChunk(tasks, [problem.subjects[t] for t in tasks], [mean[t] for t in tasks])

    stage = run_stage(backend, job, pop_pred, n, chunk_size)
    sims, seconds = sims + stage.sims, seconds + stage.seconds
    pred = [v[0] if v is not None else np.full(len(problem.subjects[t].y), np.nan) for t, v in enumerate(stage.values)]
    lin = [linearised(pop.error, s, f, J, eta_mode[i], state.omega, random, state.sigma)
           for i, (s, f, J) in enumerate(zip(problem.subjects, ipred, jac))]
    cwres = [_cwres(li) for li in lin]
    covariance, labels = None, _labels(pop)
    if standard_errors:
        covariance = _covariance(problem, lin, state, labels)
    llh, llh_se, ess = math.nan, math.nan, np.full(n, np.nan)
    if likelihood:
        centers, covs = [], []
        for i, li in enumerate(lin):
            centers.append(eta_mode[i][random])
            covs.append(li.post)

        def imp(tasks):
            return ISChunk(tasks, [problem.subjects[t] for t in tasks], mean[tasks], np.array(centers)[tasks],
                           np.array(covs)[tasks], [unit_seed(settings.seed, 3, 0, t) for t in tasks], state.omega,
                           sigma, random, settings.is_samples)

        stage = run_stage(backend, job, imp, n, chunk_size)
        _raise_failures(stage, problem, "importance sampling")
        sims, seconds = sims + stage.sims, seconds + stage.seconds
        llh = float(sum(v[0] for v in stage.values))
        llh_se = float(math.sqrt(sum(v[2] for v in stage.values)))
        ess = np.array([v[1] for v in stage.values])
    return Posthoc(eta_mode, ipred, pred, jac, cwres, covariance, labels, llh, llh_se, ess, sims, seconds)


@dataclass
class Linear:
    """One subject linearised at its mode (log scale for an exponential error): E, V, the DV, the
    Jacobian, the prediction, and the Gauss-Newton posterior covariance of its random etas."""

    E: np.ndarray
    V: np.ndarray
    y: np.ndarray
    J: np.ndarray
    f: np.ndarray
    post: np.ndarray


def linearised(error, s, f, J, eta, omega, random, sigma) -> Linear:
    """Subject ``s`` linearised at ``eta`` (predictions ``f`` and Jacobian ``J`` there)."""
    y, g = s.y, f
    sd = residual_sd(error, f, sigma)
    if error == "exponential":
        with np.errstate(divide="ignore", invalid="ignore"):
            J = J / f[:, None]
            g = np.log(f)
            y = np.log(y)
    sd = np.maximum(sd, 1e-12 * (np.max(np.abs(g)) + 1e-300))
    r = random
    Jr = J[:, r]
    om = omega[np.ix_(r, r)]
    E = g - Jr @ eta[r]
    V = Jr @ om @ Jr.T + np.diag(sd ** 2)
    prec = Jr.T @ (Jr / sd[:, None] ** 2) + np.linalg.inv(om)
    post = np.linalg.inv(prec)
    return Linear(E, V, y, J, f, 0.5 * (post + post.T))


def _cwres(lin: Linear) -> np.ndarray:
    try:
        L = np.linalg.cholesky(lin.V)
    except np.linalg.LinAlgError:
        return np.full(len(lin.y), np.nan)
    return np.linalg.solve(L, lin.y - lin.E)


def _labels(pop) -> list[tuple]:
    """The parameters of the Fisher information: ("mu", k), ("omega", k, l), ("sigma", 0 | 1)."""
    random = np.flatnonzero(pop.random)
    out = [("mu", k) for k in range(len(pop.names))]
    if pop.covariance == "full":
        out += [("omega", a, b) for i, a in enumerate(random) for b in random[i:]]
    else:
        out += [("omega", a, a) for a in random]
    out += [("sigma", 0 if name == "sigma_add" else 1) for name in pop.sigma_names()]
    return out


def _covariance(problem, lin: list[Linear], state, labels) -> np.ndarray | None:
    """Inverse of the linearised Fisher information (None, with a warning, when it is singular)."""
    a, b = state.sigma
    p = len(labels)
    fim = np.zeros((p, p))
    for i, li in enumerate(lin):
        J = li.J
        Vinv = np.linalg.inv(li.V)
        dE, VdV = [], []
        for lab in labels:
            if lab[0] == "mu":
                dE.append(J[:, lab[1]] * problem.c[i, lab[1]])
                VdV.append(None)
                continue
            if lab[0] == "omega":
                k, l_ = lab[1], lab[2]
                m = np.outer(J[:, k], J[:, l_])
                VdV.append(Vinv @ (m if k == l_ else m + m.T))
            else:
                g = np.full(len(li.y), 2 * a) if lab[1] == 0 else 2 * b * li.f ** 2
                VdV.append(Vinv * g[None, :])
            dE.append(None)
        for u in range(p):
            for v in range(u, p):
                if dE[u] is not None and dE[v] is not None:
                    x = dE[u] @ Vinv @ dE[v]
                elif VdV[u] is not None and VdV[v] is not None:
                    x = 0.5 * np.sum(VdV[u] * VdV[v].T)
                else:
                    continue
                fim[u, v] += x
                if u != v:
                    fim[v, u] += x
    try:
        cov = np.linalg.inv(fim)
        if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
            raise np.linalg.LinAlgError
        return cov
    except np.linalg.LinAlgError:
        warnings.warn("the Fisher information is singular: no standard errors (a parameter may not be "
                      "identifiable)", QSPWarning, stacklevel=3)
        return None
