"""The objective every fitting analysis works on, and the parameter space it is defined over.

An :class:`Objective` maps a vector ``x`` of estimated parameters *on their scales* (``lin``, ``log``
or ``log10``; bounds on the same scale) to the negative log-likelihood ``nllh(x)`` (``+ -log prior``
when :attr:`Objective.with_prior` is true, i.e. the negative log-posterior up to a constant). It may
also give ``residuals(x)`` (weighted, for least squares: ``0.5 * sum(r**2)`` plus constant terms is
``nllh``) and a gradient. Objectives must be picklable: a worker receives one and calls it many times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

__all__ = ["ParameterSpace", "Objective", "SCALES", "to_linear", "to_scale"]

SCALES = ("lin", "log", "log10")


def to_linear(x: np.ndarray, scales) -> np.ndarray:
    """Values on the parameter scales -> linear values."""
    x = np.asarray(x, dtype=float)
    out = x.copy()
    for i, s in enumerate(scales):
        if s == "log":
            out[..., i] = np.exp(x[..., i])
        elif s == "log10":
            out[..., i] = 10.0 ** x[..., i]
    return out


def to_scale(v: np.ndarray, scales) -> np.ndarray:
    """Linear values -> values on the parameter scales."""
    v = np.asarray(v, dtype=float)
    out = v.copy()
    for i, s in enumerate(scales):
        if s == "log":
            out[..., i] = np.log(v[..., i])
        elif s == "log10":
            out[..., i] = np.log10(v[..., i])
    return out


@dataclass(frozen=True)
class ParameterSpace:
    """The estimated parameters: ids, scales, bounds and nominal values, all on the parameter scale."""

    ids: tuple[str, ...]
    scales: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    nominal: np.ndarray = field(default=None)

    def __post_init__(self):
        n = len(self.ids)
        if len(set(self.ids)) != n:
            raise InputError("parameter ids of a fit must be unique")
        for s in self.scales:
            if s not in SCALES:
                raise InputError(f"parameter scale must be one of {', '.join(SCALES)}; got {s!r}")
        lo, hi = np.asarray(self.lower, float), np.asarray(self.upper, float)
        if lo.shape != (n,) or hi.shape != (n,) or len(self.scales) != n:
            raise InputError("ids, scales, lower and upper of a parameter space must have one entry per parameter")
        bad = np.flatnonzero(~(np.isfinite(lo) & np.isfinite(hi) & (lo < hi)))
        if len(bad):
            i = int(bad[0])
            raise InputError(f"parameter {self.ids[i]!r}: bounds must be finite with lower < upper on its scale; "
                             f"got [{lo[i]:g}, {hi[i]:g}]")
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)
        nom = (lo + hi) / 2 if self.nominal is None else np.asarray(self.nominal, float)
        object.__setattr__(self, "nominal", nom)

    def __len__(self) -> int:
        return len(self.ids)

    def linear(self, x: np.ndarray) -> dict[str, float]:
        """``{id: linear value}`` for a point on the parameter scale."""
        return dict(zip(self.ids, to_linear(np.asarray(x, float), self.scales).tolist()))

    def sample(self, n: int, seed: int | None = 0) -> np.ndarray:
        """``n`` points drawn uniformly within the bounds on the parameter scale (Latin hypercube)."""
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(self), seed=seed).random(n)
        return self.lower + u * (self.upper - self.lower)


class Objective:
    """Base class: subclasses set :attr:`space` and implement :meth:`nllh` (and optionally the rest)."""

    space: ParameterSpace
    #: Whether :meth:`nllh` includes the negative log prior.
    with_prior: bool = False

    def nllh(self, x: np.ndarray) -> float:
        """Negative log-likelihood (or log-posterior) at ``x`` on the parameter scale; inf where simulation fails."""
        raise NotImplementedError

    def residuals(self, x: np.ndarray) -> np.ndarray | None:
        """Weighted residuals for least squares, or None when the objective is not a sum of squares."""
        return None

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Gradient of :meth:`nllh` (central finite differences on the parameter scale unless overridden)."""
        x = np.asarray(x, float)
        g = np.empty_like(x)
        for i in range(len(x)):
            h = 1e-5 * max(1.0, abs(x[i]))
            e = np.zeros_like(x)
            e[i] = h
            g[i] = (self.nllh(x + e) - self.nllh(x - e)) / (2 * h)
        return g

    def __call__(self, x: np.ndarray) -> float:
        return self.nllh(x)
