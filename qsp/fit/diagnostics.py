"""Convergence diagnostics of MCMC chains: rank-normalised split R-hat and bulk effective sample size.

Both follow Vehtari, Gelman, Simpson, Carpenter & Buerkner (2021), "Rank-normalization, folding, and
localization: an improved R-hat for assessing convergence of MCMC": each chain is split in halves,
the draws are replaced by the normal scores of their pooled ranks; R-hat is the larger of the
Gelman-Rubin statistic of those scores and of the folded draws (|x - median|), and the bulk ESS uses
Geyer's initial monotone sequence on the scores' autocorrelations.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["split_rhat", "ess_bulk", "rank_normalize"]


def _split(draws: np.ndarray) -> np.ndarray:
    """(chains, draws) -> (2 * chains, draws // 2): each chain's first and second halves."""
    n = draws.shape[1] // 2
    return np.concatenate([draws[:, :n], draws[:, draws.shape[1] - n:]], axis=0)


def rank_normalize(draws: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled (average) ranks, in the shape of ``draws``."""
    from scipy.stats import norm, rankdata

    r = rankdata(draws, method="average").reshape(draws.shape)
    return norm.ppf((r - 3 / 8) / (draws.size + 1 / 4))


def _rhat(chains: np.ndarray) -> float:
    m, n = chains.shape
    if n < 2:
        return math.nan
    means = chains.mean(axis=1)
    w = chains.var(axis=1, ddof=1).mean()
    b = n * means.var(ddof=1)
    if w <= 0:
        return math.nan
    var = (n - 1) / n * w + b / n
    return float(math.sqrt(var / w))


def split_rhat(draws: np.ndarray) -> float:
    """Rank-normalised split R-hat of one parameter's ``draws`` (chains x draws); NaN when undefined."""
    draws = np.asarray(draws, float)
    if draws.ndim != 2 or draws.shape[1] < 4 or not np.isfinite(draws).all() or np.ptp(draws) == 0:
        return math.nan
    s = _split(draws)
    bulk = _rhat(rank_normalize(s))
    folded = _rhat(rank_normalize(np.abs(s - np.median(s))))
    return float(np.nanmax([bulk, folded]))


def _autocov(x: np.ndarray) -> np.ndarray:
    n = len(x)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x - x.mean(), size)
    return np.fft.irfft(f * np.conjugate(f), size)[:n] / n


def _ess(chains: np.ndarray) -> float:
    m, n = chains.shape
    if n < 4:
        return math.nan
    acov = np.array([_autocov(c) for c in chains])
    means = chains.mean(axis=1)
    w = acov[:, 0].mean() * n / (n - 1)
    var = w * (n - 1) / n + (means.var(ddof=1) if m > 1 else 0.0)
    if var <= 0:
        return math.nan
    rho = 1.0 - (w - acov.mean(axis=0)) / var
    rho[0] = 1.0
    # Geyer: sums of adjacent pairs, kept while positive, made monotone
    total, prev = 0.0, math.inf
    t = 0
    while t + 1 < n:
        pair = rho[t] + rho[t + 1]
        if pair < 0:
            break
        pair = min(pair, prev)
        total += pair
        prev = pair
        t += 2
    tau = -1.0 + 2.0 * total
    tau = max(tau, 1.0 / math.log10(m * n)) if m * n > 1 else tau
    return float(m * n / tau)


def ess_bulk(draws: np.ndarray) -> float:
    """Bulk effective sample size of one parameter's ``draws`` (chains x draws); NaN when undefined."""
    draws = np.asarray(draws, float)
    if draws.ndim != 2 or draws.shape[1] < 4 or not np.isfinite(draws).all() or np.ptp(draws) == 0:
        return math.nan
    return _ess(rank_normalize(_split(draws)))
