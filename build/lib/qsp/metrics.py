"""Pharmacokinetic and response metrics: pure functions of a time vector and one output column.

Every function takes ``t`` (increasing times) and ``y`` (values at those
times) as array-likes and returns a float (or an array for
:func:`percent_change`). Units are those of the inputs: AUC is in
``[y] * [t]``, times in ``[t]``.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["auc", "cmax", "tmax", "cmin", "trough", "value_at", "time_above", "nadir", "time_of_nadir",
           "percent_change", "best_percent_change"]


def _arrays(t, y) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if t.shape != y.shape:
        raise InputError(f"t and y must have the same length. Got {t.size} and {y.size}.")
    if t.size == 0:
        raise InputError("t and y must not be empty")
    if t.size > 1 and (np.diff(t) < 0).any():
        raise InputError("t must be non-decreasing")
    return t, y


def _window(t, y, t_start, t_end):
    """Restrict to [t_start, t_end], adding interpolated end points."""
    a = t[0] if t_start is None else float(t_start)
    b = t[-1] if t_end is None else float(t_end)
    if a < t[0] or b > t[-1] or b < a:
        raise InputError(f"window [{a:g}, {b:g}] is not inside the data range [{t[0]:g}, {t[-1]:g}]")
    inside = (t > a) & (t < b)
    tt = np.concatenate(([a], t[inside], [b]))
    yy = np.concatenate(([np.interp(a, t, y)], y[inside], [np.interp(b, t, y)]))
    return tt, yy


def auc(t, y, *, method: str = "linear", t_start: float | None = None, t_end: float | None = None) -> float:
    """Area under the curve by the trapezoidal rule.

    Parameters
    ----------
    method : {'linear', 'log-down'}
        'linear': linear trapezoids throughout. 'log-down': linear while the
        curve rises or is flat, logarithmic trapezoids while it falls with
        both ends positive (exact for mono-exponential decline).
    t_start, t_end : float, optional
        Integration window (default: the whole range); ends are linearly interpolated.
    """
    t, y = _arrays(t, y)
    if method not in ("linear", "log-down"):
        raise InputError(f"method must be 'linear' or 'log-down'. Got {method!r} instead.")
    t, y = _window(t, y, t_start, t_end)
    dt = np.diff(t)
    y0, y1 = y[:-1], y[1:]
    parts = dt * (y0 + y1) / 2.0
    if method == "log-down":
        down = (y1 < y0) & (y1 > 0) & (y0 > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = dt * (y0 - y1) / np.log(y0 / y1)
        parts = np.where(down, logp, parts)
    return float(parts.sum())


def cmax(t, y, *, t_start: float | None = None, t_end: float | None = None) -> float:
    """Largest value (in the window, if given)."""
    t, y = _window(*_arrays(t, y), t_start, t_end)
    return float(np.max(y))


def tmax(t, y, *, t_start: float | None = None, t_end: float | None = None) -> float:
    """Time of the first largest value."""
    t, y = _window(*_arrays(t, y), t_start, t_end)
    return float(t[int(np.argmax(y))])


def cmin(t, y, *, t_start: float | None = None, t_end: float | None = None) -> float:
    """Smallest value (in the window, if given)."""
    t, y = _window(*_arrays(t, y), t_start, t_end)
    return float(np.min(y))


def trough(t, y, dose_time: float) -> float:
    """Pre-dose (trough) concentration: the last value strictly before ``dose_time``.

    qsp reports the post-dose value at a dose instant, so the trough of a
    dose at ``dose_time`` is read at the latest output time before it; put an
    output time just before the dose to get it exactly.
    """
    t, y = _arrays(t, y)
    idx = np.searchsorted(t, float(dose_time), side="left") - 1
    if idx < 0:
        raise InputError(f"no output time before the dose at t={dose_time:g}")
    return float(y[idx])


def value_at(t, y, at: float) -> float:
    """Value at time ``at`` (linear interpolation between output times)."""
    t, y = _arrays(t, y)
    at = float(at)
    if at < t[0] or at > t[-1]:
        raise InputError(f"t={at:g} is outside the data range [{t[0]:g}, {t[-1]:g}]")
    return float(np.interp(at, t, y))


def time_above(t, y, threshold: float) -> float:
    """Total time the curve spends above ``threshold`` (crossings linearly interpolated)."""
    t, y = _arrays(t, y)
    total = 0.0
    for i in range(len(t) - 1):
        a, b = y[i] - threshold, y[i + 1] - threshold
        dt = t[i + 1] - t[i]
        if a > 0 and b > 0:
            total += dt
        elif a > 0 or b > 0:
            total += dt * (max(a, b) / abs(b - a))
    return float(total)


def nadir(t, y) -> float:
    """Lowest value (e.g. the smallest tumour volume or cell count)."""
    return cmin(t, y)


def time_of_nadir(t, y) -> float:
    """Time of the first lowest value."""
    t, y = _arrays(t, y)
    return float(t[int(np.argmin(y))])


def percent_change(t, y, *, baseline: float | None = None) -> np.ndarray:
    """Percent change from baseline at every time: ``100 * (y - y0) / y0``.

    ``baseline`` is the time of the baseline value (default: the first time).
    """
    t, y = _arrays(t, y)
    y0 = y[0] if baseline is None else value_at(t, y, baseline)
    if y0 == 0:
        raise InputError("baseline value is 0; percent change is undefined")
    return 100.0 * (y - y0) / y0


def best_percent_change(t, y, *, baseline: float | None = None) -> float:
    """Most negative percent change from baseline after the baseline time (RECIST-style best response)."""
    t, y = _arrays(t, y)
    pc = percent_change(t, y, baseline=baseline)
    after = t >= (t[0] if baseline is None else baseline)
    return float(pc[after].min())
