"""Single-drug Hill (Emax) curves: forward, inverse and least-squares fit.

Convention of the package: effects rise with dose (TGI, fraction inhibited). A
Hill curve with ``Emax < E0`` (falling, e.g. viability) is still valid here;
only the classic reference models (Bliss, HSA, Loewe, ZIP) need rising effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ..errors import QSPError

__all__ = ["HillFit", "fit_hill", "hill", "hill_inverse"]


def hill(d, E0: float, Emax: float, h: float, C: float) -> np.ndarray:
    """Hill curve ``E0 + (Emax - E0) * d^h / (C^h + d^h)``.

    Parameters
    ----------
    d : array_like
        Doses (>= 0), in the drug's dose unit.
    E0, Emax : float
        Effect without drug and at saturating dose.
    h : float
        Hill slope (> 0).
    C : float
        EC50, in the dose unit (> 0).
    """
    d = np.asarray(d, dtype=float)
    x = np.power(np.clip(d, 0.0, None) / C, h)
    return E0 + (Emax - E0) * x / (1.0 + x)


def hill_inverse(E, E0: float, Emax: float, h: float, C: float) -> np.ndarray:
    """Dose giving effect ``E`` on a Hill curve: ``C * ((E - E0) / (Emax - E))^(1/h)``.

    0 at or before ``E0``; ``inf`` at or beyond ``Emax`` (the drug alone cannot reach it).
    """
    E = np.asarray(E, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (E - E0) / (Emax - E)
        out = C * np.power(np.where(ratio > 0, ratio, 0.0), 1.0 / h)
    span = Emax - E0
    frac = (E - E0) / span if span != 0 else np.full_like(E, np.nan)
    out = np.where(frac <= 0, 0.0, out)
    out = np.where(frac >= 1, np.inf, out)
    return np.where(np.isnan(E), np.nan, out)


@dataclass(frozen=True)
class HillFit:
    """A fitted Hill curve (``E0``, ``Emax``, slope ``h``, EC50 ``C``) and its residual cost."""

    E0: float
    Emax: float
    h: float
    C: float
    cost: float = 0.0

    def effect(self, d) -> np.ndarray:
        """Effect at dose(s) ``d``."""
        return hill(d, self.E0, self.Emax, self.h, self.C)

    def inverse(self, E) -> np.ndarray:
        """Dose(s) giving effect ``E`` (inf when beyond Emax)."""
        return hill_inverse(E, self.E0, self.Emax, self.h, self.C)

    def to_dict(self) -> dict:
        return {"E0": self.E0, "Emax": self.Emax, "h": self.h, "C": self.C, "cost": self.cost}


def fit_hill(d, E, *, E0: float | None = None, Emax: float | None = None,
             h_bounds: tuple[float, float] = (0.01, 100.0)) -> HillFit:
    """Least-squares Hill fit of single-drug data.

    Parameters
    ----------
    d, E : array_like
        Doses (>= 0) and effects, same length (at least 3 points, at least 2 positive doses).
    E0, Emax : float, optional
        Fix the baseline or the maximal effect instead of fitting it.
    h_bounds : (float, float)
        Bounds of the Hill slope.

    Returns
    -------
    HillFit

    Raises
    ------
    QSPError
        Too few or non-finite points.
    """
    d = np.asarray(d, dtype=float).ravel()
    E = np.asarray(E, dtype=float).ravel()
    if d.shape != E.shape:
        raise QSPError(f"fit_hill needs doses and effects of the same length. Got {d.size} and {E.size}.")
    ok = np.isfinite(d) & np.isfinite(E)
    d, E = d[ok], E[ok]
    pos = d[d > 0]
    if d.size < 3 or np.unique(pos).size < 2:
        raise QSPError("fit_hill needs at least 3 finite points with at least 2 distinct positive doses")
    span = float(np.ptp(E)) or 1.0
    lo_c, hi_c = np.log(pos.min() / 1e3), np.log(pos.max() * 1e3)
    order = np.argsort(d)
    e0_guess = float(E[order[0]]) if E0 is None else E0
    emax_guess = float(E[order[-1]]) if Emax is None else Emax
    free = [E0 is None, Emax is None]

    def unpack(p):
        k = 0
        e0, emax = E0, Emax
        if free[0]:
            e0, k = p[k], k + 1
        if free[1]:
            emax, k = p[k], k + 1
        return e0, emax, np.exp(p[k]), np.exp(p[k + 1])

    def resid(p):
        e0, emax, h, c = unpack(p)
        return hill(d, e0, emax, h, c) - E

    lo, hi = [], []
    for f in free:
        if f:
            lo.append(float(E.min()) - 2 * span)
            hi.append(float(E.max()) + 2 * span)
    lo += [np.log(h_bounds[0]), lo_c]
    hi += [np.log(h_bounds[1]), hi_c]
    best = None
    mid = 0.5 * (e0_guess + emax_guess)
    c_guess = float(np.interp(mid, *(np.sort(E), d[np.argsort(E)]))) if emax_guess != e0_guess else pos.mean()
    c_guess = min(max(c_guess, pos.min()), pos.max())
    for h0 in (1.0, 0.5, 2.0):
        x0 = [v for v, f in zip((e0_guess, emax_guess), free) if f] + [np.log(h0), np.log(c_guess)]
        x0 = np.clip(x0, np.array(lo) + 1e-12, np.array(hi) - 1e-12)
        sol = least_squares(resid, x0, bounds=(lo, hi), xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=5000)
        if best is None or sol.cost < best.cost:
            best = sol
    e0, emax, h, c = unpack(best.x)
    return HillFit(float(e0), float(emax), float(h), float(c), float(best.cost))
