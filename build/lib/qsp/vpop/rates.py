"""Binomial rates: confidence intervals for one rate and for the difference of two, and Fisher's test."""

from __future__ import annotations

import math

from scipy import stats

from ..errors import QSPError

__all__ = ["wilson_interval", "clopper_pearson", "newcombe_difference", "fisher_exact"]


def _check(k, n, confidence):
    if not (n > 0 and 0 <= k <= n):
        raise QSPError(f"need 0 <= k <= n and n > 0. Got k={k}, n={n}.")
    if not 0 < confidence < 1:
        raise QSPError(f"confidence must lie in (0, 1). Got {confidence}.")


def wilson_interval(k: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``.

    ``(p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with ``z`` the two-sided normal
    quantile. ``k`` and ``n`` may be non-integer (a weighted rate times the effective sample size).

    References
    ----------
    Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat Assoc
    1927;22:209-212. doi:10.1080/01621459.1927.10502953
    """
    _check(k, n, confidence)
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    den = 1 + z * z / n
    return max(0.0, (centre - half) / den), min(1.0, (centre + half) / den)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of ``k / n`` from beta quantiles."""
    _check(k, n, confidence)
    a = 1 - confidence
    low = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return low, high


def newcombe_difference(k1: float, n1: float, k2: float, n2: float,
                        confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference ``p1 - p2`` with Newcombe's hybrid score interval (from the two Wilson intervals).

    Returns
    -------
    (difference, low, high)

    References
    ----------
    Newcombe RG. Interval estimation for the difference between independent proportions: comparison of
    eleven methods. Stat Med 1998;17:873-890 (method 10).
    """
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test of equal proportions k1/n1 and k2/n2."""
    if not (0 <= k1 <= n1 and 0 <= k2 <= n2) or n1 == 0 or n2 == 0:
        raise QSPError(f"need 0 <= k <= n and n > 0. Got {k1}/{n1}, {k2}/{n2}.")
    return float(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1])
