"""Loewe additivity and the combination index CI = d1/D1(E) + d2/D2(E) (< 1 synergy).

D_i(E) is the dose of drug i alone that gives the combination's effect E, from Hill fits of
the single-drug data (analytic inverse). Where a drug used in the combination cannot reach E
alone, D_i is infinite and the CI is NaN (reported in ``n_undefined_``). The reference surface
solves d1/D1(E) + d2/D2(E) = 1 for E (defined up to the weaker drug's Emax).
Loewe 1953; Chou & Talalay 1984, doi:10.1016/0065-2571(84)90007-4.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from .result import SynergyModel, check_flat
from .single import single_fits

__all__ = ["Loewe", "combination_index"]


def combination_index(d1, d2, D1, D2) -> np.ndarray:
    """``d1/D1 + d2/D2``; a term with zero dose counts 0 even when D is infinite.

    NaN when a drug used in the combination cannot reach the effect alone (D infinite) and at (0, 0).
    """
    d1, d2, D1, D2 = (np.asarray(a, dtype=float) for a in (d1, d2, D1, D2))
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(d1 == 0, 0.0, d1 / D1)
        t2 = np.where(d2 == 0, 0.0, d2 / D2)
    ci = t1 + t2
    bad = ((d1 > 0) & ~np.isfinite(D1)) | ((d2 > 0) & ~np.isfinite(D2)) | ((d1 == 0) & (d2 == 0))
    return np.where(bad, np.nan, ci)


class Loewe(SynergyModel):
    """Loewe combination index from Hill fits of the single drugs.

    Parameters
    ----------
    E0 : float, optional
        Fix the single-drug baseline (e.g. 0 for TGI); default: fitted.

    Attributes
    ----------
    synergy_ : ndarray
        CI at each point (1 additive, < 1 synergy; NaN where undefined).
    reference_ : ndarray
        Loewe-additive effect at each point (NaN beyond the weaker drug's Emax).
    fits_ : (HillFit, HillFit)
    """

    kind = "loewe"
    score_name = "ci"

    def __init__(self, *, E0: float | None = None):
        self.E0 = E0

    def fit(self, d1, d2, E) -> Loewe:
        """Score flat combination data; returns self."""
        d1, d2, E = check_flat(d1, d2, E)
        f1, f2 = single_fits(d1, d2, E, E0=self.E0)
        self.fits_ = (f1, f2)
        self.d1_, self.d2_, self.effect_ = d1, d2, E
        self.synergy_ = combination_index(d1, d2, f1.inverse(E), f2.inverse(E))
        self.n_undefined_ = int(np.isnan(self.synergy_).sum())
        self.reference_ = np.array([self._null(a, b) for a, b in zip(d1, d2)])
        return self

    def _null(self, a: float, b: float) -> float:
        f1, f2 = self.fits_
        if a == 0:
            return float(f2.effect(b))
        if b == 0:
            return float(f1.effect(a))
        lo = max(f1.E0, f2.E0) if f1.Emax > f1.E0 else min(f1.E0, f2.E0)
        hi = min(f1.Emax, f2.Emax) if f1.Emax > f1.E0 else max(f1.Emax, f2.Emax)

        def g(e):
            return float(combination_index(a, b, f1.inverse(e), f2.inverse(e))) - 1.0

        eps = 1e-12 * max(1.0, abs(hi - lo))
        try:
            if not (np.isfinite(g(lo + eps)) and np.isfinite(g(hi - eps))):
                return float("nan")
            if g(lo + eps) * g(hi - eps) > 0:
                return float("nan")
            return brentq(g, lo + eps, hi - eps, xtol=1e-14)
        except (ValueError, ZeroDivisionError):
            return float("nan")
