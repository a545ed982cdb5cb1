"""Terminal elimination rate constant (λz) by the adjusted-R² "best fit" rule.

The log concentration is regressed on time over the last n points of the profile that lie after
Cmax (Cmax itself is left out unless asked for), for every n >= ``min_points``. Only positive
concentrations take part. The fit with the largest adjusted R²,

    adj R² = 1 - (1 - R²) (n - 1) / (n - 2),

is chosen; among the fits whose adjusted R² is within ``tolerance`` (1e-4) of the best, the one
with the most points wins. Fits with a non-negative slope are never chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TerminalFit", "fit_terminal", "ADJ_R2_TOLERANCE", "MIN_POINTS"]

ADJ_R2_TOLERANCE = 1e-4
MIN_POINTS = 3


@dataclass(frozen=True)
class TerminalFit:
    """The chosen terminal regression ln C = intercept - lambda_z * t.

    Attributes
    ----------
    lambda_z : float
        Terminal rate constant (1/time unit); NaN when it cannot be estimated.
    intercept : float
        ln C at t = 0 of the regression line (ln of the concentration unit).
    n_points : int
        Points in the regression (0 when none was chosen).
    r2, adj_r2 : float
        R² and adjusted R² of the chosen regression.
    t_start, t_end : float
        First and last time of the regression (time unit).
    note : str
        Why λz is NaN ('' when it was estimated).
    """

    lambda_z: float
    intercept: float
    n_points: int
    r2: float
    adj_r2: float
    t_start: float
    t_end: float
    note: str = ""

    @property
    def ok(self) -> bool:
        """True when λz was estimated."""
        return bool(np.isfinite(self.lambda_z))

    def predict(self, t: np.ndarray) -> np.ndarray:
        """Concentration on the regression line at times ``t`` (concentration unit)."""
        return np.exp(self.intercept - self.lambda_z * np.asarray(t, dtype=float))


def _failed(note: str) -> TerminalFit:
    nan = float("nan")
    return TerminalFit(nan, nan, 0, nan, nan, nan, nan, note)


def _regress(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares slope, intercept and R² of y on t."""
    tm, ym = t.mean(), y.mean()
    dt, dy = t - tm, y - ym
    sxx, syy = float(dt @ dt), float(dy @ dy)
    slope = float(dt @ dy) / sxx
    intercept = ym - slope * tm
    if syy == 0.0:
        return slope, intercept, 1.0
    resid = dy - slope * dt
    return slope, intercept, 1.0 - float(resid @ resid) / syy


def fit_terminal(time: np.ndarray, conc: np.ndarray, *, include_cmax: bool = False,
                 min_points: int = MIN_POINTS, tolerance: float = ADJ_R2_TOLERANCE) -> TerminalFit:
    """Choose the terminal phase of one profile and estimate λz.

    Parameters
    ----------
    time : array
        Sampling times (time unit), strictly increasing.
    conc : array
        Concentrations (concentration unit), >= 0.
    include_cmax : bool
        Let the regression start at Cmax (default: only points after Cmax).
    min_points : int
        Fewest points in a regression (at least 3).
    tolerance : float
        Adjusted-R² margin within which a fit with more points is preferred.

    Returns
    -------
    TerminalFit
        With NaN λz and a ``note`` when fewer than ``min_points`` positive points follow Cmax or
        no candidate regression declines.
    """
    t = np.asarray(time, dtype=float)
    c = np.asarray(conc, dtype=float)
    min_points = max(int(min_points), 3)
    if len(c) == 0 or not np.any(c > 0):
        return _failed("no positive concentration")
    imax = int(np.argmax(c))
    start = imax if include_cmax else imax + 1
    keep = np.arange(len(c)) >= start
    keep &= c > 0
    tt, yy = t[keep], np.log(c[keep])
    where = "from Cmax on" if include_cmax else "after Cmax"
    if len(tt) < min_points:
        return _failed(f"lambda_z not estimated: {len(tt)} positive points {where}, {min_points} needed")
    best: tuple[float, int, float, float, float] | None = None
    fits: list[tuple[float, int, float, float, float]] = []
    for n in range(min_points, len(tt) + 1):
        slope, intercept, r2 = _regress(tt[-n:], yy[-n:])
        if not slope < 0:
            continue
        adj = 1.0 - (1.0 - r2) * (n - 1) / (n - 2)
        fits.append((adj, n, slope, intercept, r2))
    if not fits:
        return _failed(f"lambda_z not estimated: no declining terminal regression {where}")
    top = max(f[0] for f in fits)
    best = max((f for f in fits if f[0] >= top - tolerance), key=lambda f: f[1])
    adj, n, slope, intercept, r2 = best
    return TerminalFit(-slope, intercept, n, r2, adj, float(tt[-n]), float(tt[-1]))
