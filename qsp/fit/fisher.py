"""Wald intervals from the curvature of the objective at the optimum (the observed Fisher information).

The Hessian of ``nllh`` on the parameter scale comes from central differences of the objective's
gradient, or from the Gauss-Newton approximation ``J^T J`` of its weighted residuals when the objective
gives residuals (and no prior). Its inverse is the covariance; directions whose eigenvalue is zero or
tiny compared to the largest (or negative: not a minimum) are flagged, and the parameters that load on
them get infinite standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import InputError
from .objective import Objective
from .uncertainty_common import check_objective, check_point, linear_columns

__all__ = ["fisher_intervals", "hessian", "FISHER_COLUMNS", "FISHER_METHODS"]

FISHER_METHODS = ("auto", "finite-differences", "gauss-newton")
#: Columns of the table before the correlation columns (``corr:<id>``, one per parameter).
FISHER_COLUMNS = ("parameter", "scale", "estimate", "se", "lower", "upper", "estimate_linear", "lower_linear",
                  "upper_linear", "eigenvalue", "flag")
#: Loading (squared eigenvector component) above which a parameter takes part in a direction.
LOADING = 0.1


def hessian(objective: Objective, x: np.ndarray, *, method: str = "auto", step: float = 1e-3
            ) -> tuple[np.ndarray, str]:
    """(Hessian of nllh at ``x`` on the parameter scale, the method used).

    ``step``: finite-difference step, relative to ``max(1, |x_i|)`` and kept within the bounds (a
    one-sided difference at a bound).
    """
    if method not in FISHER_METHODS:
        raise InputError(f"method must be one of {', '.join(map(repr, FISHER_METHODS))}. Got {method!r}.")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step < 1:
        raise InputError(f"step must be a number in (0, 1). Got {step!r}.")
    x = np.asarray(x, float)
    if method in ("auto", "gauss-newton"):
        r = objective.residuals(x)
        if r is not None and not (method == "auto" and objective.with_prior):
            jac = _differences(lambda z: np.asarray(objective.residuals(z), float), objective, x, step)
            return jac.T @ jac, "gauss-newton"
        if method == "gauss-newton":
            raise InputError("method 'gauss-newton' needs an objective that gives residuals")
    dg = _differences(lambda z: np.asarray(objective.gradient(z), float), objective, x, step)
    return 0.5 * (dg + dg.T), "finite-differences"


def _differences(fn, objective: Objective, x: np.ndarray, step: float) -> np.ndarray:
    """Jacobian of ``fn`` at ``x``: column j from a central difference in x_j (one-sided at a bound)."""
    lo, hi = objective.space.lower, objective.space.upper
    cols = []
    for j in range(len(x)):
        h = step * max(1.0, abs(x[j]))
        up, down = x.copy(), x.copy()
        if x[j] + h > hi[j]:
            up[j], down[j], denom = x[j], x[j] - h, h
        elif x[j] - h < lo[j]:
            up[j], down[j], denom = x[j] + h, x[j], h
        else:
            up[j], down[j], denom = x[j] + h, x[j] - h, 2 * h
        cols.append((fn(up) - fn(down)) / denom)
    return np.column_stack(cols)


def fisher_intervals(objective: Objective, x_best, confidence: float = 0.95, *, method: str = "auto",
                     step: float = 1e-3, rcond: float = 1e-8) -> pd.DataFrame:
    """Wald intervals ``estimate +- z * se`` of every estimated parameter, on its scale and linear.

    Parameters
    ----------
    objective : Objective
    x_best : array
        The optimum on the parameter scale.
    confidence : float
        Interval level (z = 1.96 for 0.95).
    method : 'auto', 'finite-differences' or 'gauss-newton'
        'auto': Gauss-Newton when the objective gives residuals and has no prior, else finite
        differences of the gradient.
    step : float
        Relative finite-difference step on the parameter scale.
    rcond : float
        A direction whose Hessian eigenvalue is below ``rcond`` times the largest is singular.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: :data:`FISHER_COLUMNS` (``eigenvalue``: the smallest Hessian eigenvalue
        among the directions the parameter takes part in; ``flag``: '' or why its interval cannot be
        trusted), then ``corr:<id>`` columns holding the correlation matrix. ``attrs`` has ``method``,
        ``condition`` (largest / smallest eigenvalue) and ``confidence``.
    """
    from scipy.stats import norm

    check_objective(objective)
    x = check_point(objective, x_best)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise InputError(f"confidence must be a number between 0 and 1. Got {confidence!r}.")
    H, used = hessian(objective, x, method=method, step=step)
    if not np.isfinite(H).all():
        raise InputError("the Hessian at x_best is not finite (the objective fails next to x_best)")
    lam, vec = np.linalg.eigh(H)
    top = max(float(np.max(np.abs(lam))), np.finfo(float).tiny)
    singular = lam <= rcond * top
    cov = (vec[:, ~singular] / lam[~singular]) @ vec[:, ~singular].T
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    flags, eig = [], []
    for i in range(len(x)):
        takes_part = vec[i, :] ** 2 >= LOADING
        k = int(np.argmin(np.where(takes_part, lam, np.inf)))
        eig.append(float(lam[k]))
        if takes_part[k] and lam[k] < 0:
            flags.append(f"not a minimum: negative curvature (eigenvalue {lam[k]:.3g})")
        elif takes_part[k] and singular[k]:
            flags.append(f"singular direction (eigenvalue {lam[k]:.3g})")
        elif lam[k] <= 1e3 * rcond * top:
            flags.append(f"ill-conditioned direction (eigenvalue {lam[k]:.3g})")
        else:
            flags.append("")
        if flags[-1] and not flags[-1].startswith("ill"):
            se[i] = math.inf
    z = float(norm.ppf(0.5 + confidence / 2))
    space = objective.space
    df = pd.DataFrame({"parameter": list(space.ids), "scale": list(space.scales), "estimate": x, "se": se,
                       "lower": x - z * se, "upper": x + z * se})
    df = linear_columns(df, ["estimate", "lower", "upper"], list(space.scales))
    df["eigenvalue"] = eig
    df["flag"] = flags
    df = df[list(FISHER_COLUMNS)]
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.sqrt(np.diag(cov))
        corr = cov / np.outer(d, d)
    corr[~np.isfinite(se), :] = np.nan
    corr[:, ~np.isfinite(se)] = np.nan
    for j, pid in enumerate(space.ids):
        df[f"corr:{pid}"] = corr[:, j]
    small = float(np.min(np.abs(lam)))
    df.attrs.update(method=used, condition=top / small if small > 0 else math.inf, confidence=float(confidence))
    return df
