"""Selection of a virtual population from plausible patients by acceptance-rejection (Allen et al. 2016).

On the target's transformed scale (logs for log-normal outputs), each plausible patient j gets the
inclusion probability ``P_j = min(1, beta * rho_D(y_j) / rho_PP(y_j))``: ``rho_D`` is the target density
and ``rho_PP`` the plausible-patient density estimated from the distance to the k-th nearest other
patient, ``rho_PP = k / (N * V_n(r_k))`` with ``V_n(r) = pi^(n/2) r^n / Gamma(n/2 + 1)`` (computed on
outputs standardised by their spread and mapped back). ``beta`` is searched on a log10 grid from
``beta_max = 1 / max_j(rho_D / rho_PP)`` (every ``P_j <= 1``) upwards: at each grid value the summed
Kolmogorov-Smirnov statistic over outputs is averaged over ``n_repeats`` draws (the same uniform draws
for every beta, so the curve is smooth), the best beta is kept, and the final population is the draw
with the smallest summed KS statistic among ``n_final`` draws at that beta.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.special import gammaln

from ..errors import QSPError
from ..memory_limits import check_memory
from ..option_names import option
from .result import VirtualPopulation, parameter_names, pp_table
from .target import Target, ks_statistic

__all__ = ["select", "knn_log_density"]


def knn_log_density(z: np.ndarray, k: int = 5) -> np.ndarray:
    """Log k-nearest-neighbour density of each row of ``z`` among the others (standardised axes)."""
    n, dim = z.shape
    if n <= k:
        raise QSPError(f"k-NN density needs more than k = {k} plausible patients. Got {n}.")
    scale = z.std(axis=0)
    scale[scale == 0] = 1.0
    s = z / scale
    dist, _ = cKDTree(s).query(s, k=k + 1)
    r = dist[:, -1]
    r = np.maximum(r, r[r > 0].min() if (r > 0).any() else 1e-12)
    log_v = dim / 2 * math.log(math.pi) + dim * np.log(r) - gammaln(dim / 2 + 1)
    return math.log(k) - math.log(n) - log_v - np.log(scale).sum()


def select(pps, target: Target, *, k: int = 5, n_beta: int = 41, beta_span: float = 3.0, n_repeats: int = 20,
           n_final: int = 100, min_vps: int = 10, seed: int | None = 0) -> VirtualPopulation:
    """Select a virtual population from plausible patients to match ``target``.

    Parameters
    ----------
    pps : PlausiblePatients or DataFrame
        Plausible patients with one column per target output (and the parameter columns).
    target : Target
        Clinical target (summary or individual observations).
    k : int
        Neighbour rank of the PP density estimate.
    n_beta : int
        log10(beta) grid size over [log10 beta_max, log10 beta_max + beta_span].
    beta_span : float
        Decades of beta searched above beta_max.
    n_repeats : int
        Draws averaged per grid value.
    n_final : int
        Draws at the chosen beta; the one with the smallest summed KS statistic is returned.
    min_vps : int
        A draw with fewer virtual patients scores infinity.
    seed : int

    Returns
    -------
    VirtualPopulation
    """
    started = time.perf_counter()
    table = pp_table(pps)
    if not isinstance(target, Target):
        raise QSPError(f"target must be a qsp.vpop.Target. Got {type(target).__name__}.")
    y = target.values(table)
    z = target.transform(y)
    usable = np.isfinite(z).all(axis=1)
    if usable.sum() <= k:
        raise QSPError(f"only {int(usable.sum())} plausible patients have usable outputs; need more than k = {k}")
    for name, value in (("n_beta", n_beta), ("n_repeats", n_repeats), ("n_final", n_final)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise QSPError(f"{option(name)} must be a positive integer. Got {value!r}.")
    check_memory(8.0 * len(z) * (n_repeats + n_final + 2 * k + 8),
                 f"{option('n_repeats', n_repeats)}, {option('n_final', n_final)}, {option('k', k)} ({len(z)} "
                 f"plausible patients)", "use fewer draws")
    zu = z[usable]
    log_ratio = np.full(len(z), -np.inf)
    log_ratio[usable] = target.log_density(y[usable]) - knn_log_density(zu, k)
    log_beta_max = -float(log_ratio.max())
    rng = np.random.default_rng(seed)
    refs = [target.observed(j) for j in range(len(target.names))]
    cdfs = [(lambda v, j=j: target.cdf(j, v)) if refs[j] is None else refs[j] for j in range(len(target.names))]

    def summed_ks(mask: np.ndarray) -> float:
        if mask.sum() < min_vps:
            return float("inf")
        return sum(ks_statistic(np.sort(z[mask, j]), cdfs[j]) for j in range(z.shape[1]))

    grid = log_beta_max + np.linspace(0.0, beta_span, n_beta) * math.log(10)
    u = rng.random((n_repeats, len(z)))
    scores = []
    for lb in grid:
        p = np.exp(np.minimum(lb + log_ratio, 0.0))
        scores.append(np.mean([summed_ks(u[r] < p) for r in range(n_repeats)]))
    scores = np.asarray(scores)
    best = int(np.argmin(scores))
    p_best = np.exp(np.minimum(grid[best] + log_ratio, 0.0))
    draws = rng.random((n_final, len(z))) < p_best
    final_scores = [summed_ks(m) for m in draws]
    pick = int(np.argmin(final_scores))
    mask = draws[pick]
    if mask.sum() < min_vps:
        raise QSPError(f"selection kept {int(mask.sum())} virtual patients (< min_vps = {min_vps}); generate more "
                       "plausible patients or widen their bounds to cover the target")
    fit = target.ks(y[mask])
    fit_pp = target.ks(y[usable])
    fit["pp_ks_statistic"], fit["pp_p_value"] = fit_pp["ks_statistic"].to_numpy(), fit_pp["p_value"].to_numpy()
    fit = _moments(fit, target, z, mask)
    search = pd.DataFrame({"log10_beta": grid / math.log(10), "mean_summed_ks": scores,
                           "expected_vps": [float(np.exp(np.minimum(lb + log_ratio, 0.0)).sum()) for lb in grid]})
    vps = table.loc[mask].copy()
    if "pp" not in vps.columns:
        vps.insert(0, "pp", np.flatnonzero(mask))
    vps = vps.reset_index(drop=True)
    vps.attrs = {}  # the PP metadata does not describe the selection
    vps["inclusion_probability"] = p_best[mask]
    return VirtualPopulation(vps, fit, search, n_pp=len(table), beta=float(math.exp(grid[best])),
                             beta_max=float(math.exp(log_beta_max)), summed_ks=float(final_scores[pick]),
                             k=k, seed=seed, wall_seconds=time.perf_counter() - started, target=target.to_dict(),
                             parameter_names=parameter_names(pps))


def _moments(fit: pd.DataFrame, target: Target, z: np.ndarray, mask: np.ndarray) -> pd.DataFrame:
    fit["target_mean"] = target.mean
    fit["target_sd"] = np.sqrt(np.diag(target.cov))
    fit["vp_mean"] = np.nanmean(z[mask], axis=0)
    fit["vp_sd"] = np.nanstd(z[mask], axis=0, ddof=1)
    fit["scale"] = np.where(target.log, "log", "linear")
    return fit
