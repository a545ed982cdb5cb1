"""Prevalence weighting: keep every plausible patient and give it a weight.

Two methods share one signature:

``"qp"`` (gQSPSim-style least squares): minimise ``||A w - b||^2 + ridge * ||w - 1/N||^2 * N`` over
weights with ``w >= 0``, ``sum w = 1`` and optionally ``w <= max_weight``. The rows of ``A`` are, per
output on the target's transformed scale, bin indicators of the PP outputs (target: the bin
probabilities; bins are target quantiles) and/or the PP values and squared deviations from the target
mean (target: the mean and variance), each row scaled to unit target size. The convex program is solved
by accelerated projected gradient with an exact projection onto the (capped) simplex.

``"binned"`` (MAPEL-style bin probabilities, fitted by raking): start from equal weights and rescale, one
output at a time, the weights in each bin so that the weighted bin masses equal the target's; repeat
until every marginal matches. The weights stay as close to uniform as the margins allow.

The effective sample size ``(sum w)^2 / sum w^2`` measures how many patients the weights really use.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import stats

from ..errors import QSPError
from ..memory_limits import check_memory
from ..option_names import option
from .result import PrevalenceWeights, parameter_names, pp_table
from .target import Target

__all__ = ["weight", "weight_bytes", "effective_sample_size"]

METHODS = ("qp", "binned")


def weight_bytes(n: int, n_outputs: int, n_bins: int, method: str = "qp") -> float:
    """Estimated memory (bytes) of :func:`weight`: ``qp`` holds a dense (bins + moments) x patients matrix per
    output and two copies while building it; ``binned`` only per-bin sums."""
    if method == "qp":
        return 8.0 * 3 * n * n_outputs * (n_bins + 2) + 8.0 * 16 * n
    return 8.0 * 4 * (n + n_bins) * n_outputs


def effective_sample_size(w) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``."""
    w = np.asarray(w, float)
    s2 = (w ** 2).sum()
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def _bins(target: Target, z: np.ndarray, n_bins: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per output: bin index of every PP and the target probability of every bin."""
    out = []
    q = np.linspace(0, 1, n_bins + 1)[1:-1]
    for j in range(len(target.names)):
        obs = target.observed(j)
        if obs is None:
            inner = stats.norm.ppf(q, target.mean[j], np.sqrt(target.cov[j, j]))
            prob = np.full(n_bins, 1.0 / n_bins)
        else:
            inner = np.unique(np.quantile(obs, q))
            idx = np.searchsorted(inner, obs, side="right")
            prob = np.bincount(idx, minlength=len(inner) + 1) / len(obs)
        out.append((np.searchsorted(inner, z[:, j], side="right"), prob))
    return out


def _project(v: np.ndarray, cap: float) -> np.ndarray:
    """Euclidean projection onto {0 <= w <= cap, sum w = 1} (bisection on the shift)."""
    lo, hi = v.min() - 1.0, v.max()
    for _ in range(100):
        tau = (lo + hi) / 2
        if np.clip(v - tau, 0.0, cap).sum() > 1.0:
            lo = tau
        else:
            hi = tau
    w = np.clip(v - (lo + hi) / 2, 0.0, cap)
    return w / w.sum()


def _solve_qp(a: np.ndarray, b: np.ndarray, ridge: float, cap: float, iters: int = 5000) -> np.ndarray:
    n = a.shape[1]
    w0 = np.full(n, 1.0 / n)
    lip = 2 * (np.linalg.norm(a, 2) ** 2 + ridge * n)
    w, yk, t = w0.copy(), w0.copy(), 1.0
    for _ in range(iters):
        grad = 2 * a.T @ (a @ yk - b) + 2 * ridge * n * (yk - w0)
        w_new = _project(yk - grad / lip, cap)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        yk = w_new + (t - 1) / t_new * (w_new - w)
        if np.abs(w_new - w).max() < 1e-12:
            w = w_new
            break
        w, t = w_new, t_new
    return w


def _rake(bins, n: int, iters: int = 500, tol: float = 1e-10) -> tuple[np.ndarray, float]:
    w = np.full(n, 1.0 / n)
    err = np.inf
    for _ in range(iters):
        for idx, prob in bins:
            mass = np.bincount(idx, weights=w, minlength=len(prob))
            factor = np.where(mass > 0, prob / np.where(mass > 0, mass, 1.0), 0.0)
            w = w * factor[idx]
            w /= w.sum()
        err = max(np.abs(np.bincount(idx, weights=w, minlength=len(prob)) - prob).max() for idx, prob in bins)
        if err < tol:
            break
    return w, float(err)


def weight(pps, target: Target, *, method: str = "qp", n_bins: int = 10, moments: bool = True,
           distributions: bool = True, ridge: float = 1e-3, max_weight: float | None = None) -> PrevalenceWeights:
    """Weights of plausible patients whose weighted outputs match ``target``.

    Parameters
    ----------
    pps : PlausiblePatients or DataFrame
    target : Target
    method : {'qp', 'binned'}
    n_bins : int
        Bins per output (target quantiles; equal target mass for a summary target).
    moments, distributions : bool
        ``qp``: match the mean and variance and/or the binned marginals.
    ridge : float
        ``qp``: pull toward equal weights (larger: higher effective sample size, looser fit).
    max_weight : float, optional
        ``qp``: upper bound on each weight (gQSPSim's ``1 / minNumVP``).

    Returns
    -------
    PrevalenceWeights
    """
    started = time.perf_counter()
    if method not in METHODS:
        raise QSPError(f"method must be one of {METHODS}. Got {method!r}.")
    if not isinstance(target, Target):
        raise QSPError(f"target must be a qsp.vpop.Target. Got {type(target).__name__}.")
    table = pp_table(pps)
    y = target.values(table)
    z = target.transform(y)
    usable = np.isfinite(z).all(axis=1)
    n = int(usable.sum())
    if n < 2:
        raise QSPError(f"only {n} plausible patients have usable outputs; weighting needs at least 2")
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
        raise QSPError(f"{option('n_bins')} must be an integer >= 2. Got {n_bins!r}.")
    check_memory(weight_bytes(n, len(target.names), n_bins, method), f"{option('n_bins', n_bins)} ({n} plausible "
                 f"patients, {len(target.names)} output(s), method {method!r})", "use fewer bins (10 to 20 is usual)")
    cap = 1.0 if max_weight is None else float(max_weight)
    if not 1.0 / n <= cap <= 1.0:
        raise QSPError(f"max_weight must lie in [1/N, 1] = [{1 / n:.3g}, 1]. Got {max_weight!r}.")
    zu = z[usable]
    bins = _bins(target, zu, n_bins)
    info = {}
    if method == "qp":
        if not (moments or distributions):
            raise QSPError("qp weighting needs moments=True and/or distributions=True")
        rows, rhs = [], []
        if distributions:
            for idx, prob in bins:
                ind = (idx[None, :] == np.arange(len(prob))[:, None]).astype(float)
                rows.append(ind / np.sqrt(len(prob)))
                rhs.append(prob / np.sqrt(len(prob)))
        if moments:
            sd = np.sqrt(np.diag(target.cov))
            rows.append(((zu - target.mean) / sd).T)
            rhs.append(np.zeros(zu.shape[1]))
            rows.append((((zu - target.mean) / sd) ** 2).T / 2)
            rhs.append(np.full(zu.shape[1], 0.5))
        a, b = np.vstack(rows), np.concatenate(rhs)
        wu = _solve_qp(a, b, float(ridge), cap)
        info["residual"] = float(np.linalg.norm(a @ wu - b))
    else:
        wu, err = _rake(bins, n)
        info["max_bin_error"] = err
    w = np.zeros(len(z))
    w[usable] = wu
    fit = target.ks(y[usable], weights=wu)
    fit["target_mean"] = target.mean
    fit["target_sd"] = np.sqrt(np.diag(target.cov))
    m = (wu[:, None] * zu).sum(axis=0)
    fit["weighted_mean"] = m
    fit["weighted_sd"] = np.sqrt((wu[:, None] * (zu - m) ** 2).sum(axis=0))
    fit["scale"] = np.where(target.log, "log", "linear")
    out = table.copy()
    out.attrs = {}
    out["weight"] = w
    return PrevalenceWeights(out, fit, method=method, ess=effective_sample_size(w),
                             wall_seconds=time.perf_counter() - started, info=info, target=target.to_dict(),
                             parameter_names=parameter_names(pps))
