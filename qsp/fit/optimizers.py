"""One optimisation from one start: scipy's L-BFGS-B, trust-region least squares, bounded Nelder-Mead,
fides' trust-region method with the Fisher information (:mod:`qsp.fit.trust_region`), or differential
evolution (polished by L-BFGS-B), on the parameter scale within the space's bounds.

A start never raises: an objective that raises or is not finite at the start point gives a ``failed``
row. Later on, a point where it raises or is not finite is infeasible: the optimiser sees a value
worse than any found so far (a zero gradient, for L-BFGS-B), which makes its line search or trust
region step back. The reported point is the best finite one evaluated.
"""

from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["METHODS", "STATUSES", "optimize_start", "error_text"]

METHODS = ("lbfgsb", "least_squares", "nelder-mead", "fides", "differential_evolution")
#: converged: the optimiser's own criterion was met; stopped: it ended without meeting it (evaluation
#: limit, failed line search); failed: no result (the start raised or was not finite).
STATUSES = ("converged", "stopped", "failed")


def error_text(exc: BaseException) -> str:
    """``Type: message`` on one line, at most 500 characters."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]


class _Evaluations:
    """Counts calls of a scalar function, remembers the best finite point and the first error."""

    def __init__(self, fn):
        self.fn = fn
        self.n = 0
        self.best_f, self.best_x = math.inf, None
        self.errors, self.first_error = 0, ""

    def __call__(self, x) -> float:
        return self.evaluate(self.fn, x)[0]

    def evaluate(self, fn, x) -> tuple:
        """``(value, result)`` of ``fn(x)``, counted; ``result`` is what ``fn`` returned and ``value`` is
        it (or its first item) as a float, inf where ``fn`` raises (``result`` None) or is not finite."""
        self.n += 1
        x = np.array(x, dtype=float)
        try:
            result = fn(x)
            v = float(result[0] if isinstance(result, tuple) else result)
        except Exception as exc:  # an infeasible point, not the end of the start
            self.error(exc)
            return math.inf, None
        if not math.isfinite(v):
            return math.inf, result
        if v < self.best_f:
            self.best_f, self.best_x = v, x
        return v, result

    def error(self, exc: Exception) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = error_text(exc)

    def penalty(self) -> float:
        """A finite value worse than every finite one seen so far."""
        b = self.best_f if math.isfinite(self.best_f) else 0.0
        return b + 1e3 * (1.0 + abs(b))


def optimize_start(objective, x0: np.ndarray, method: str, *, max_evals: int | None = None,
                   options: dict | None = None, population: np.ndarray | None = None,
                   seed: int | None = None, redraws: int = 0, redraw_seed=None) -> dict:
    """Optimise from ``x0`` (parameter scale); returns the start's row (without its index).

    Keys: status, message, nllh_start, nllh, x, n_redrawn, n_evals, n_grad, optimizer_message, seconds.
    ``population``/``seed``: the initial population and random seed of differential evolution.
    ``redraws``: where the objective is not finite at ``x0``, up to this many new start points are drawn
    uniformly within the bounds (``numpy.random.default_rng(redraw_seed)``) until one is finite.
    """
    started = time.perf_counter()
    x0 = np.asarray(x0, dtype=float)
    row = {"status": "failed", "message": "", "nllh_start": math.nan, "nllh": math.nan, "x": x0.copy(),
           "n_redrawn": 0, "n_evals": 0, "n_grad": 0, "optimizer_message": ""}
    ev = _Evaluations(objective.nllh)
    try:
        if method == "differential_evolution":
            _differential_evolution(objective, ev, row, population, seed, max_evals, options or {})
        else:
            first = ev(x0)
            rng = None
            while not math.isfinite(first) and row["n_redrawn"] < redraws:
                rng = np.random.default_rng(redraw_seed) if rng is None else rng
                space = objective.space
                x0 = space.lower + rng.random(len(x0)) * (space.upper - space.lower)
                row["n_redrawn"] += 1
                row["x"] = x0.copy()
                first = ev(x0)
            row["nllh_start"] = first
            if not math.isfinite(first):
                row["message"] = ev.first_error or "the objective is not finite at the start point"
            else:
                run = {"lbfgsb": _lbfgsb, "least_squares": _least_squares, "nelder-mead": _nelder_mead,
                       "fides": _fides}[method]
                run(objective, ev, row, x0, max_evals, options or {})
    except Exception as exc:  # a bug in an objective's gradient or residuals: this start's row says so
        row.update(status="failed", message=error_text(exc))
    row["n_evals"] += ev.n
    if row["status"] != "failed" and ev.errors and not row["message"]:
        row["message"] = f"{ev.errors} evaluations raised (first: {ev.first_error})"
    row["seconds"] = time.perf_counter() - started
    return row


def _bounds(objective) -> list[tuple[float, float]]:
    space = objective.space
    return list(zip(space.lower.tolist(), space.upper.tolist()))


def _finish(row: dict, ev: _Evaluations, res, x=None, value=None) -> None:
    """Fill the row from a scipy result; the point is the best finite one evaluated."""
    x = ev.best_x if x is None else x
    value = ev.best_f if value is None else value
    row["optimizer_message"] = str(getattr(res, "message", ""))
    if x is None or not math.isfinite(value):
        row.update(status="failed", message=ev.first_error or "the objective is not finite at any point evaluated")
        return
    row.update(status="converged" if getattr(res, "success", False) else "stopped", x=np.asarray(x, float),
               nllh=float(value))


def _lbfgsb(objective, ev: _Evaluations, row: dict, x0, max_evals, options) -> None:
    from scipy.optimize import minimize

    def value_and_gradient(x):
        v = ev(x)
        if not math.isfinite(v):
            return ev.penalty(), np.zeros_like(x)
        row["n_grad"] += 1
        try:
            g = np.asarray(objective.gradient(np.array(x, float)), dtype=float)
        except Exception as exc:
            ev.error(exc)
            return ev.penalty(), np.zeros_like(x)
        return v, np.where(np.isfinite(g), g, 0.0)

    opts = dict(options)
    if max_evals:
        opts.setdefault("maxfun", int(max_evals))
    res = minimize(value_and_gradient, x0, jac=True, method="L-BFGS-B", bounds=_bounds(objective), options=opts)
    _finish(row, ev, res)


def _nelder_mead(objective, ev: _Evaluations, row: dict, x0, max_evals, options) -> None:
    from scipy.optimize import minimize

    space = objective.space
    opts = dict(options)
    if "initial_simplex" not in opts:  # steps of a tenth of each range (scipy's 5 % of x is ~0 on log scales)
        step = 0.1 * (space.upper - space.lower)
        simplex = [x0.copy()]
        for i in range(len(x0)):
            v = x0.copy()
            v[i] = v[i] + step[i] if v[i] + step[i] <= space.upper[i] else v[i] - step[i]
            simplex.append(v)
        opts["initial_simplex"] = np.array(simplex)
    if max_evals:
        opts.setdefault("maxfev", int(max_evals))
        opts.setdefault("maxiter", int(max_evals))
    res = minimize(ev, x0, method="Nelder-Mead", bounds=_bounds(objective), options=opts)
    _finish(row, ev, res)


def _least_squares(objective, ev: _Evaluations, row: dict, x0, max_evals, options) -> None:
    from scipy.optimize import least_squares

    state = {"size": None, "cost": math.inf, "x": None}

    def residuals(x):
        ev.n += 1
        try:
            r = objective.residuals(np.array(x, float))
        except Exception as exc:
            ev.error(exc)
            r = None
        if r is not None:
            r = np.asarray(r, dtype=float).ravel()
            if state["size"] is None:
                state["size"] = len(r)
            if np.all(np.isfinite(r)):
                cost = 0.5 * float(r @ r)
                if cost < state["cost"]:
                    state["cost"], state["x"] = cost, np.array(x, float)
                return r
        if state["size"] is None:
            raise ValueError("the objective gives no finite residuals at the start point")
        b = state["cost"] if math.isfinite(state["cost"]) else 0.0
        return np.full(state["size"], math.sqrt(2 * (b + 1e3 * (1.0 + b)) / max(1, state["size"])))

    opts = {"method": "trf", "jac": "2-point", **options}
    if max_evals:
        opts.setdefault("max_nfev", int(max_evals))
    res = least_squares(residuals, x0, bounds=(objective.space.lower, objective.space.upper), **opts)
    row["n_grad"] += int(res.njev or 0)
    x, value = state["x"], math.inf
    if x is not None:
        value = ev(x)  # the negative log-likelihood there (the cost leaves out its constant terms)
    _finish(row, ev, res, x=x, value=value)


def _fides(objective, ev: _Evaluations, row: dict, x0, max_evals, options) -> None:
    from .trust_region import fides_start

    fides_start(objective, ev, row, x0, max_evals, options)


def _differential_evolution(objective, ev: _Evaluations, row: dict, population, seed, max_evals,
                            options) -> None:
    from scipy.optimize import differential_evolution

    values = []

    def first_generation(x):  # the initial population is evaluated first: its best is the start value
        v = ev(x)
        if len(values) < len(population):
            values.append(v)
        return v

    opts = dict(options)
    if max_evals:
        opts.setdefault("maxiter", max(1, int(max_evals) // len(population) - 1))
    res = differential_evolution(first_generation, _bounds(objective), init=population, polish=False,
                                 **_random_state(differential_evolution, seed), **opts)
    row["nllh_start"] = min(values) if values else math.nan
    if ev.best_x is None:
        _finish(row, ev, res)
        return
    used = ev.n
    left = None if not max_evals else max(1, int(max_evals) - used)
    best_x, best_f = ev.best_x, ev.best_f
    polish = {"n_grad": 0, "optimizer_message": ""}
    _lbfgsb(objective, ev, polish, best_x, left, {})
    row["n_grad"] += polish["n_grad"]
    row["optimizer_message"] = f"{res.message} Polished by L-BFGS-B: {polish.get('optimizer_message', '')}"
    row.update(status="converged" if res.success or polish.get("status") == "converged" else "stopped",
               x=ev.best_x if ev.best_f <= best_f else best_x, nllh=float(min(ev.best_f, best_f)))


def _random_state(fn, seed) -> dict:
    """``rng=`` (scipy >= 1.15) or ``seed=`` (older) for a seeded run."""
    import inspect

    key = "rng" if "rng" in inspect.signature(fn).parameters else "seed"
    return {key: np.random.default_rng(seed)}
