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
    with np.errstate(over="ignore"):  # inf is capped below
        x1 = np.power(np.clip(d1, 0, None) / C1, h1)
        x2 = np.power(np.clip(d2, 0, None) / C2, h2)
        y2 = np.power(alpha12 * np.clip(d2, 0, None) / C2, h2)  # drug 2 acting on A1
        y1 = np.power(alpha21 * np.clip(d1, 0, None) / C1, h1)  # drug 1 acting on A2
    # Steady state of the cycle U - A1 - A12 - A2 - U by the matrix-tree theorem: the weight of a state
    # sums, over the 4 spanning trees (one edge removed), the product of the rates directed toward it.
    # Rates are capped so that products of three stay finite.
    cap = 1e100
    u_a1, a1_u = s1 * np.minimum(x1, cap), s1           # U <-> A1 (drug 1 binds / unbinds)
    u_a2, a2_u = s2 * np.minimum(x2, cap), s2           # U <-> A2
    a1_ab, ab_a1 = s2 * np.minimum(y2, cap), s2         # A1 <-> A12 (drug 2 on A1)
    a2_ab, ab_a2 = s1 * np.minimum(y1, cap), s1         # A2 <-> A12 (drug 1 on A2)
    w_u = a1_u * ab_a1 * a2_u + a1_u * ab_a2 * a2_u + a1_ab * ab_a2 * a2_u + a1_u * ab_a1 * a2_ab
    w_1 = u_a2 * a2_ab * ab_a1 + ab_a2 * a2_u * u_a1 + ab_a1 * a2_u * u_a1 + u_a1 * a2_ab * ab_a1
    w_2 = a1_ab * ab_a2 * u_a2 + a1_u * u_a2 * ab_a2 + ab_a1 * a1_u * u_a2 + u_a1 * a1_ab * ab_a2
    w_3 = a1_ab * u_a2 * a2_ab + a1_u * u_a2 * a2_ab + a2_u * u_a1 * a1_ab + u_a1 * a1_ab * a2_ab
    E = (E0 * w_u + E1 * w_1 + E2 * w_2 + E3 * w_3) / (w_u + w_1 + w_2 + w_3)
    return np.asarray(E, float).reshape(d1.shape)


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
    margin : float, default 0.1
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

    def __init__(self, *, E_bounds: tuple = (None, None), margin: float = 0.1,
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

    def _effect_bounds(self, E: np.ndarray, e_bounds) -> tuple[float, float]:
        span = float(np.ptp(E)) or 1.0
        lo, hi = e_bounds
        lo = float(E.min()) - self.margin * span if lo is None else float(lo)
        hi = float(E.max()) + self.margin * span if hi is None else float(hi)
        if not lo < hi:
            raise InputError(f"the effect bounds [{lo:g}, {hi:g}] are empty; the data span "
                             f"[{E.min():g}, {E.max():g}]")
        return lo, hi

    def fit_surface(self, surface, *, sample: int = 0, dense: bool = True) -> MuSyC:
        """Fit a :class:`~qsp.synergy.surface.DoseResponseSurface` (one parameter set); returns self.

        ``dense``: add the surface's dense single-treatment curves to the grid points (they pin the
        single-drug Emax that a grid up to, say, the EC70 cannot). For a TGI surface the effects are
        bounded above by 1 unless ``E_bounds`` says otherwise. The grid needs dose 0 of each drug when
        ``dense`` is False.
        """
        if not 0 <= sample < surface.n_samples:
            raise InputError(f"sample must be in [0, {surface.n_samples}). Got {sample!r}.")
        g1, g2 = np.meshgrid(surface.d1, surface.d2, indexing="ij")
        d1, d2, E = [g1.ravel()], [g2.ravel()], [surface.effect[sample].ravel()]
        if dense:
            d1 += [surface.mono1, np.zeros(surface.mono2.size)]
            d2 += [np.zeros(surface.mono1.size), surface.mono2]
            E += [surface.mono1_effect[sample], surface.mono2_effect[sample]]
        d1, d2, E = (np.concatenate(a) for a in (d1, d2, E))
        ok = np.isfinite(E)
        low, high = self.E_bounds
        if surface.response == "TGI" and high is None:
            high = 1.0
        return self._fit(d1[ok], d2[ok], E[ok], (low, high))

    def fit(self, d1, d2, E) -> MuSyC:
        """Fit the model to flat arrays of doses and effects; returns self."""
        return self._fit(d1, d2, E, self.E_bounds)

    def _fit(self, d1, d2, E, e_bounds, stacklevel: int = 3) -> MuSyC:
        d1, d2, E = check_flat(d1, d2, E)
        m1, m2 = (d2 == 0), (d1 == 0)
        if m1.sum() < 3 or m2.sum() < 3:
            raise QSPError("MuSyC.fit needs single-drug data: at least 3 points with d2 = 0 and 3 with d1 = 0")
        f1, f2 = fit_hill(d1[m1], E[m1]), fit_hill(d2[m2], E[m2])
        elo, ehi = self._effect_bounds(E, e_bounds)
        p1, p2 = d1[d1 > 0], d2[d2 > 0]
        lo = [elo] * 4 + [np.log(self.h_bounds[0])] * 2 + [np.log(p1.min() / 1e3), np.log(p2.min() / 1e3)] \
            + [np.log(self.alpha_bounds[0])] * 2
        hi = [ehi] * 4 + [np.log(self.h_bounds[1])] * 2 + [np.log(p1.max() * 1e3), np.log(p2.max() * 1e3)] \
            + [np.log(self.alpha_bounds[1])] * 2
        lo, hi = np.array(lo), np.array(hi)
        combo = (d1 > 0) & (d2 > 0)
        if combo.any():  # the combination point with the largest doses starts E3
            k = np.argmax(np.where(combo, d1 / d1.max() + d2 / d2.max(), -np.inf))
            e3 = float(E[k])
        else:
            e3 = float(E.max())

        def resid(p):
            return musyc_surface(d1, d2, p[0], p[1], p[2], p[3], *np.exp(p[4:]), ) - E

        best = None
        a = np.log(5)
        for la12, la21 in ((0.0, 0.0), (a, a), (-a, -a), (a, -a), (-a, a)):  # starts: alpha = 1, 5, 1/5
            x0 = np.array([0.5 * (f1.E0 + f2.E0), f1.Emax, f2.Emax, e3, np.log(f1.h), np.log(f2.h),
                           np.log(f1.C), np.log(f2.C), la12, la21])
            span = hi - lo
            x0 = np.clip(x0, lo + 1e-6 * span, hi - 1e-6 * span)
            sol = least_squares(resid, x0, bounds=(lo, hi), xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=4000)
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
                          QSPWarning, stacklevel=stacklevel)
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

    def _repr_html_(self) -> str:
        from ..display import table_html

        if not hasattr(self, "params_"):
            return table_html("MuSyC", None, "not fitted yet; call fit(d1, d2, E)")
        at = f", at a bound: {', '.join(self.at_bound_)}" if self.at_bound_ else ""
        return table_html("MuSyC", self.parameters(), f"{len(self.d1_)} points, beta {self.beta_:.4g}{at}")

    def parameters(self) -> pd.DataFrame:
        """One row per parameter (and beta): value, lower and upper bound, whether the fit ended at a bound."""
        rows = [{"parameter": k, "value": v, "lower": self.bounds_[k][0], "upper": self.bounds_[k][1],
                 "at_bound": k in self.at_bound_} for k, v in self.params_.items()]
        rows.append({"parameter": "beta", "value": self.beta_, "lower": np.nan, "upper": np.nan,
                     "at_bound": bool({"E1", "E2", "E3"} & set(self.at_bound_))})
        return pd.DataFrame(rows)
