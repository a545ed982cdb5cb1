"""Noise models: the likelihood of measurements given simulated values, shared by every objective in qsp.

A measurement ``m`` of a simulated quantity ``y`` (both in the observable's unit) with noise scale
``sigma`` contributes, per row, the negative log-likelihood (PEtab's definitions)::

    normal        0.5*log(2*pi*sigma^2) + 0.5*((m - y)/sigma)^2
    lognormal     0.5*log(2*pi*sigma^2) + 0.5*((log m - log y)/sigma)^2 + log(m)
    log10normal   0.5*log(2*pi*sigma^2) + 0.5*((log10 m - log10 y)/sigma)^2 + log(m*ln 10)
    laplace       log(2*sigma) + |m - y|/sigma             (and loglaplace, log10laplace likewise)

``sigma`` is on the transformed scale (log or log10 units for the log-transformed models). A row
censored below the limit of quantification (Beal's M3) has ``m`` = LLOQ and contributes
``-log P(t(y) + noise < t(LLOQ))``, e.g. ``-log Phi((t(LLOQ) - t(y))/sigma)`` for the normal family.

Invalid data (a non-positive measurement under a log transformation) raise :class:`InputError`;
values that make a row impossible (sigma <= 0, a non-positive simulation under a log transformation,
a non-finite simulation) give that row ``inf``, so that an optimiser sees an infeasible point.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

from ..errors import InputError

__all__ = ["DISTRIBUTIONS", "distribution_name", "nllh_terms", "chi2_terms", "residuals", "error_sigma"]

#: Noise models by name: (transformation, shape) with transformation lin/log/log10, shape normal/laplace.
DISTRIBUTIONS = {"normal": ("lin", "normal"), "lognormal": ("log", "normal"), "log10normal": ("log10", "normal"),
                 "laplace": ("lin", "laplace"), "loglaplace": ("log", "laplace"),
                 "log10laplace": ("log10", "laplace")}
_BY_PARTS = {v: k for k, v in DISTRIBUTIONS.items()}
_LN10 = float(np.log(10.0))


def distribution_name(transformation: str = "lin", noise_distribution: str = "normal") -> str:
    """The noise model of PEtab's ``observableTransformation`` and ``noiseDistribution`` (e.g. log10normal)."""
    key = (transformation or "lin", noise_distribution or "normal")
    if key not in _BY_PARTS:
        raise InputError(f"unsupported noise model: observableTransformation {key[0]!r} with noiseDistribution "
                         f"{key[1]!r} (use lin, log or log10 with normal or laplace)")
    return _BY_PARTS[key]


def _parts(distribution: str) -> tuple[str, str]:
    if distribution not in DISTRIBUTIONS:
        raise InputError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}; got {distribution!r}")
    return DISTRIBUTIONS[distribution]


def _transform(v: np.ndarray, how: str) -> np.ndarray:
    if how == "lin":
        return v
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(v) if how == "log" else np.log10(v)
    return np.where(v > 0, out, np.nan)


def _arrays(measured, simulated, sigma, how: str):
    m, y, s = np.broadcast_arrays(np.asarray(measured, float), np.asarray(simulated, float),
                                  np.asarray(sigma, float))
    if not np.isfinite(m).all():
        raise InputError("measurements must be finite numbers")
    if how != "lin" and (m <= 0).any():
        raise InputError(f"measurements must be > 0 under a {how} transformation; got {m[m <= 0].flat[0]:g}")
    return m, y, s


def _scaled(m, y, s, how):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (_transform(m, how) - _transform(y, how)) / s


def residuals(measured, simulated, sigma, distribution: str = "normal") -> np.ndarray:
    """Weighted residuals ``(t(m) - t(y)) / sigma`` (t: the distribution's transformation); NaN where undefined."""
    how, _ = _parts(distribution)
    m, y, s = _arrays(measured, simulated, sigma, how)
    r = _scaled(m, y, s, how)
    return np.where((s > 0) & np.isfinite(y), r, np.nan)


def chi2_terms(measured, simulated, sigma, distribution: str = "normal") -> np.ndarray:
    """Squared weighted residuals (PEtab's chi2 is their sum); inf where a residual is undefined."""
    r = residuals(measured, simulated, sigma, distribution)
    return np.where(np.isnan(r), np.inf, r * r)


def nllh_terms(measured: np.ndarray, simulated: np.ndarray, sigma: np.ndarray, distribution: str = "normal",
               censored: np.ndarray | None = None) -> np.ndarray:
    """Per-measurement negative log-likelihood (see the module docstring for the formulas).

    Parameters
    ----------
    measured, simulated, sigma : array_like
        Broadcast together; ``sigma`` on the transformed scale.
    distribution : str
        normal, lognormal, log10normal, laplace, loglaplace or log10laplace.
    censored : array_like of bool, optional
        Rows whose ``measured`` is a lower limit of quantification (M3 likelihood).
    """
    how, shape = _parts(distribution)
    m, y, s = _arrays(measured, simulated, sigma, how)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = _scaled(m, y, s, how)
        if shape == "normal":
            terms = 0.5 * np.log(2 * np.pi * s * s) + 0.5 * r * r
        else:
            terms = np.log(2 * s) + np.abs(r)
        if how == "log":
            terms = terms + np.log(m)
        elif how == "log10":
            terms = terms + np.log(m * _LN10)
        if censored is not None:
            c = np.broadcast_to(np.asarray(censored, bool), m.shape)
            if c.any():
                below = log_ndtr(r) if shape == "normal" else _laplace_logcdf(r)
                terms = np.where(c, -below, terms)
    bad = ~((s > 0) & np.isfinite(y) & ~np.isnan(r))
    return np.where(bad | np.isnan(terms), np.inf, terms)


def _laplace_logcdf(z: np.ndarray) -> np.ndarray:
    """log of the standard Laplace CDF at ``z``."""
    return np.where(z < 0, np.log(0.5) + np.minimum(z, 0), np.log1p(-0.5 * np.exp(-np.abs(z))))


def error_sigma(simulated, additive=None, proportional=None) -> np.ndarray:
    """Combined error model ``sqrt(a^2 + (b*y)^2)`` (either part may be omitted: purely additive or proportional)."""
    if additive is None and proportional is None:
        raise InputError("error_sigma needs an additive or a proportional part (or both)")
    y = np.asarray(simulated, float)
    a = np.zeros_like(y) if additive is None else np.asarray(additive, float)
    b = np.zeros_like(y) if proportional is None else np.asarray(proportional, float)
    return np.sqrt(a * a + (b * y) ** 2)
