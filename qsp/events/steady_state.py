"""Periodic steady state of a dosing train: the state ``x`` with ``x = P(x)``, where ``P`` runs one
dosing interval of the train from ``x``.

Newton's method on ``P(x) - x`` with a finite-difference Jacobian (one run of ``P`` per state
variable), from the state one interval after the start; if a Newton step does not reduce the
residual, plain repetition of ``P`` (dosing interval after interval) takes over. Converged means
that one more interval changes no state variable by more than ``tolerance`` relative to its size
(with an absolute floor); that check is reported, never assumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import SimulationError

__all__ = ["SteadyState", "periodic_state", "train_window"]


@dataclass(frozen=True)
class SteadyState:
    """How a steady state was found: method, intervals simulated, final residual, converged."""

    method: str
    intervals: int
    residual: float
    converged: bool


def _residual(x: np.ndarray, fx: np.ndarray, floor: float) -> float:
    return float(np.max(np.abs(fx - x) / (np.maximum(np.abs(x), np.abs(fx)) + floor))) if len(x) else 0.0


def periodic_state(period: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, *, tolerance: float,
                   atol: float, max_newton: int = 12, max_intervals: int = 5000) -> tuple[np.ndarray, SteadyState]:
    """Solve ``x = period(x)`` starting from ``x0`` (the state after a reset).

    Raises
    ------
    SimulationError
        When neither Newton's method nor ``max_intervals`` repetitions converge.
    """
    count = 0

    def run(x):
        nonlocal count
        count += 1
        return period(x)

    x = run(x0)
    n = len(x)
    floor = 100 * atol + 1e-8 * (float(np.max(np.abs(x))) if n else 0.0)
    fx = run(x)
    res = _residual(x, fx, floor)
    method = "newton"
    for _ in range(max_newton):
        if res <= tolerance:
            return fx, SteadyState(method, count, res, True)
        scale = np.maximum(np.abs(x), 1e-6 * max(float(np.max(np.abs(x))), atol) + atol)
        jac = np.empty((n, n))
        for j in range(n):
            h = 1e-5 * scale[j]
            xh = x.copy()
            xh[j] += h
            jac[:, j] = (run(xh) - fx) / h
        try:
            step = np.linalg.solve(jac - np.eye(n), -(fx - x))
        except np.linalg.LinAlgError:
            break
        x_new = x + step
        if np.any(x_new < 0) and np.all(x >= 0):
            x_new = np.maximum(x_new, 0.0)
        f_new = run(x_new)
        res_new = _residual(x_new, f_new, floor)
        if not np.isfinite(res_new) or res_new >= res:
            break
        x, fx, res = x_new, f_new, res_new
    if res <= tolerance:
        return fx, SteadyState(method, count, res, True)
    method = "repeated intervals"
    x = fx
    while count < max_intervals:
        fx = run(x)
        res = _residual(x, fx, floor)
        if res <= tolerance:
            return fx, SteadyState(method, count, res, True)
        x = fx
    raise SimulationError(f"no periodic steady state after {count} dosing intervals (relative change per interval "
                          f"{res:.2g} > {tolerance:.2g})")


def train_window(lag: float, interval: float, duration: float | None
                 ) -> tuple[list[tuple[float, float]], list[float], list[tuple[float, float]]]:
    """Geometry of an infinite train of doses at ``lag - k * interval`` (k = 1, 2, ...) relative to
    the steady-state record's time.

    Returns ``(spans, future, running)``: for the interval just before the record, mapped onto
    ``[0, interval)``, the infusion spans (or, for a bolus, ``[(t, t)]`` at its instant); the start
    times (relative, >= 0) of train doses that still lie ahead (``lag`` >= ``interval``); and, for
    infusions running at the record time, ``(0, end)`` pairs (relative end times).
    """
    spans: list[tuple[float, float]] = []
    future: list[float] = []
    running: list[tuple[float, float]] = []
    length = duration or 0.0
    k = 1
    while True:
        start = lag - k * interval
        if (start < -interval) if duration is None else (start + length <= -interval):
            break
        end = start + length
        if start >= 0:
            future.append(start)
        else:
            if duration is None:
                if start >= -interval:
                    spans.append((start + interval, start + interval))
            else:
                a, b = max(start, -interval), min(end, 0.0)
                if b > a:
                    spans.append((a + interval, b + interval))
                if end > 0:
                    running.append((0.0, end))
        k += 1
        if k > 1_000_000:
            raise SimulationError("a steady-state infusion overlaps more than 1e6 dosing intervals")
    return spans, future, running
