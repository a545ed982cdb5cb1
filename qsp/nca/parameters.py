"""NCA parameters of one concentration-time profile.

Times are taken relative to the dose (dose at t = 0). Areas run from the first time (t = 0 after
the points that are added, see below) to Tlast, the time of the last positive concentration.

- ``'linear-up/log-down'`` (default): the linear trapezoid where the concentration rises or stays
  level, the log trapezoid (dt (C1 - C2) / ln(C1 / C2)) where it falls between two positive values;
  exact for a mono-exponential decline. ``'linear'``: the linear trapezoid everywhere.
- Extravascular: a point (0, 0) is added when the profile has no sample at t = 0.
- IV bolus: when the profile has no positive sample at t = 0, C0 is back-extrapolated by the
  log-linear regression through the first two points (when they decline; otherwise C0 is the first
  positive concentration) and (0, C0) is added; the note says so.
"""

from __future__ import annotations

import math

import numpy as np

from .terminal import ADJ_R2_TOLERANCE, TerminalFit, fit_terminal

__all__ = ["ROUTES", "AUC_METHODS", "profile_parameters", "dose_columns"]

ROUTES = ("extravascular", "iv")
AUC_METHODS = ("linear-up/log-down", "linear")


def dose_columns(route: str) -> tuple[str, str]:
    """Names of the clearance and volume columns: 'CL'/'Vz' for IV, 'CL/F'/'Vz/F' otherwise."""
    return ("CL", "Vz") if route == "iv" else ("CL/F", "Vz/F")


def _segments(t: np.ndarray, c: np.ndarray, method: str) -> tuple[float, float]:
    """AUC and AUMC over the points given (concentration·time, concentration·time²)."""
    auc = aumc = 0.0
    for t1, t2, c1, c2 in zip(t[:-1], t[1:], c[:-1], c[1:]):
        dt = t2 - t1
        if method == "linear-up/log-down" and c2 < c1 and c2 > 0:
            k = math.log(c1 / c2) / dt
            auc += (c1 - c2) / k
            aumc += (t1 * c1 - t2 * c2) / k + (c1 - c2) / k ** 2
        else:
            auc += dt * (c1 + c2) / 2
            aumc += dt * (t1 * c1 + t2 * c2) / 2
    return auc, aumc


def _back_extrapolate(t: np.ndarray, c: np.ndarray) -> tuple[float, str]:
    """C0 of an IV bolus from the first two positive points, and how it was obtained."""
    pos = np.flatnonzero(c > 0)
    if len(pos) == 0:
        return float("nan"), "C0 not estimated: no positive concentration"
    i = pos[0]
    if len(pos) >= 2 and c[pos[1]] < c[i]:
        j = pos[1]
        slope = (math.log(c[j]) - math.log(c[i])) / (t[j] - t[i])
        return float(math.exp(math.log(c[i]) - slope * t[i])), "C0 back-extrapolated from the first two points"
    return float(c[i]), "C0 set to the first positive concentration (first two points do not decline)"


def profile_parameters(time: np.ndarray, conc: np.ndarray, *, dose: float | None = None,
                       route: str = "extravascular", auc_method: str = "linear-up/log-down",
                       include_cmax: bool = False,
                       adj_r2_tolerance: float = ADJ_R2_TOLERANCE) -> tuple[dict[str, float | int | str], TerminalFit]:
    """Compute the NCA parameters of one profile.

    Parameters
    ----------
    time : array
        Times since the dose (time unit), strictly increasing, >= 0.
    conc : array
        Concentrations (concentration unit), >= 0, no NaN.
    dose : float or None
        Dose (dose unit); CL and Vz are NaN without it.
    route : {'extravascular', 'iv'}
        'iv' is an IV bolus.
    auc_method : {'linear-up/log-down', 'linear'}
    include_cmax : bool
        Let the terminal regression start at Cmax.
    adj_r2_tolerance : float
        Adjusted-R² margin within which the terminal fit with more points is preferred.

    Returns
    -------
    (dict, TerminalFit)
        Parameters by column name (see :mod:`qsp.nca`) with a ``note`` ('' or reasons joined by
        '; '), and the terminal fit.
    """
    t = np.asarray(time, dtype=float)
    c = np.asarray(conc, dtype=float)
    notes: list[str] = []
    imax = int(np.argmax(c))
    out: dict[str, float | int | str] = {"Cmax": float(c[imax]), "Tmax": float(t[imax])}
    pos = np.flatnonzero(c > 0)
    ilast = int(pos[-1]) if len(pos) else len(c) - 1
    out["Clast"], out["Tlast"] = float(c[ilast]), float(t[ilast])

    ta, ca = t[:ilast + 1], c[:ilast + 1]
    if route == "iv":
        if not (ta[0] == 0 and ca[0] > 0):
            c0, how = _back_extrapolate(t, c)
            notes.append(how)
            keep = ta > 0
            ta, ca = np.concatenate([[0.0], ta[keep]]), np.concatenate([[c0], ca[keep]])
        else:
            c0 = float(ca[0])
        out["C0"] = c0
    elif ta[0] > 0:
        ta, ca = np.concatenate([[0.0], ta]), np.concatenate([[0.0], ca])

    fit = fit_terminal(t, c, include_cmax=include_cmax, tolerance=adj_r2_tolerance)
    if fit.note:
        notes.append(fit.note)
    lz = fit.lambda_z
    auc, aumc = _segments(ta, ca, auc_method)
    clast, tlast = out["Clast"], out["Tlast"]
    auc_inf = auc + clast / lz
    aumc_inf = aumc + clast * tlast / lz + clast / lz ** 2
    out.update({
        "lambda_z": lz, "lambda_z_n": fit.n_points, "lambda_z_adj_r2": fit.adj_r2,
        "lambda_z_t_start": fit.t_start, "lambda_z_t_end": fit.t_end,
        "half_life": math.log(2) / lz,
        "AUClast": auc, "AUCinf": auc_inf, "AUC_extrap_pct": 100.0 * (auc_inf - auc) / auc_inf,
        "AUMClast": aumc, "AUMCinf": aumc_inf, "MRTinf": aumc_inf / auc_inf,
    })
    cl_name, v_name = dose_columns(route)
    d = float("nan") if dose is None else float(dose)
    out["dose"] = d
    out[cl_name] = d / auc_inf
    out[v_name] = d / (lz * auc_inf)
    if route == "iv":
        out["Vss"] = out[cl_name] * out["MRTinf"]
    out["note"] = "; ".join(notes)
    return out, fit
