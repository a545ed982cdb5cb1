"""The work of each stage for one subject, run on a worker: chunks whose ``run_one`` simulates.

- :class:`EStepChunk`: a few Metropolis-Hastings kernels on eta (as in Monolix and nlmixr2's SAEM):
  ``n1`` independent proposals from the population distribution N(0, Omega); ``n2`` sweeps of
  random-walk moves on each component in turn (scale ``s_k * omega_k``); ``n3`` random-walk moves of
  all components together (scale ``s * chol(Omega)``). Censored rows get a DV drawn below LLOQ.
- :class:`ModeChunk`: the conditional mode (MAP) of eta, and the Jacobian of the predictions with
  respect to phi there (central differences).
- :class:`ISChunk`: the subject's marginal likelihood by importance sampling from a Student t.
- :class:`PredictChunk`: predictions at given individual parameters.

Each task draws from its own generator, seeded by (master seed, stage, iteration, task): a run gives
the same numbers on any backend and with any chunking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .job import Counter, PopulationJob, SubjectData, residual_nllh, residual_sd, simulate

__all__ = ["EStepChunk", "ModeChunk", "ISChunk", "PredictChunk"]

_PER_UNIT = ("task", "subjects", "mean", "eta", "pred", "seed", "phi", "center", "cov")


class _Chunk:
    """Chunk fields named in ``_PER_UNIT`` hold one entry per task; the others are shared."""

    def halves(self):
        k = len(self.task) // 2
        parts = []
        for sl in (slice(None, k), slice(k, None)):
            kw = {f.name: (getattr(self, f.name)[sl] if f.name in _PER_UNIT and getattr(self, f.name) is not None
                           else getattr(self, f.name)) for f in fields(self)}
            parts.append(type(self)(**kw))
        return tuple(parts)


def _try(model, job, s, phi, counter, sigma) -> tuple[float, np.ndarray | None]:
    """(-log p(y | phi), predictions); (inf, None) when the simulation fails."""
    try:
        f = simulate(model, job, s, phi, counter)
    except Exception:  # an impossible proposal, not a failure of the subject
        return np.inf, None
    return residual_nllh(job.error, s, f, sigma), f


def _accept(rng, log_ratio: float) -> bool:
    u = rng.random()  # drawn always: the stream does not depend on the outcome
    if math.isnan(log_ratio):  # both points impossible
        return False
    return log_ratio >= 0 or u < math.exp(log_ratio)


@dataclass
class EStepChunk(_Chunk):
    """One SAEM E-step for a few subjects: ``mean`` (phi at eta 0), current ``eta`` and predictions."""

    task: np.ndarray
    subjects: list
    mean: np.ndarray
    eta: np.ndarray
    pred: list
    seed: list
    omega: np.ndarray
    sigma: tuple
    scale: np.ndarray          # per component (kernel 2), then one for kernel 3

    def run_one(self, model, job: PopulationJob, i: int, counter: Counter):
        with np.errstate(invalid="ignore", over="ignore"):  # impossible points compare as NaN: rejected
            return self._run(model, job, i, counter)

    def _run(self, model, job: PopulationJob, i: int, counter: Counter):
        s: SubjectData = self.subjects[i]
        rng = np.random.default_rng(self.seed[i])
        mean, eta = self.mean[i], np.array(self.eta[i], dtype=float)
        d = len(eta)
        chol = np.linalg.cholesky(self.omega)
        prec = np.linalg.inv(self.omega)
        sd = np.sqrt(np.diag(self.omega))
        f = self.pred[i]
        if f is None:
            uy, f = _try(model, job, s, mean + eta, counter, self.sigma)
        else:
            uy = residual_nllh(job.error, s, f, self.sigma)
        n1, n2, n3 = job.kernels
        acc, tried = np.zeros((3, d)), np.zeros((3, d))
        for _ in range(n1):
            prop = chol @ rng.standard_normal(d)
            up, fp = _try(model, job, s, mean + prop, counter, self.sigma)
            tried[0] += 1
            if _accept(rng, uy - up):
                eta, uy, f = prop, up, fp
                acc[0] += 1
        ue = 0.5 * eta @ prec @ eta
        for _ in range(n2):
            for k in range(d):
                prop = eta.copy()
                prop[k] += self.scale[k] * sd[k] * rng.standard_normal()
                up, fp = _try(model, job, s, mean + prop, counter, self.sigma)
                upe = 0.5 * prop @ prec @ prop
                tried[1, k] += 1
                if _accept(rng, (uy + ue) - (up + upe)):
                    eta, uy, ue, f = prop, up, upe, fp
                    acc[1, k] += 1
        for _ in range(n3):
            prop = eta + self.scale[d] * (chol @ rng.standard_normal(d))
            up, fp = _try(model, job, s, mean + prop, counter, self.sigma)
            upe = 0.5 * prop @ prec @ prop
            tried[2] += 1
            if _accept(rng, (uy + ue) - (up + upe)):
                eta, uy, ue, f = prop, up, upe, fp
                acc[2] += 1
        if f is None:
            raise RuntimeError("every simulation of this subject failed (at eta 0 and at every proposal)")
        return eta, f, _impute(job.error, s, f, self.sigma, rng), acc, tried, uy


def _impute(error: str, s: SubjectData, f: np.ndarray, sigma, rng) -> np.ndarray:
    """The DV with each censored row replaced by a draw below its LLOQ (given the prediction)."""
    y = s.y.copy()
    if not s.censored.any():
        return y
    from scipy.special import ndtr, ndtri

    c = s.censored
    sd = residual_sd(error, f[c], sigma)
    lin = error != "exponential"
    mu = f[c] if lin else np.log(np.maximum(f[c], 1e-300))
    top = (y[c] if lin else np.log(y[c]))
    p = ndtr((top - mu) / sd) * rng.random(int(c.sum()))
    z = ndtri(np.clip(p, 1e-300, 1.0))
    draw = mu + sd * z
    y[c] = draw if lin else np.exp(draw)
    return y


@dataclass
class ModeChunk(_Chunk):
    """Conditional modes: minimise -log p(y | eta) - log p(eta) over the random components of eta."""

    task: np.ndarray
    subjects: list
    mean: np.ndarray
    eta: np.ndarray
    omega: np.ndarray
    sigma: tuple
    random: np.ndarray
    step: float = 1e-4

    def run_one(self, model, job: PopulationJob, i: int, counter: Counter):
        from scipy.optimize import minimize

        s = self.subjects[i]
        r = self.random
        prec = np.linalg.inv(self.omega[np.ix_(r, r)])
        mean = self.mean[i]

        def full(x):
            e = np.zeros(len(mean))
            e[r] = x
            return e

        def objective(x):
            uy, _ = _try(model, job, s, mean + full(x), counter, self.sigma)
            return uy + 0.5 * x @ prec @ x if np.isfinite(uy) else 1e300

        x0 = np.asarray(self.eta[i], float)[r]
        step = 0.2 * np.sqrt(np.diag(self.omega)[r])  # the default simplex (5 % of x0) is tiny near eta 0
        simplex = np.vstack([x0, x0 + np.diag(step)])
        best = minimize(objective, x0, method="Nelder-Mead",
                        options={"xatol": 1e-3, "fatol": 1e-5, "maxfev": 200 * len(x0), "initial_simplex": simplex})
        x = best.x if best.fun <= objective(x0) else x0
        eta = full(x)
        phi = mean + eta
        f = simulate(model, job, s, phi, counter)
        jac = np.empty((len(f), len(phi)))
        for k in range(len(phi)):
            up, down = phi.copy(), phi.copy()
            up[k] += self.step
            down[k] -= self.step
            high, low = simulate(model, job, s, up, counter), simulate(model, job, s, down, counter)
            jac[:, k] = (high - low) / (2 * self.step)
        return eta, f, jac, float(residual_nllh(job.error, s, f, self.sigma) + 0.5 * x @ prec @ x)


@dataclass
class ISChunk(_Chunk):
    """Importance sampling of each subject's marginal likelihood over the random components of eta."""

    task: np.ndarray
    subjects: list
    mean: np.ndarray
    center: np.ndarray
    cov: np.ndarray
    seed: list
    omega: np.ndarray
    sigma: tuple
    random: np.ndarray
    samples: int = 500
    nu: float = 4.0

    def run_one(self, model, job: PopulationJob, i: int, counter: Counter):
        from scipy.special import gammaln, logsumexp

        s = self.subjects[i]
        rng = np.random.default_rng(self.seed[i])
        r = self.random
        q = int(r.sum())
        om = self.omega[np.ix_(r, r)]
        om_chol = np.linalg.cholesky(om)
        om_logdet = 2 * np.sum(np.log(np.diag(om_chol)))
        c, cov = self.center[i], self.cov[i]
        ch = np.linalg.cholesky(cov)
        logdet = 2 * np.sum(np.log(np.diag(ch)))
        nu = self.nu
        const_t = gammaln((nu + q) / 2) - gammaln(nu / 2) - 0.5 * q * math.log(nu * math.pi) - 0.5 * logdet
        logw = np.empty(self.samples)
        for m in range(self.samples):
            z = rng.standard_normal(q)
            w = rng.chisquare(nu)
            x = c + ch @ z * math.sqrt(nu / w)
            dz = np.linalg.solve(ch, x - c)
            log_q = const_t - 0.5 * (nu + q) * math.log1p(dz @ dz / nu)
            e = np.linalg.solve(om_chol, x)
            log_p = -0.5 * (q * math.log(2 * math.pi) + om_logdet + e @ e)
            eta = np.zeros(len(self.mean[i]))
            eta[r] = x
            uy, _ = _try(model, job, s, self.mean[i] + eta, counter, self.sigma)
            logw[m] = -uy + log_p - log_q
        llh = float(logsumexp(logw) - math.log(self.samples))
        wn = np.exp(logw - logw.max())
        ess = float(wn.sum() ** 2 / np.sum(wn * wn)) if wn.sum() > 0 else 0.0
        var = float(np.var(wn) / (self.samples * np.mean(wn) ** 2)) if wn.sum() > 0 else np.inf
        return llh, ess, var


@dataclass
class PredictChunk(_Chunk):
    """Predictions for each subject at each row of its ``phi`` matrix (a failed row is NaN)."""

    task: np.ndarray
    subjects: list
    phi: list

    def run_one(self, model, job: PopulationJob, i: int, counter: Counter):
        s = self.subjects[i]
        phis = np.atleast_2d(self.phi[i])
        out = np.full((len(phis), len(s.y)), np.nan)
        for m, phi in enumerate(phis):
            try:
                out[m] = simulate(model, job, s, phi, counter)
            except Exception:  # that draw stays NaN
                pass
        return out
