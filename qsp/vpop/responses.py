"""Per-patient response classification from simulated curves.

RECIST-like rule on the tumour-size curve ``V(t)`` with baseline ``V0 = V(t_b)`` (the value at the
treatment-start time): the best percent change is ``min over the assessment times t_b < t <= t_eval of
100 (V(t) - V0) / V0`` (every output time by default, or a scan schedule such as every 7 days, as in a
trial where tumours are measured at visits), and the category is, in this order,

- ``CR`` if the best change is <= ``cr`` (default -100 %) or the nadir is <= ``floor`` (a detection limit);
- ``PR`` if the best change is <= ``pr`` (default -30 %);
- ``PD`` if the best change is >= ``pd`` (default +20 %: the tumour never shrank and grew by 20 %);
- ``SD`` otherwise.

With every output time assessed, a tumour that grows steadily from baseline has a best change equal
to its growth over the first output step, usually far below +20 %, so it counts as SD; assess at
visit times (``assessments``) to classify such tumours as a trial would.

A CRS-like grade counts the increasing thresholds a cytokine peak reaches: grade 0 below the first,
grade k at or above the k-th.
"""

from __future__ import annotations

import numpy as np

from ..errors import QSPError
from ..option_names import option

__all__ = ["best_percent_change", "classify_recist", "grade_crs", "CATEGORIES"]

CATEGORIES = ("CR", "PR", "SD", "PD")


def best_percent_change(t, y, baseline: float, until: float | None = None, assessments=None,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline value, nadir and best percent change after ``baseline`` of each curve.

    Parameters
    ----------
    t : array (m,)
        Times, increasing.
    y : array (m,) or (n, m)
        One curve per row.
    baseline : float
        Time of the baseline value (interpolated on the grid).
    until : float, optional
        Last time considered (default: the end of the grid).
    assessments : sequence of float, optional
        Times at which the curves are read (linear interpolation on the grid); those in
        ``(baseline, until]`` are used. Default: every grid time in that window.

    Returns
    -------
    (baseline values, nadirs, best percent changes), each of shape (n,)
    """
    t = np.asarray(t, float)
    y = np.atleast_2d(np.asarray(y, float))
    if y.shape[1] != len(t):
        raise QSPError(f"curves have {y.shape[1]} points but t has {len(t)}")
    if not t[0] <= baseline < t[-1]:
        raise QSPError(f"baseline time {baseline} must lie in [{t[0]}, {t[-1]}) (the simulated window)")
    end = t[-1] if until is None else float(until)
    y0 = np.array([np.interp(baseline, t, row) for row in y])
    if assessments is None:
        window = (t > baseline) & (t <= end)
        if not window.any():
            raise QSPError(f"no output time in ({baseline}, {end}]; add points or move the baseline")
        nadir = y[:, window].min(axis=1)
    else:
        ta = np.asarray(assessments, float).ravel()
        ta = ta[(ta > baseline) & (ta <= min(end, t[-1]))]
        if len(ta) == 0:
            raise QSPError(f"no assessment time in ({baseline}, {min(end, t[-1])}]; give visit times inside the "
                           "simulated window after the baseline")
        nadir = np.array([np.interp(ta, t, row) for row in y]).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        best = 100.0 * (nadir - y0) / y0
    return y0, nadir, best


def classify_recist(best, *, nadir=None, floor: float | None = None, cr: float = -100.0, pr: float = -30.0,
                    pd: float = 20.0) -> np.ndarray:
    """RECIST-like category per patient ('CR', 'PR', 'SD', 'PD'; '' where ``best`` is NaN).

    Parameters
    ----------
    best : array
        Best percent change from baseline (%).
    nadir : array, optional
        Smallest value after baseline (model units), used with ``floor``.
    floor : float, optional
        Detection limit: a nadir at or below it counts as CR.
    cr, pr, pd : float
        Thresholds (%): CR at or below ``cr``, PR at or below ``pr``, PD at or above ``pd``.
    """
    if not cr <= pr < pd:
        raise QSPError(f"the thresholds need CR <= PR < PD. Got {option('cr', cr)}, {option('pr', pr)}, "
                       f"{option('pd', pd)}.")
    best = np.asarray(best, float)
    is_cr = best <= cr
    if floor is not None:
        if nadir is None:
            raise QSPError("floor needs the nadir values")
        is_cr |= np.asarray(nadir, float) <= floor
    out = np.where(is_cr, "CR", np.where(best <= pr, "PR", np.where(best >= pd, "PD", "SD"))).astype(object)
    out[np.isnan(best) & ~is_cr] = ""
    return out


def grade_crs(peaks, thresholds) -> np.ndarray:
    """Grade per patient: how many of the increasing ``thresholds`` the peak reaches (-1 where NaN)."""
    th = np.asarray(thresholds, float)
    if th.ndim != 1 or len(th) == 0 or (np.diff(th) <= 0).any():
        raise QSPError(f"CRS thresholds must be a non-empty increasing sequence. Got {list(thresholds)!r}.")
    peaks = np.asarray(peaks, float)
    grade = (peaks[:, None] >= th[None, :]).sum(axis=1)
    return np.where(np.isnan(peaks), -1, grade)
