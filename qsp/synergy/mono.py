"""Single-treatment response curves: monotone interpolation and exact inversion, and the check that an
effect rises with dose."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

from ..errors import InputError, QSPError

__all__ = ["MonoCurve", "check_rising"]


class MonoCurve:
    """A single-treatment response curve (dense, simulated) with exact-interpolant inversion.

    The curve is a monotone (PCHIP) interpolant through the simulated levels, in log dose above the
    smallest positive level and linear from dose 0 to it; the dose giving
    effect ``e`` is its first crossing (root-found), ``inf`` when ``e`` exceeds the largest
    simulated effect (the treatment alone cannot reach it within the simulated range).
    """

    def __init__(self, doses, effects):
        d = np.asarray(doses, dtype=float)
        e = np.asarray(effects, dtype=float)
        ok = np.isfinite(d) & np.isfinite(e)
        order = np.argsort(d[ok])
        d, e = d[ok][order], e[ok][order]
        d, keep = np.unique(d, return_index=True)
        e = e[keep]
        if d.size < 3:
            raise QSPError("a single-treatment curve needs at least 3 finite points")
        self.doses, self.effects = d, e
        pos = d > 0
        # Dose-response curves are smooth in log dose: interpolate there (exact at the knots, far smaller
        # error between log-spaced knots), and linearly between dose 0 and the smallest positive dose.
        self._log = int(pos.sum()) >= 3
        if self._log:
            # doses a rounding apart (a grid's end and a dense curve's) can share a log: keep the first
            log_d, first = np.unique(np.log(d[pos]), return_index=True)
            self._g = PchipInterpolator(log_d, e[pos][first], extrapolate=False)
            self._zero = (float(d[0]), float(e[0])) if not pos[0] else None
            self._dmin, self._emin = float(d[pos][0]), float(e[pos][0])
        else:
            self._g = PchipInterpolator(d, e, extrapolate=False)
        self.max_dose = float(d[-1])

    def _f(self, x):
        x = np.asarray(x, dtype=float)
        if not self._log:
            return self._g(x)
        out = np.full(x.shape, np.nan)
        hi = x >= self._dmin
        with np.errstate(divide="ignore", invalid="ignore"):
            out[hi] = self._g(np.log(x[hi]))
        if self._zero is not None:
            lo = (x >= 0) & ~hi
            d0, e0 = self._zero
            out[lo] = e0 + (self._emin - e0) * (x[lo] - d0) / (self._dmin - d0)
        return out[()] if out.ndim == 0 else out

    def effect(self, d) -> np.ndarray:
        """Effect at dose(s) within the simulated range (NaN outside)."""
        return self._f(np.asarray(d, dtype=float))

    def inverse(self, E) -> np.ndarray:
        """Smallest dose giving effect ``E`` (0 at or below the zero-dose effect, inf when unreachable)."""
        scalar = np.ndim(E) == 0
        E = np.atleast_1d(np.asarray(E, dtype=float))
        out = np.full(E.shape, np.nan)
        d, e = self.doses, self.effects
        run_max = np.maximum.accumulate(e)
        for k, target in enumerate(E.ravel()):
            if not np.isfinite(target):
                continue
            if target <= e[0]:
                out.flat[k] = d[0]
                continue
            if target > run_max[-1]:
                out.flat[k] = np.inf
                continue
            j = int(np.searchsorted(run_max, target))  # first knot with effect >= target
            if e[j] == target:
                out.flat[k] = d[j]
                continue
            a, b = d[j - 1], d[j]
            out.flat[k] = brentq(lambda x, target=target: float(self._f(x)) - target, a, b, xtol=1e-13 * max(b, 1e-300),
                                 rtol=1e-13)
        return float(out[0]) if scalar else out

    def ec(self, level: float) -> float:
        """Dose giving effect ``level`` (e.g. EC50 for level 0.5 on a TGI scale)."""
        return float(self.inverse(float(level)))


def check_rising(doses, effects, treatment: str, what: str, metric=None) -> None:
    """Refuse a response that falls with the dose of ``treatment``.

    ``effects`` has one row per parameter set over the ``doses`` (the dense single-treatment levels with
    the untreated run at dose 0). The synergy scores and MOOCS-DS indices need an effect that rises with
    dose from the untreated value; a response whose effect at the highest level is below the effect at
    the lowest level (in any parameter set) is refused in one line that names ``what`` (the response) and
    suggests a TGI of ``metric``'s output when it is a ``value_at`` metric.

    Raises
    ------
    InputError
        The effect falls with dose.
    """
    d = np.asarray(doses, dtype=float)
    e = np.atleast_2d(np.asarray(effects, dtype=float))
    order = np.argsort(d, kind="stable")
    d, e = d[order], e[:, order]
    for k, row in enumerate(e):
        ok = np.flatnonzero(np.isfinite(row))
        if ok.size < 2:
            continue
        lo, hi = row[ok[0]], row[ok[-1]]
        if hi < lo - 1e-9 * max(1.0, abs(lo)):
            tgi = (f"tgi:{metric.output}:{metric.kwargs['at']:g}" if metric is not None
                   and metric.function == "value_at" else "tgi:OUTPUT:TIME")
            where = f" (parameter set {k})" if len(e) > 1 else ""
            raise InputError(f"{what} falls with the dose of {treatment}{where}: {lo:.4g} at dose {d[ok[0]]:g}, "
                             f"{hi:.4g} at {d[ok[-1]]:g}; synergy scores need an effect that rises with dose, "
                             f"e.g. {tgi} (tumour growth inhibition)")
