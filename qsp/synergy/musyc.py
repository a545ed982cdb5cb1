"""MuSyC: the two-drug surface of a four-state occupancy model, and its least-squares fit.

States U (no drug acting), A1, A2, A12 with effects E0, E1, E2, E3. Drug 2 acting on
A1 sees its dose scaled by ``alpha12`` (and drug 1 on A2 by ``alpha21``); the observed
effect is the steady-state occupancy-weighted mean (Meyer et al. 2019, doi:10.1016/j.cels.2019.01.003;
Wooten et al. 2021, doi:10.1038/s41467-021-24789-z). Cooperativity gamma is fixed at 1 and the
rate constants s1 = s2 = 1.

Works with: :class:`qsp.synergy.surface.DoseResponseSurface` (``to_pandas()`` gives d1, d2, effect).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from ..errors import InputError, QSPError, QSPWarning
from .hill import fit_hill
from .result import SynergyModel, check_flat

__all__ = ["PARAMETERS", "MuSyC", "musyc_closed_form", "musyc_surface"]

PARAMETERS = ("E0", "E1", "E2", "E3", "h1", "h2", "C1", "C2", "alpha12", "alpha21")


def musyc_surface(d1, d2, E0, E1, E2, E3, h1, h2, C1, C2, alpha12=1.0, alpha21=1.0,
                  s1: float = 1.0, s2: float = 1.0) -> np.ndarray:
    """MuSyC effect at doses ``(d1, d2)``: steady state of the four-state chain (gamma = 1).

    Parameters
    ----------
    d1, d2 : array_like
        Doses (>= 0), broadcast together.
    E0, E1, E2, E3 : float
        Effects of the states U, A1, A2, A12.
    h1, h2, C1, C2 : float
        Hill slopes and EC50s of the single drugs.
    alpha12, alpha21 : float
        Potency synergy: drug 1 multiplies drug 2's effective dose by alpha12, and vice versa.
    s1, s2 : float
        Off rates (only matter when detailed balance fails).
    """
    d1, d2 = np.broadcast_arrays(np.asarray(d1, float), np.asarray(d2, float))
    x1 = np.power(np.clip(d1, 0, None) / C1, h1)
    x2 = np.power(np.clip(d2, 0, None) / C2, h2)
    y2 = np.power(alpha12 * np.clip(d2, 0, None) / C2, h2)  # drug 2 acting on A1
    y1 = np.power(alpha21 * np.clip(d1, 0, None) / C1, h1)  # drug 1 acting on A2
    n = d1.size
    # generator Q[i, j] = rate i -> j, states (U, A1, A2, A12); solve pi Q = 0, sum pi = 1
    Q = np.zeros((n, 4, 4))
    Q[:, 0, 1] = s1 * x1.ravel()
    Q[:, 0, 2] = s2 * x2.ravel()
    Q[:, 1, 0] = s1
    Q[:, 1, 3] = s2 * y2.ravel()
    Q[:, 2, 0] = s2
    Q[:, 2, 3] = s1 * y1.ravel()
    Q[:, 3, 1] = s2
    Q[:, 3, 2] = s1
    Q[:, range(4), range(4)] = -Q.sum(axis=2)
    A = np.transpose(Q, (0, 2, 1)).copy()
    A[:, 3, :] = 1.0
    b = np.zeros((n, 4))
    b[:, 3] = 1.0
    pi = np.linalg.solve(A, b[..., None])[..., 0]
    E = pi @ np.array([E0, E1, E2, E3], dtype=float)
    return E.reshape(d1.shape)


def musyc_closed_form(d1, d2, E0, E1, E2, E3, h1, h2, C1, C2, alpha21=1.0) -> np.ndarray:
    """MuSyC surface under detailed balance (``alpha12^h2 == alpha21^h1``, gamma = 1)."""
    d1, d2 = np.broadcast_arrays(np.asarray(d1, float), np.asarray(d2, float))
    x1 = np.power(d1 / C1, h1)
    x2 = np.power(d2 / C2, h2)
    a = alpha21 ** h1
    return (E0 + E1 * x1 + E2 * x2 + E3 * a * x1 * x2) / (1 + x1 + x2 + a * x1 * x2)


class MuSyC(SynergyModel):
    """Fit the MuSyC surface to combination data (scipy least squares, bounded, multi-start).

    Parameters
    ----------
    E_bounds : (float or None, float or None), optional
        Bounds of the effects E0, E1, E2, E3 (response units). ``None`` (either end): the data's range
        widened by ``margin`` times its span. For a TGI or another fraction that cannot exceed 1, pass
        ``(None, 1.0)``. A fitted effect at a bound is reported in ``at_bound_`` and by a QSPWarning.
    margin : float, default 0.05
        Widening of the data's range for the data-based effect bounds (fraction of its span).
    alpha_bounds : (float, float), default (1e-4, 1e4)
        Bounds of alpha12 and alpha21.
    h_bounds : (float, float), default (0.01, 100)
        Bounds of the Hill slopes.

    Attributes
    ----------
    params_ : dict
        E0, E1, E2, E3, h1, h2, C1, C2, alpha12, alpha21 (fitted).
    bounds_ : dict
        Parameter -> (lower, upper) used in the fit.
    at_bound_ : list of str
        Parameters that ended at (within 1e-6 of the span of) a bound: the data do not pin them.
    beta_ : float
        Synergistic efficacy: extra maximal effect of the combination over the stronger drug, in units
        of that drug's own effect range (> 0 synergy), for rising or falling effects alike.
    reference_ : ndarray
        MuSyC null surface at the data points (alpha = 1, E3 = stronger single-drug Emax).
    synergy_ : ndarray
        Fitted surface minus the null, signed so that > 0 is synergy.
    """

    kind = "musyc"

    def __init__(self, *, E_bounds: tuple = (None, None), margin: float = 0.05,
                 alpha_bounds: tuple[float, float] = (1e-4, 1e4), h_bounds: tuple[float, float] = (0.01, 100.0)):
        try:
            lo, hi = E_bounds
        except (TypeError, ValueError):
            raise InputError(f"E_bounds must be a pair (low, high), each a number or None. Got {E_bounds!r}.") from None
        if lo is not None and hi is not None and not float(lo) < float(hi):
            raise InputError(f"E_bounds must have low < high. Got {E_bounds!r}.")
        if not (isinstance(margin, (int, float)) and 0 <= margin <= 1):
            raise InputError(f"margin must be a number in [0, 1]. Got {margin!r}.")
        self.E_bounds = (lo, hi)
        self.margin = float(margin)
        self.alpha_bounds = alpha_bounds
        self.h_bounds = h_bounds

    def _effect_bounds(self, E: np.ndarray) -> tuple[float, float]:
        span = float(np.ptp(E)) or 1.0
        lo, hi = self.E_bounds
        lo = float(E.min()) - self.margin * span if lo is None else float(lo)
        hi = float(E.max()) + self.margin * span if hi is None else float(hi)
        if not lo < hi:
            raise InputError(f"the effect bounds [{lo:g}, {hi:g}] are empty; the data span "
                             f"[{E.min():g}, {E.max():g}]")
        return lo, hi

    def fit(self, d1, d2, E) -> MuSyC:
        """Fit the model to flat arrays of doses and effects; returns self."""
        d1, d2, E = check_flat(d1, d2, E)
        m1, m2 = (d2 == 0), (d1 == 0)
        if m1.sum() < 3 or m2.sum() < 3:
            raise QSPError("MuSyC.fit needs single-drug data: at least 3 points with d2 = 0 and 3 with d1 = 0")
        f1, f2 = fit_hill(d1[m1], E[m1]), fit_hill(d2[m2], E[m2])
        elo, ehi = self._effect_bounds(E)
        p1, p2 = d1[d1 > 0], d2[d2 > 0]
        lo = [elo] * 4 + [np.log(self.h_bounds[0])] * 2 + [np.log(p1.min() / 1e3), np.log(p2.min() / 1e3)] \
            + [np.log(self.alpha_bounds[0])] * 2
        hi = [ehi] * 4 + [np.log(self.h_bounds[1])] * 2 + [np.log(p1.max() * 1e3), np.log(p2.max() * 1e3)] \
            + [np.log(self.alpha_bounds[1])] * 2
        lo, hi = np.array(lo), np.array(hi)
        top = (d1 == d1.max()) & (d2 == d2.max())
        e3 = float(E[top].mean())

        def resid(p):
            return musyc_surface(d1, d2, p[0], p[1], p[2], p[3], *np.exp(p[4:]), ) - E

        best = None
        for la12 in (0.0, np.log(5), -np.log(5)):
            for la21 in (0.0, np.log(5), -np.log(5)):
                x0 = np.array([0.5 * (f1.E0 + f2.E0), f1.Emax, f2.Emax, e3, np.log(f1.h), np.log(f2.h),
                               np.log(f1.C), np.log(f2.C), la12, la21])
                span = hi - lo
                x0 = np.clip(x0, lo + 1e-6 * span, hi - 1e-6 * span)
                sol = least_squares(resid, x0, bounds=(lo, hi), xtol=1e-12, ftol=1e-12, gtol=1e-12,
                                    max_nfev=4000)
                if best is None or sol.cost < best.cost:
                    best = sol
        p = best.x
        self.params_ = dict(zip(PARAMETERS, [float(v) for v in p[:4]] + [float(v) for v in np.exp(p[4:])]))
        natural = np.concatenate([lo[:4], np.exp(lo[4:])]), np.concatenate([hi[:4], np.exp(hi[4:])])
        self.bounds_ = {k: (float(a), float(b)) for k, a, b in zip(PARAMETERS, *natural)}
        tol = 1e-6 * (hi - lo)
        self.at_bound_ = [k for k, v, a, b, t in zip(PARAMETERS, p, lo, hi, tol) if v - a <= t or b - v <= t]
        if self.at_bound_:
            shown = ", ".join(f"{k} = {self.params_[k]:.4g}" for k in self.at_bound_)
            warnings.warn(f"MuSyC fit: {shown} at a bound (the data do not pin them; see bounds_)",
                          QSPWarning, stacklevel=2)
        self.cost_ = float(best.cost)
        self.d1_, self.d2_, self.effect_ = d1, d2, E
        self.reference_ = self._null(d1, d2)
        fitted = self.predict(d1, d2)
        self.synergy_ = self._sign * (fitted - self.reference_)
        return self

    @property
    def _sign(self) -> float:
        p = self.params_
        return 1.0 if max(p["E1"], p["E2"]) >= p["E0"] or min(p["E1"], p["E2"]) > p["E0"] else -1.0

    @property
    def beta_(self) -> float:
        p = self.params_
        if self._sign > 0:
            best = max(p["E1"], p["E2"])
            return (p["E3"] - best) / (best - p["E0"])
        best = min(p["E1"], p["E2"])
        return (best - p["E3"]) / (p["E0"] - best)

    def predict(self, d1, d2) -> np.ndarray:
        """Fitted surface at doses (d1, d2)."""
        p = self.params_
        return musyc_surface(d1, d2, **p)

    def _null(self, d1, d2) -> np.ndarray:
        p = dict(self.params_)
        p["E3"] = max(p["E1"], p["E2"]) if self._sign > 0 else min(p["E1"], p["E2"])
        p["alpha12"] = p["alpha21"] = 1.0
        return musyc_surface(d1, d2, **p)

    def parameters(self) -> pd.DataFrame:
        """One row per parameter (and beta): value, lower and upper bound, whether the fit ended at a bound."""
        rows = [{"parameter": k, "value": v, "lower": self.bounds_[k][0], "upper": self.bounds_[k][1],
                 "at_bound": k in self.at_bound_} for k, v in self.params_.items()]
        rows.append({"parameter": "beta", "value": self.beta_, "lower": np.nan, "upper": np.nan,
                     "at_bound": bool({"E1", "E2", "E3"} & set(self.at_bound_))})
        return pd.DataFrame(rows)
