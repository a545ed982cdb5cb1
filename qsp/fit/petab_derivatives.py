"""The derivatives and least-squares forms of a PEtab objective (a mixin of
:class:`~qsp.fit.petab_problem.PetabObjective`).

:meth:`~PetabDerivatives.gradient` and :meth:`~PetabDerivatives.jacobian` are exact through the
observable, noise and prior formulas and difference the simulations only
(:mod:`qsp.fit.petab_gradient`). :meth:`~PetabDerivatives.fisher_information` is the expected Fisher information (Gauss-Newton
matrix) from the same derivatives. :meth:`~PetabDerivatives.residuals` are the weighted residuals of a
sum-of-squares problem; :meth:`~PetabDerivatives.with_noise_residuals` extends them to estimated noise
scales with one residual ``sqrt(2 log(sigma) + c)`` per measurement, so that half the sum of all squares
is the negative log-likelihood plus a constant.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from ..errors import SimulationError
from . import noise
from .petab_gradient import (noise_derivatives, observable_derivatives, residual_derivatives, scale_factors,
                             steps)

__all__ = ["PetabDerivatives", "prior_gradient", "prior_curvature", "fisher_weights", "sigma_residuals",
           "sigma_offset"]


class PetabDerivatives:
    """Gradient, residuals and their Jacobian of a :class:`~qsp.fit.petab_problem.PetabObjective`."""

    #: Whether :meth:`residuals` adds a residual per measurement for estimated noise scales.
    noise_residuals: bool = False

    def residuals(self, x: np.ndarray) -> np.ndarray | None:
        """Weighted residuals ``(t(m) - t(y)) / sigma``, one per measurement, when the problem is a sum of
        squares: every noise model normal (lin, log or log10), noise scales that depend neither on an
        estimated parameter nor on the simulation, and no priors (else None). Then ``0.5 * sum(r**2)``
        plus a constant is :meth:`nllh`. With :attr:`noise_residuals` (:meth:`with_noise_residuals`),
        estimated noise scales are allowed: one residual per measurement for its noise scale follows.
        Where a simulation fails, every residual is inf."""
        if not self.least_squares:
            return None
        x = self._x(x)
        try:
            y, s = self._evaluate(x)
        except SimulationError as exc:
            self.last_error = str(exc)
            return np.full(self._n_residuals, np.inf)
        r = self._residuals(y, s)
        if not self._sigma_fixed:
            r = np.concatenate([r, sigma_residuals(s, self._offset())])
        return np.where(np.isnan(r), np.inf, r)

    @property
    def least_squares(self) -> bool:
        """Whether :meth:`residuals` gives residuals (the problem is a weighted sum of squares)."""
        return ((self._sigma_fixed or self.noise_residuals) and not self.with_prior
                and all(d.endswith("normal") for d in self._by_distribution))

    @property
    def _n_residuals(self) -> int:
        return self.n_measurements * (1 if self._sigma_fixed else 2)

    def with_noise_residuals(self) -> PetabDerivatives:
        """A copy whose :meth:`residuals` make the problem a sum of squares also when noise parameters are
        estimated: after the weighted residuals, ``sqrt(2 log(sigma) + c)`` per measurement, so that
        ``0.5 * sum(r**2)`` is :meth:`nllh` plus a constant (for trust-region least squares). ``c`` keeps
        the root real for every noise scale the noise parameters give within their bounds (the root is 0
        below that). Still None for Laplace noise or with priors."""
        out = copy.copy(self)
        out.noise_residuals, out._noise_offset, out._last = True, None, None
        return out

    def _offset(self) -> float:
        if self._noise_offset is None:
            self._noise_offset = sigma_offset(self)
        return self._noise_offset

    # ------------------------------------------------------------------ derivatives
    def _derivatives(self, x: np.ndarray):
        """``y``, ``s`` and their derivatives ``dy``, ``ds`` (shape ``(d, rows)``) at ``x``."""
        pool, sim = self._simulated(x)
        sp = self.space
        central = self.differences == "central"
        h = steps(x, sp.scales, sp.lower, sp.upper, self.rtol, self.gradient_step, central)
        dsim, runs = self._sensitivities.differences(self._run_groups, pool, x, sp.scales, sim, h, central)
        self.n_simulations += runs
        return observable_derivatives(self, sim[self._rows], dsim[:, self._rows], pool,
                                      scale_factors(x, sp.scales), self._estimated_at)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Gradient of :meth:`nllh` on the parameter scale: exact through the observable, noise and prior
        formulas, with finite differences (:attr:`differences`) of the simulations for the parameters
        they read (:mod:`qsp.fit.petab_gradient`). NaN where a simulation fails."""
        x = self._x(x)
        try:
            y, s, dy, ds = self._derivatives(x)
        except SimulationError as exc:
            self.last_error = str(exc)
            return np.full(len(x), np.nan)
        return self._gradient(x, y, s, dy, ds)

    def _gradient(self, x, y, s, dy, ds) -> np.ndarray:
        """The gradient from the observables, noise scales and their derivatives (prior included)."""
        gy, gs = np.empty(self.n_measurements), np.empty(self.n_measurements)
        for dist, rows in self._by_distribution.items():
            gy[rows], gs[rows] = noise_derivatives(self._measured[rows], y[rows], s[rows], dist)
        g = dy @ gy + ds @ gs
        if self.with_prior:
            g += prior_gradient(self._table, x)
        return g

    def fisher_information_terms(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``(nllh, gradient, fisher_information)`` at ``x`` from one set of simulations (for trust-region
        methods: ``fit(obj, method="fides")``); ``(inf, nan, nan)`` where a simulation fails."""
        x = self._x(x)
        d = len(x)
        try:
            y, s, dy, ds = self._derivatives(x)
        except SimulationError as exc:
            self.last_error = str(exc)
            return math.inf, np.full(d, np.nan), np.full((d, d), np.nan)
        f = float(self._terms(y, s).sum())
        g = self._gradient(x, y, s, dy, ds)
        wy, ws = np.empty(self.n_measurements), np.empty(self.n_measurements)
        for dist, rows in self._by_distribution.items():
            wy[rows], ws[rows] = fisher_weights(y[rows], s[rows], dist)
        with np.errstate(all="ignore"):
            h = (dy * wy) @ dy.T + (ds * ws) @ ds.T
        if self.with_prior:
            f += self._table.neg_log_prior(x)
            h += np.diag(prior_curvature(self._table, x))
        return (f if math.isfinite(f) else math.inf), g, h

    def fisher_information(self, x: np.ndarray) -> np.ndarray:
        """The expected Fisher information of :meth:`nllh` on the parameter scale (plus the prior's
        curvature where there are priors): the Gauss-Newton matrix ``sum_rows (t'(y) dy)(t'(y) dy)^T / s^2
        + k ds ds^T / s^2`` with ``k`` 2 for normal and 1 for Laplace noise (``t'``: the slope of the
        observable transformation), from the same derivatives as :meth:`gradient`. NaN where a simulation
        fails."""
        return self.fisher_information_terms(x)[2]

    def jacobian(self, x: np.ndarray) -> np.ndarray | None:
        """Jacobian of :meth:`residuals` (one row per residual, one column per estimated parameter), or None
        when there are no residuals; a column whose simulations fail is 0. For scipy's ``least_squares``:
        ``fit(obj, method="least_squares", options={"jac": obj.jacobian})``."""
        if not self.least_squares:
            return None
        x = self._x(x)
        try:
            y, s, dy, ds = self._derivatives(x)
        except SimulationError as exc:
            self.last_error = str(exc)
            return np.zeros((self._n_residuals, len(x)))
        ry, rs = np.empty(self.n_measurements), np.empty(self.n_measurements)
        for dist, rows in self._by_distribution.items():
            ry[rows], rs[rows] = residual_derivatives(self._measured[rows], y[rows], s[rows], dist)
        jac = (dy * ry + ds * rs).T
        if not self._sigma_fixed:
            jac = np.vstack([jac, sigma_residual_derivatives(s, self._offset(), ds).T])
        return np.where(np.isfinite(jac), jac, 0.0)

    def _residuals(self, y, s) -> np.ndarray:
        r = np.empty(self.n_measurements)
        for dist, rows in self._by_distribution.items():
            r[rows] = noise.residuals(self._measured[rows], y[rows], s[rows], dist)
        return r


def prior_gradient(table, x: np.ndarray) -> np.ndarray:
    """Gradient of the negative log prior (central differences of the prior alone: no simulation)."""
    g = np.zeros(len(x))
    for j, prior in enumerate(table.priors):
        if prior is not None:
            h = 1e-6 * max(1.0, abs(x[j]))
            up, down = x.copy(), x.copy()
            up[j] += h
            down[j] -= h
            g[j] = (table.neg_log_prior(up) - table.neg_log_prior(down)) / (2 * h)
    return g


def prior_curvature(table, x: np.ndarray) -> np.ndarray:
    """Second derivatives of the negative log prior in each parameter (central differences of the prior
    alone; the priors are independent, so the prior's Hessian is diagonal)."""
    c = np.zeros(len(x))
    f0 = None
    for j, prior in enumerate(table.priors):
        if prior is not None:
            f0 = table.neg_log_prior(x) if f0 is None else f0
            h = 1e-4 * max(1.0, abs(x[j]))
            up, down = x.copy(), x.copy()
            up[j] += h
            down[j] -= h
            c[j] = (table.neg_log_prior(up) - 2 * f0 + table.neg_log_prior(down)) / (h * h)
    return np.where(np.isfinite(c), c, 0.0)


def fisher_weights(y: np.ndarray, s: np.ndarray, distribution: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-row weights ``(t'(y)^2 / s^2, k / s^2)`` of ``dy dy^T`` and ``ds ds^T`` in the expected Fisher
    information (``k``: 2 for normal, 1 for Laplace noise)."""
    how, shape = noise.DISTRIBUTIONS[distribution]
    with np.errstate(all="ignore"):
        slope = np.ones_like(y) if how == "lin" else (1.0 / y if how == "log" else 1.0 / (y * math.log(10.0)))
        return slope * slope / (s * s), (2.0 if shape == "normal" else 1.0) / (s * s)


def sigma_residuals(s: np.ndarray, offset: float) -> np.ndarray:
    """``sqrt(2 log(s) + offset)`` (0 where the root would not be real): half their squares sum to the
    ``log(sigma)`` terms of the negative log-likelihood plus a constant."""
    with np.errstate(all="ignore"):
        return np.sqrt(np.maximum(2.0 * np.log(s) + offset, 0.0))


def sigma_residual_derivatives(s: np.ndarray, offset: float, ds: np.ndarray) -> np.ndarray:
    """``d sigma_residuals / dx`` (shape ``(d, rows)``) from ``ds``."""
    e = sigma_residuals(s, offset)
    with np.errstate(all="ignore"):
        return np.where(e > 0, ds / (s * e), 0.0)


def sigma_offset(objective) -> float:
    """The constant ``c`` of :func:`sigma_residuals`: ``1 - 2 log(sigma_min)`` (at least 1), where
    ``sigma_min`` is the smallest noise scale at the nominal parameters or with the estimated parameters
    all at their lower or all at their upper bounds (the simulation at the nominal parameters)."""
    sp = objective.space
    pool, sim = objective._simulated(sp.nominal)
    q = sim[objective._rows]
    smallest = np.inf
    for x in (sp.nominal, sp.lower, sp.upper):
        pool = objective._pool.values(objective._base, x)
        for o in objective._observables.values():
            rows = o.rows
            y = o.formula.evaluate(objective._args(o.formula, o, q[rows], pool, None), len(rows))
            s = o.noise.evaluate(objective._args(o.noise, o, q[rows], pool, y), len(rows))
            s = s[np.isfinite(s) & (s > 0)]
            if len(s):
                smallest = min(smallest, float(s.min()))
    return max(1.0, 1.0 - 2.0 * math.log(smallest)) if math.isfinite(smallest) else 1.0
