"""Parameter bounds, output (plausibility) bounds and the flat-bottomed objective.

Parameters are searched in a unit cube: each parameter maps linearly (``scale="linear"``) or in
log10 (``scale="log"``, the default when ``low > 0``) from [0, 1] onto [low, high]. Every point a
generator returns comes back through :meth:`ParameterBounds.to_values` of a clipped cube point, so it
lies inside the bounds by construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..ensemble.metrics import Metric
from ..errors import QSPError

__all__ = ["ParameterBounds", "OutputBounds", "flat_bottom"]

SCALES = ("log", "linear")


def _number(value, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise QSPError(f"{what} must be a number. Got {value!r}.") from None
    if not math.isfinite(out):
        raise QSPError(f"{what} must be finite. Got {value!r}.")
    return out


@dataclass(frozen=True)
class ParameterBounds:
    """Box bounds of the varied parameters.

    Parameters
    ----------
    names : tuple of str
        Parameter (or species / ``[S]``) ids, as ``ensemble.run`` sample columns.
    low, high : tuple of float
        Bounds in model units, ``low < high``.
    scales : tuple of str
        ``"log"`` (log10; needs ``low > 0``) or ``"linear"`` per parameter.
    """

    names: tuple
    low: tuple
    high: tuple
    scales: tuple

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Mapping], *, default_scale: str = "log") -> ParameterBounds:
        """Build from ``{pid: {"low", "high", "scale"?, "distribution"?}}`` (e.g. model metadata ranges).

        The scale is ``scale`` when given; otherwise ``log`` when ``default_scale`` is ``"log"`` and
        ``low > 0``, else ``linear``. A ``distribution`` key is ignored (bounds are a box).
        """
        if not isinstance(spec, Mapping) or not spec:
            raise QSPError("parameter bounds must be a non-empty mapping {id: {low, high[, scale]}}")
        if default_scale not in SCALES:
            raise QSPError(f"default_scale must be one of {SCALES}. Got {default_scale!r}.")
        names, lows, highs, scales = [], [], [], []
        for pid, item in spec.items():
            if isinstance(item, Mapping):
                low, high, scale = item.get("low"), item.get("high"), item.get("scale")
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                (low, high), scale = item, None
            else:
                raise QSPError(f"bounds of parameter {pid!r} must be {{low, high[, scale]}} or (low, high). "
                               f"Got {item!r}.")
            low = _number(low, f"low bound of parameter {pid!r}")
            high = _number(high, f"high bound of parameter {pid!r}")
            if not low < high:
                raise QSPError(f"parameter {pid!r}: need low < high. Got low={low}, high={high}.")
            if scale is None:
                scale = "log" if default_scale == "log" and low > 0 else "linear"
            if scale not in SCALES:
                raise QSPError(f"scale of parameter {pid!r} must be one of {SCALES}. Got {scale!r}.")
            if scale == "log" and low <= 0:
                raise QSPError(f"parameter {pid!r}: log scale needs low > 0. Got {low}; use scale = \"linear\".")
            names.append(str(pid))
            lows.append(low)
            highs.append(high)
            scales.append(scale)
        return cls(tuple(names), tuple(lows), tuple(highs), tuple(scales))

    @property
    def dim(self) -> int:
        """Number of parameters."""
        return len(self.names)

    def _ends(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        log = np.array([s == "log" for s in self.scales])
        lo, hi = np.array(self.low, float), np.array(self.high, float)
        lo_t = np.where(log, np.log10(np.where(log, lo, 1.0)), lo)
        hi_t = np.where(log, np.log10(np.where(log, hi, 1.0)), hi)
        return log, lo_t, hi_t

    def to_values(self, u: np.ndarray) -> np.ndarray:
        """Map unit-cube points (n x dim) to parameter values; ``u`` is clipped to [0, 1] first."""
        log, lo_t, hi_t = self._ends()
        z = lo_t + np.clip(np.asarray(u, float), 0.0, 1.0) * (hi_t - lo_t)
        x = np.where(log, 10.0 ** z, z)
        return np.clip(x, np.array(self.low), np.array(self.high))  # no rounding past the ends

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Map parameter values (n x dim) to the unit cube (not clipped)."""
        log, lo_t, hi_t = self._ends()
        x = np.asarray(x, float)
        z = np.where(log, np.log10(np.where(log, np.maximum(x, 1e-300), 1.0)), x)
        return (z - lo_t) / (hi_t - lo_t)

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Boolean per row: every value inside [low, high]."""
        x = np.atleast_2d(np.asarray(x, float))
        return ((x >= np.array(self.low)) & (x <= np.array(self.high))).all(axis=1)

    def frame(self, u: np.ndarray) -> pd.DataFrame:
        """The parameter table (columns = names) of unit-cube points."""
        return pd.DataFrame(self.to_values(np.atleast_2d(u)), columns=list(self.names))

    def to_dict(self) -> dict:
        """``{pid: {low, high, scale}}``."""
        return {n: {"low": lo, "high": hi, "scale": s}
                for n, lo, hi, s in zip(self.names, self.low, self.high, self.scales)}


@dataclass(frozen=True)
class OutputBounds:
    """Plausible interval of each model output (a per-simulation metric).

    Parameters
    ----------
    names : tuple of str
        Output names (the metric column names).
    metrics : tuple of Metric
        How each output is computed from a simulation (``Metric(..., name=name)``).
    low, high : tuple of float
        Plausible interval [low, high] per output (model units).
    scales : tuple of str
        ``"linear"`` or ``"log"`` (distance measured in log10; needs ``low > 0``).
    """

    names: tuple
    metrics: tuple
    low: tuple
    high: tuple
    scales: tuple

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Mapping]) -> OutputBounds:
        """Build from ``{name: {"metric": "value_at:TV:21", "low", "high", "scale"?}}``.

        ``metric`` may be a :class:`~qsp.ensemble.Metric` or its short string; its column is renamed to
        ``name``. Without ``metric`` the name itself is parsed as the short string.
        """
        if not isinstance(spec, Mapping) or not spec:
            raise QSPError("output bounds must be a non-empty mapping {name: {metric, low, high}}")
        names, metrics, lows, highs, scales = [], [], [], [], []
        for name, item in spec.items():
            if not isinstance(item, Mapping):
                raise QSPError(f"output {name!r} must be a table {{metric, low, high[, scale]}}. Got {item!r}.")
            metric = item.get("metric", name)
            if isinstance(metric, str):
                metric = Metric.parse(metric)
            if not isinstance(metric, Metric):
                raise QSPError(f"metric of output {name!r} must be a Metric or a string like 'value_at:TV:21'")
            metric = Metric(metric.function, metric.output, dict(metric.kwargs), name=str(name))
            low = _number(item.get("low"), f"low bound of output {name!r}")
            high = _number(item.get("high"), f"high bound of output {name!r}")
            if not low < high:
                raise QSPError(f"output {name!r}: need low < high. Got low={low}, high={high}.")
            scale = item.get("scale", "linear")
            if scale not in SCALES:
                raise QSPError(f"scale of output {name!r} must be one of {SCALES}. Got {scale!r}.")
            if scale == "log" and low <= 0:
                raise QSPError(f"output {name!r}: log scale needs low > 0. Got {low}.")
            names.append(str(name))
            metrics.append(metric)
            lows.append(low)
            highs.append(high)
            scales.append(scale)
        return cls(tuple(names), tuple(metrics), tuple(lows), tuple(highs), tuple(scales))

    def objective(self, y: np.ndarray) -> np.ndarray:
        """Flat-bottomed objective of each row of outputs ``y`` (n x outputs); see :func:`flat_bottom`."""
        return flat_bottom(y, self.low, self.high, self.scales)

    def inside(self, y: np.ndarray) -> np.ndarray:
        """Boolean per row: every output finite and inside its interval."""
        y = np.atleast_2d(np.asarray(y, float))
        return (np.isfinite(y) & (y >= np.array(self.low)) & (y <= np.array(self.high))).all(axis=1)

    def to_dict(self) -> dict:
        """``{name: {metric, low, high, scale}}`` (metric as function/output/kwargs)."""
        return {n: {"function": m.function, "output": m.output, "kwargs": dict(m.kwargs), "low": lo,
                    "high": hi, "scale": s}
                for n, m, lo, hi, s in zip(self.names, self.metrics, self.low, self.high, self.scales)}


def flat_bottom(y, low, high, scales=None) -> np.ndarray:
    """Flat-bottomed distance of outputs to their plausible intervals.

    ``g = sum_i max(((y_i - c_i) / h_i)^2 - 1, 0)`` with centre ``c_i = (l_i + u_i) / 2`` and half-width
    ``h_i = (u_i - l_i) / 2`` (Allen, Rieger & Musante 2016, each term scaled by h_i^2 so that outputs of
    different units weigh alike; on log10 values for ``scale="log"``). ``g = 0`` exactly when every
    output lies in its interval; a row with a non-finite output (a failed simulation) scores ``inf``.

    Parameters
    ----------
    y : array (n, k)
        Output values.
    low, high : sequence of float (k)
        Interval ends.
    scales : sequence of str (k), optional
        ``"linear"`` (default) or ``"log"``.

    Returns
    -------
    ndarray (n,)
    """
    y = np.atleast_2d(np.asarray(y, float))
    low, high = np.asarray(low, float), np.asarray(high, float)
    log = np.array([s == "log" for s in (scales or ["linear"] * len(low))])
    with np.errstate(divide="ignore", invalid="ignore"):
        yt = np.where(log, np.log10(np.where(y > 0, y, np.nan)), y)
        lo = np.where(log, np.log10(np.where(log, low, 1.0)), low)
        hi = np.where(log, np.log10(np.where(log, high, 1.0)), high)
        c, h = (lo + hi) / 2, (hi - lo) / 2
        terms = np.maximum(((yt - c) / h) ** 2 - 1.0, 0.0)
    g = terms.sum(axis=1)
    g[~np.isfinite(yt).all(axis=1)] = np.inf
    return g
