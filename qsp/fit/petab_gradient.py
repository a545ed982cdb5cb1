"""Derivatives of a PEtab objective: exact through the observable, noise and likelihood formulas, finite
differences of the simulations only.

By the chain rule, the derivative of the negative log-likelihood in an estimated parameter ``x_j`` (on
its scale) is the sum over measurement rows of ``dT/dy * dy/dx_j + dT/ds * ds/dx_j`` (``T``: the row's
noise-model term, ``y``: its observable, ``s``: its noise scale), where ``dy/dx_j = dF/dq * dq/dx_j +
dF/dv * dv/dx_j`` (``F``: the observable formula, ``q``: the simulated model quantities it reads, ``v``:
the parameter values it reads), and likewise for ``s``. The formulas' partial derivatives (``sympy``)
and those of the noise models are exact; ``dq/dx_j`` comes from one-sided finite differences of the
simulations on the parameter scale, only for the parameters the simulations read and only for the
condition groups that read them. A parameter that enters observable or noise formulas only (a scaling,
an offset, a noise parameter) costs no simulation.

The step follows the integration tolerance (:func:`steps`). Everything here is picklable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import SimulationError
from . import noise
from .objective import to_linear

__all__ = ["FormulaDerivatives", "Sensitivities", "steps", "noise_derivatives", "residual_derivatives",
           "scale_factors", "observable_derivatives"]

_LN10 = math.log(10.0)


@dataclass
class FormulaDerivatives:
    """The partial derivatives of a formula in each of its symbols (in the order of its ``sources``);
    None where a partial derivative is zero."""

    exprs: tuple
    _fns: list = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, formula) -> FormulaDerivatives:
        import sympy

        syms = sorted(formula.expr.free_symbols, key=lambda s: s.name)
        exprs = []
        for s in syms:
            d = sympy.diff(formula.expr, s)
            exprs.append(None if d == 0 else d)
        return cls(tuple(exprs))

    def __getstate__(self):
        return {"exprs": self.exprs, "_fns": None}

    def evaluate(self, formula, args: list[np.ndarray], n: int) -> list[np.ndarray | None]:
        """The partial derivatives per row (arrays of length ``n``) at the formula's arguments ``args``."""
        if self._fns is None:
            import sympy

            syms = sorted(formula.expr.free_symbols, key=lambda s: s.name)
            self._fns = [None if e is None else sympy.lambdify(syms, e, modules="numpy", dummify=True)
                         for e in self.exprs]
        out = []
        with np.errstate(all="ignore"):
            for fn in self._fns:
                if fn is None:
                    out.append(None)
                    continue
                v = np.asarray(fn(*args), dtype=float)
                out.append(np.broadcast_to(v, (n,)) if v.shape != (n,) else v)
        return out


def scale_factors(x: np.ndarray, scales) -> np.ndarray:
    """``d value / d x`` per estimated parameter: 1 (lin), the value (log), the value * ln 10 (log10)."""
    v = to_linear(x, scales)
    factor = {"lin": 0.0, "log": 1.0, "log10": _LN10}
    return np.array([1.0 if s == "lin" else factor[s] * vi for s, vi in zip(scales, v)])


def steps(x: np.ndarray, scales, lower: np.ndarray, upper: np.ndarray, rtol: float, step: float | None = None,
          central: bool = False) -> np.ndarray:
    """Finite-difference steps on the parameter scale, signed (negative where a forward step would leave
    the bounds).

    The step is ``step`` in log or log10 units on a log scale, and ``step * max(|x|, 1e-3 * (upper -
    lower))`` on the linear scale. By default it balances truncation against the integration error
    (relative ``rtol``): ``sqrt(rtol)`` for forward differences and ``3 * sqrt(rtol)`` for central ones
    (1e-4 and 3e-4 at rtol 1e-8), at least 1e-7.
    """
    if step is None:
        step = max((3.0 if central else 1.0) * math.sqrt(rtol), 1e-7)
    h = np.empty(len(x))
    for j, s in enumerate(scales):
        h[j] = step if s != "lin" else step * max(abs(x[j]), 1e-3 * (upper[j] - lower[j]))
    return np.where(x + h > upper, -h, h)


@dataclass
class Sensitivities:
    """Which estimated parameters each condition group's simulation reads.

    ``groups[j]``: the indices of the groups that read estimated parameter ``j`` (empty: it enters the
    observable or noise formulas only).
    """

    pool_index: np.ndarray
    groups: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, runner, estimated: np.ndarray) -> Sensitivities:
        reads = [runner.inputs(g) for g in runner.groups]
        groups = tuple(np.array([i for i, r in enumerate(reads) if int(p) in r], dtype=int) for p in estimated)
        return cls(np.asarray(estimated, dtype=int), groups)

    @property
    def simulated(self) -> np.ndarray:
        """The estimated parameters that some simulation reads."""
        return np.array([j for j, g in enumerate(self.groups) if len(g)], dtype=int)

    def differences(self, run, pool: np.ndarray, x: np.ndarray, scales, base: np.ndarray, h: np.ndarray,
                    central: bool = False) -> tuple[np.ndarray, int]:
        """``d sim / d x_j`` for every estimated parameter (shape ``(d, *base.shape)``; zero for those no
        simulation reads) by differences of ``run(pool, groups)`` against ``base`` (the simulation at
        ``x``): one-sided with the steps ``h``, or central where ``central`` and ``h`` is positive (both
        steps within the bounds); a step whose simulation fails is replaced by the opposite one. Also
        returns the number of group simulations run. Where every step fails the derivative is NaN."""
        out = np.zeros((len(x), *base.shape))
        runs = 0
        for j in self.simulated:
            groups, p = self.groups[j], int(self.pool_index[j])

            def moved(step: float) -> np.ndarray | None:
                v = pool.copy()
                v[p] = to_linear(np.array([x[j] + step]), (scales[j],))[0]
                try:
                    return run(v, groups)
                except SimulationError:
                    return None

            up = moved(h[j])
            down = moved(-h[j]) if up is None or (central and h[j] > 0) else None
            runs += len(groups) * (1 + (up is None or (central and h[j] > 0)))
            if up is not None and down is not None:
                d = (up - down) / (2 * h[j])
            elif up is not None or down is not None:
                d = (up - base) / h[j] if up is not None else (down - base) / -h[j]
            else:
                out[j][:] = np.nan
                continue
            rows = np.isfinite((up if up is not None else down)[:, 0])  # the groups run (column 0: time)
            out[j][rows] = d[rows]
        return out, runs


def noise_derivatives(measured: np.ndarray, y: np.ndarray, s: np.ndarray, distribution: str
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(dT/dy, dT/ds)`` of the noise model's negative log-likelihood terms ``T`` (:mod:`qsp.fit.noise`)."""
    how, shape = noise.DISTRIBUTIONS[distribution]
    with np.errstate(all="ignore"):
        r = noise.residuals(measured, y, s, distribution)
        slope = _slope(y, how)
        if shape == "normal":
            return -r * slope / s, (1.0 - r * r) / s
        return -np.sign(r) * slope / s, (1.0 - np.abs(r)) / s


def residual_derivatives(measured: np.ndarray, y: np.ndarray, s: np.ndarray, distribution: str
                         ) -> tuple[np.ndarray, np.ndarray]:
    """``(dr/dy, dr/ds)`` of the weighted residuals ``r = (t(m) - t(y)) / s``."""
    how, _ = noise.DISTRIBUTIONS[distribution]
    with np.errstate(all="ignore"):
        r = noise.residuals(measured, y, s, distribution)
        return -_slope(y, how) / s, -r / s


def _slope(y: np.ndarray, how: str) -> np.ndarray:
    """``d t(y) / d y`` of the transformation ``t``."""
    if how == "lin":
        return np.ones_like(y)
    return 1.0 / y if how == "log" else 1.0 / (y * _LN10)


def observable_derivatives(objective, q: np.ndarray, dq: np.ndarray, pool: np.ndarray, factors: np.ndarray,
                           estimated_at: dict[int, int]):
    """Observables ``y``, noise scales ``s`` (per measurement row) and their derivatives ``dy``, ``ds``
    (shape ``(d, rows)``) from the simulated quantities ``q`` per row and their derivatives ``dq``
    (shape ``(d, rows, quantities)``). ``factors``: :func:`scale_factors`; ``estimated_at``: pool
    index -> estimated parameter."""
    n, d = objective.n_measurements, len(factors)
    y, s = np.empty(n), np.empty(n)
    dy, ds = np.zeros((d, n)), np.zeros((d, n))
    for o in objective._observables.values():
        rows = o.rows
        fd, nd = objective._formula_derivatives[o.id]
        args = objective._args(o.formula, o, q[rows], pool, None)
        y[rows] = o.formula.evaluate(args, len(rows))
        dy[:, rows] = _chain(o, o.formula, fd, args, dq[:, rows], factors, estimated_at, None)
        args = objective._args(o.noise, o, q[rows], pool, y[rows])
        s[rows] = o.noise.evaluate(args, len(rows))
        ds[:, rows] = _chain(o, o.noise, nd, args, dq[:, rows], factors, estimated_at, dy[:, rows])
    return y, s, dy, ds


def _chain(o, formula, derivatives: FormulaDerivatives, args, dq: np.ndarray, factors: np.ndarray,
           estimated_at: dict[int, int], dy: np.ndarray | None) -> np.ndarray:
    """``d formula / d x`` (shape ``(d, rows)``) by the chain rule over the formula's sources."""
    n = dq.shape[1]
    out = np.zeros((len(factors), n))
    for (kind, where), part in zip(formula.sources, derivatives.evaluate(formula, args, n)):
        if part is None or kind == "time":
            continue
        if kind == "sel":
            out += part * dq[:, :, where]
        elif kind == "y":
            out += part * dy
        elif kind == "pool":
            j = estimated_at.get(int(where))
            if j is not None:
                out[j] += part * factors[j]
        else:  # a placeholder: its value comes from a pool entry per row
            index = (o.obs_index if kind == "obs" else o.noise_index)[:, where]
            for p in np.unique(index):
                j = estimated_at.get(int(p))
                if j is not None:
                    mask = index == p
                    out[j, mask] += part[mask] * factors[j]
    return out

