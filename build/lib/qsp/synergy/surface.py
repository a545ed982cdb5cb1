"""Dose-response surfaces of two treatments, simulated as one ensemble table.

A treatment is either a dose of a species (``Treatment("A1", unit="mg/kg", time=3, every=3,
count=5)``) or a parameter-driven intervention (``Treatment(("RT1_dose", "RT2_dose"),
parameter=True)``: the level sets each parameter, e.g. Gy per radiotherapy fraction). A surface
describes every grid point, the dense single-treatment curves and the untreated control as
regimens of one :func:`qsp.ensemble.run` call; it never loops over simulations itself.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

from ..dosing import Dose
from ..ensemble.metrics import Metric
from ..errors import QSPError, QSPWarning
from .result import _edges, _json_default

__all__ = [
    "DoseResponseSurface",
    "MonoCurve",
    "Response",
    "Treatment",
    "dose_grid",
    "parse_grid",
    "simulate_surface",
]


@dataclass(frozen=True)
class Treatment:
    """One axis of a combination: a dosed species or parameter-driven treatment.

    Parameters
    ----------
    target : str or tuple of str
        Dose target species id; with ``parameter=True``, the parameter id(s) the level is written to
        (a string may join several with ``+``).
    unit : str, optional
        Dose unit (``'mg/kg'``, ``'mg'``...); None: model substance units. Ignored for parameters.
    time, every, count, duration
        Schedule of each dose level, as in :class:`qsp.Dose` (model time unit).
    times : sequence of float, optional
        Several first-dose times, each repeated ``count`` times every ``every`` (replaces ``time``):
        three times a week for three weeks from day 7 is ``times=(7, 9, 11), every=7, count=3``.
    name : str, optional
        Label in tables and plots (default: the target).
    parameter : bool, default False
        The level is a parameter value instead of a dose amount.
    """

    target: str | tuple
    unit: str | None = None
    time: float = 0.0
    every: float | None = None
    count: int = 1
    duration: float | None = None
    name: str | None = None
    parameter: bool = False
    times: tuple | None = None

    def __post_init__(self):
        tgt = self.target
        if isinstance(tgt, str):
            tgt = tuple(t.strip() for t in tgt.split("+")) if self.parameter else tgt.strip()
        elif isinstance(tgt, (list, tuple)):
            tgt = tuple(str(t) for t in tgt)
            if not self.parameter:
                raise QSPError("a dosed Treatment takes one target species; use parameter=True for several parameters")
        else:
            raise QSPError(f"Treatment target must be a string. Got {tgt!r}.")
        if not tgt:
            raise QSPError("Treatment target is empty")
        object.__setattr__(self, "target", tgt)
        if self.times is not None:
            try:
                times = tuple(float(t) for t in np.atleast_1d(self.times))
            except (TypeError, ValueError):
                raise QSPError(f"Treatment times must be numbers. Got {self.times!r}.") from None
            if not times:
                raise QSPError("Treatment times is empty; give at least one first-dose time or leave it None")
            object.__setattr__(self, "times", times)
            object.__setattr__(self, "time", times[0])
        if not self.parameter:  # validate the schedule once, at the boundary
            for t in self.times or (self.time,):
                Dose(tgt, 1.0, time=t, every=self.every, count=self.count, duration=self.duration, unit=self.unit)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return "+".join(self.target) if self.parameter else self.target

    def with_schedule(self, **changes) -> Treatment:
        """A copy with schedule fields changed (time, every, count, duration, times).

        Changing ``time`` of a treatment with several first-dose ``times`` shifts them all.
        """
        fields = {k: getattr(self, k) for k in ("target", "unit", "time", "every", "count", "duration", "name",
                                                 "parameter", "times")}
        if "time" in changes and self.times is not None and "times" not in changes:
            shift = float(changes["time"]) - self.times[0]
            changes = {**changes, "times": tuple(t + shift for t in self.times)}
        fields.update(changes)
        return Treatment(**fields)

    def part(self, level: float) -> tuple[list[Dose], dict[str, float]]:
        """Doses and parameter overrides that give this treatment at ``level``."""
        if self.parameter:
            return [], {p: float(level) for p in self.target}
        if level <= 0:
            return [], {}
        return [Dose(self.target, float(level), time=t, every=self.every, count=self.count,
                     duration=self.duration, unit=self.unit) for t in (self.times or (self.time,))], {}

    @classmethod
    def parse(cls, text: str, schedule: dict | None = None) -> Treatment:
        """``TARGET[:UNIT]`` or ``param:P1+P2+...`` with an optional schedule dict."""
        text = text.strip()
        schedule = dict(schedule or {})
        if text.startswith("param:"):
            return cls(text[len("param:"):], parameter=True)
        target, _, unit = text.partition(":")
        return cls(target, unit=unit or None, **schedule)


@dataclass(frozen=True)
class Response:
    """How the efficacy of a regimen is measured.

    ``kind='tgi'``: tumour growth inhibition ``(V_ctrl - V) / V_ctrl`` of ``metric`` against the
    untreated run of the same parameter set; ``kind='value'``: the metric itself (it must rise with dose).
    """

    metric: Metric
    kind: str = "tgi"

    def __post_init__(self):
        if self.kind not in ("tgi", "value"):
            raise QSPError(f"Response kind must be 'tgi' or 'value'. Got {self.kind!r}.")

    @classmethod
    def parse(cls, text) -> Response:
        """``tgi:OUTPUT:T`` (TGI of OUTPUT at time T) or any ensemble metric string (``value_at:E:10``)."""
        if isinstance(text, Response):
            return text
        if isinstance(text, Metric):
            return cls(text, "value")
        parts = str(text).split(":")
        if parts[0] == "tgi":
            if len(parts) != 3:
                raise QSPError(f"response {text!r} must look like tgi:OUTPUT:TIME, e.g. tgi:W:35")
            try:
                at = float(parts[2])
            except ValueError:
                raise QSPError(f"response {text!r}: time {parts[2]!r} is not a number") from None
            return cls(Metric("value_at", parts[1], {"at": at}, name="response_raw"), "tgi")
        m = Metric.parse(str(text))
        return cls(Metric(m.function, m.output, m.kwargs, name="response_raw"), "value")

    @property
    def label(self) -> str:
        if self.kind == "tgi":
            return f"TGI of {self.metric.output} at t={self.metric.kwargs['at']:g}"
        return f"{self.metric.function}({self.metric.output})"


def dose_grid(low: float, high: float, n: int, *, scale: str = "linear", zero: bool = False) -> np.ndarray:
    """``n`` levels from ``low`` to ``high`` (linear or log spacing), optionally preceded by 0."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise QSPError(f"grid size must be a positive integer. Got {n!r}.")
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high < low:
        raise QSPError(f"grid bounds must satisfy 0 <= low <= high. Got {low!r}, {high!r}.")
    if scale == "log":
        if low <= 0:
            raise QSPError(f"a log grid needs low > 0. Got {low!r}.")
        g = np.geomspace(low, high, n)
    elif scale == "linear":
        g = np.linspace(low, high, n)
    else:
        raise QSPError(f"grid scale must be 'linear' or 'log'. Got {scale!r}.")
    return np.concatenate([[0.0], g]) if zero and g[0] > 0 else g


def parse_grid(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``A_MIN:A_MAX:N[:log],B_MIN:B_MAX:N[:log]`` -> the two dose arrays."""
    axes = text.split(",")
    if len(axes) != 2:
        raise QSPError(f"grid {text!r} must give two axes separated by a comma, e.g. 0.4:10.9:30,0.14:3.5:30")
    out = []
    for ax in axes:
        parts = ax.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin", "linear")):
            raise QSPError(f"grid axis {ax!r} must be MIN:MAX:N or MIN:MAX:N:log")
        try:
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise QSPError(f"grid axis {ax!r}: MIN and MAX must be numbers and N an integer") from None
        out.append(dose_grid(lo, hi, n, scale="log" if len(parts) == 4 and parts[3] == "log" else "linear"))
    return out[0], out[1]


class MonoCurve:
    """A single-treatment response curve (dense, simulated) with exact-interpolant inversion.

    The curve is a monotone (PCHIP) interpolant through the simulated levels, in log dose above the
    smallest positive level and linear from dose 0 to it; the dose giving
    effect ``e`` is its first crossing (root-found), ``inf`` when ``e`` exceeds the largest
    simulated effect (the treatment alone cannot reach it within the simulated range).
    """

    def __init__(self, doses, effects):
        d = np.asarray(doses, dtype=float)
        e = np.asarray(effects, dtype=float)
        ok = np.isfinite(d) & np.isfinite(e)
        order = np.argsort(d[ok])
        d, e = d[ok][order], e[ok][order]
        d, keep = np.unique(d, return_index=True)
        e = e[keep]
        if d.size < 3:
            raise QSPError("a single-treatment curve needs at least 3 finite points")
        self.doses, self.effects = d, e
        pos = d > 0
        # Dose-response curves are smooth in log dose: interpolate there (exact at the knots, far smaller
        # error between log-spaced knots), and linearly between dose 0 and the smallest positive dose.
        self._log = int(pos.sum()) >= 3
        if self._log:
            self._g = PchipInterpolator(np.log(d[pos]), e[pos], extrapolate=False)
            self._zero = (float(d[0]), float(e[0])) if not pos[0] else None
            self._dmin, self._emin = float(d[pos][0]), float(e[pos][0])
        else:
            self._g = PchipInterpolator(d, e, extrapolate=False)
        self.max_dose = float(d[-1])

    def _f(self, x):
        x = np.asarray(x, dtype=float)
        if not self._log:
            return self._g(x)
        out = np.full(x.shape, np.nan)
        hi = x >= self._dmin
        with np.errstate(divide="ignore", invalid="ignore"):
            out[hi] = self._g(np.log(x[hi]))
        if self._zero is not None:
            lo = (x >= 0) & ~hi
            d0, e0 = self._zero
            out[lo] = e0 + (self._emin - e0) * (x[lo] - d0) / (self._dmin - d0)
        return out[()] if out.ndim == 0 else out

    def effect(self, d) -> np.ndarray:
        """Effect at dose(s) within the simulated range (NaN outside)."""
        return self._f(np.asarray(d, dtype=float))

    def inverse(self, E) -> np.ndarray:
        """Smallest dose giving effect ``E`` (0 at or below the zero-dose effect, inf when unreachable)."""
        scalar = np.ndim(E) == 0
        E = np.atleast_1d(np.asarray(E, dtype=float))
        out = np.full(E.shape, np.nan)
        d, e = self.doses, self.effects
        run_max = np.maximum.accumulate(e)
        for k, target in enumerate(E.ravel()):
            if not np.isfinite(target):
                continue
            if target <= e[0]:
                out.flat[k] = d[0]
                continue
            if target > run_max[-1]:
                out.flat[k] = np.inf
                continue
            j = int(np.searchsorted(run_max, target))  # first knot with effect >= target
            if e[j] == target:
                out.flat[k] = d[j]
                continue
            a, b = d[j - 1], d[j]
            out.flat[k] = brentq(lambda x, target=target: float(self._f(x)) - target, a, b, xtol=1e-13 * max(b, 1e-300),
                                 rtol=1e-13)
        return float(out[0]) if scalar else out

    def ec(self, level: float) -> float:
        """Dose giving effect ``level`` (e.g. EC50 for level 0.5 on a TGI scale)."""
        return float(self.inverse(float(level)))


@dataclass
class DoseResponseSurface:
    """Simulated (or given) responses on a two-treatment dose grid.

    Attributes
    ----------
    d1, d2 : ndarray
        Grid levels of treatment 1 (n1) and 2 (n2).
    effect : ndarray
        (n_samples, n1, n2) efficacy (TGI or the response metric).
    mono1, mono2 : ndarray
        Dense single-treatment levels (m1, m2) and ``mono1_effect``, ``mono2_effect`` (n_samples, m).
    extras : dict
        name -> (n_samples, n1, n2) extra metrics at the grid points (toxicity...).
    samples : DataFrame or None
        Parameter sets (one per sample), None for the nominal model.
    names : (str, str)
        Treatment labels.
    response : str
        What the effect is.
    table : DataFrame or None
        The ensemble table the surface came from (every task, failures included).
    """

    d1: np.ndarray
    d2: np.ndarray
    effect: np.ndarray
    mono1: np.ndarray
    mono1_effect: np.ndarray
    mono2: np.ndarray
    mono2_effect: np.ndarray
    extras: dict = field(default_factory=dict)
    samples: pd.DataFrame | None = None
    names: tuple = ("drug 1", "drug 2")
    units: tuple = ("", "")
    response: str = "effect"
    table: pd.DataFrame | None = None
    n_failed: int = 0

    @property
    def n_samples(self) -> int:
        return self.effect.shape[0]

    def mono_curve(self, which: int, sample: int = 0) -> MonoCurve:
        """The dense single-treatment curve of treatment ``which`` (1 or 2) for one sample."""
        if which == 1:
            return MonoCurve(self.mono1, self.mono1_effect[sample])
        if which == 2:
            return MonoCurve(self.mono2, self.mono2_effect[sample])
        raise QSPError(f"which must be 1 or 2. Got {which!r}.")

    @classmethod
    def from_function(cls, f, d1, d2, *, mono1=None, mono2=None, names=("drug 1", "drug 2"),
                      response: str = "effect", extras: dict | None = None) -> DoseResponseSurface:
        """Surface of a vectorised function ``f(d1, d2)`` (analytic models, tests).

        ``mono1``/``mono2``: dense single-drug levels (default: 0 plus 2000 log-spaced levels up to
        100 x the grid maximum).
        """
        d1, d2 = np.asarray(d1, float), np.asarray(d2, float)

        def dense(g):
            pos = g[g > 0]
            return np.concatenate([[0.0], np.geomspace(pos.min() / 100, pos.max() * 100, 2000), g])

        m1 = np.unique(dense(d1) if mono1 is None else np.asarray(mono1, float))
        m2 = np.unique(dense(d2) if mono2 is None else np.asarray(mono2, float))
        D1, D2 = np.meshgrid(d1, d2, indexing="ij")
        ex = {k: np.asarray(v(D1, D2), float)[None] for k, v in (extras or {}).items()}
        return cls(d1, d2, np.asarray(f(D1, D2), float)[None], m1, np.asarray(f(m1, 0 * m1), float)[None],
                   m2, np.asarray(f(0 * m2, m2), float)[None], ex, None, tuple(names), ("", ""), response)

    def to_pandas(self) -> pd.DataFrame:
        """Tidy grid table: sample, d1, d2, effect and extra metrics."""
        n_s, n1, n2 = self.effect.shape
        s, i, j = np.meshgrid(np.arange(n_s), np.arange(n1), np.arange(n2), indexing="ij")
        df = pd.DataFrame({"sample": s.ravel(), "i": i.ravel(), "j": j.ravel(), "d1": self.d1[i.ravel()],
                           "d2": self.d2[j.ravel()], "effect": self.effect.ravel()})
        for k, v in self.extras.items():
            df[k] = v.ravel()
        return df

    def to_csv(self, path) -> None:
        self.to_pandas().to_csv(path, index=False)

    def to_json(self, path=None) -> str:
        """JSON: names, response, grid levels, effect array, dense single-treatment curves."""
        d = {"names": list(self.names), "units": list(self.units), "response": self.response,
             "d1": self.d1, "d2": self.d2, "effect": self.effect, "mono1": self.mono1,
             "mono1_effect": self.mono1_effect, "mono2": self.mono2, "mono2_effect": self.mono2_effect,
             "extras": self.extras, "n_failed": self.n_failed}
        text = json.dumps(d, default=_json_default)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def plot(self, ax=None, *, sample: int = 0, contours=(0.1, 0.3, 0.5, 0.7, 0.9), log: bool = False):
        """Heatmap of the effect on the dose grid with iso-effect contours; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        Z = self.effect[sample].T
        mesh = ax.pcolormesh(_edges(self.d1, log), _edges(self.d2, log), Z, cmap="viridis", shading="flat")
        ax.figure.colorbar(mesh, ax=ax, label=self.response)
        if contours and min(self.d1.size, self.d2.size) > 1:
            cs = ax.contour(self.d1, self.d2, Z, levels=list(contours), colors="white", linewidths=0.8)
            ax.clabel(cs, fmt="%.1f", fontsize=7)
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(_axis_label(self.names[0], self.units[0]))
        ax.set_ylabel(_axis_label(self.names[1], self.units[1]))
        return ax


def _axis_label(name, unit):
    return f"{name} ({unit})" if unit else str(name)


def default_mono_levels(grid: np.ndarray, n: int = 60, factor: float = 20.0) -> np.ndarray:
    """Dense single-treatment levels: 0, ``n`` log-spaced levels from min/factor to max*factor, and the grid."""
    pos = grid[grid > 0]
    if pos.size == 0:
        raise QSPError("a dose grid needs at least one positive level")
    return np.unique(np.concatenate([[0.0], np.geomspace(pos.min() / factor, pos.max() * factor, n), grid]))


def simulate_surface(model, treatment1: Treatment, treatment2: Treatment, d1, d2, *,
                     response="tgi:W:35", extra_metrics=(), samples: pd.DataFrame | None = None,
                     params: dict | None = None, mono1=None, mono2=None, mono_points: int = 200,
                     mono_factor: float = 20.0, t_end: float | None = None, points: int | None = None,
                     rtol: float = 1e-8, atol: float = 1e-12, backend="serial", chunk_size: int = 256, seed: int | None = 0,
                     progress: bool | None = False, **run_options) -> DoseResponseSurface:
    """Simulate a two-treatment dose-response surface with one :func:`qsp.ensemble.run` call.

    Parameters
    ----------
    model : qsp.Model
    treatment1, treatment2 : Treatment
        The two axes (dose targets with their schedules, or parameter-driven treatments).
    d1, d2 : array_like
        Grid levels of each treatment (dose unit of the treatment, or parameter value).
    response : str or Response, default 'tgi:W:35'
        ``tgi:OUTPUT:T`` for tumour growth inhibition at time T against the untreated run, or an
        ensemble metric string whose value rises with dose.
    extra_metrics : sequence of str or Metric
        Further per-run metrics kept at the grid points (e.g. a toxicity ``auc:[C1]``).
    samples : DataFrame, optional
        Parameter sets (virtual patients): the whole surface is simulated for each row.
    params : dict, optional
        Fixed parameter overrides applied to every regimen (e.g. a cell line).
    mono1, mono2 : array_like, optional
        Dense single-treatment levels for EC50s and inverse doses (default: see ``mono_points``).
    mono_points, mono_factor
        Default dense levels: 0, ``mono_points`` log-spaced levels from min/``mono_factor`` to
        max*``mono_factor`` of the grid, plus the grid levels.
    rtol, atol : float
        Integrator tolerances (tighter than the ensemble default: TGI differences matter here).
    t_end, points, backend, chunk_size, seed, progress, **run_options
        Passed to :func:`qsp.ensemble.run`.

    Returns
    -------
    DoseResponseSurface
        Failed simulations leave NaN effects; their count is ``n_failed`` and the rows stay in ``table``.
    """
    from .. import ensemble

    resp = Response.parse(response)
    if not isinstance(treatment1, Treatment) or not isinstance(treatment2, Treatment):
        raise QSPError("treatment1 and treatment2 must be qsp.synergy.Treatment objects")
    d1 = np.asarray(d1, dtype=float).ravel()
    d2 = np.asarray(d2, dtype=float).ravel()
    for name, g in (("d1", d1), ("d2", d2)):
        if g.size == 0 or not np.isfinite(g).all() or (g < 0).any():
            raise QSPError(f"{name} must be a non-empty array of finite levels >= 0")
    m1 = default_mono_levels(d1, mono_points, mono_factor) if mono1 is None else np.unique(np.asarray(mono1, float))
    m2 = default_mono_levels(d2, mono_points, mono_factor) if mono2 is None else np.unique(np.asarray(mono2, float))
    fixed = dict(params or {})

    def regimen(a: float, b: float):
        da, pa = treatment1.part(a) if a or treatment1.parameter else ([], {})
        db, pb = treatment2.part(b) if b or treatment2.parameter else ([], {})
        return da + db, {**fixed, **pa, **pb}

    regs = {"control": regimen(0.0, 0.0)}
    for i, a in enumerate(d1):
        for j, b in enumerate(d2):
            regs[f"g{i}_{j}"] = regimen(a, b)
    for k, a in enumerate(m1):
        regs[f"m1_{k}"] = regimen(a, 0.0)
    for k, b in enumerate(m2):
        regs[f"m2_{k}"] = regimen(0.0, b)
    metrics = [resp.metric] + list(ensemble.metrics.as_metrics(extra_metrics))
    with warnings.catch_warnings():  # one warning, below, that names the surface
        warnings.filterwarnings("ignore", message=r".* simulations failed; see result.failures", category=QSPWarning)
        res = ensemble.run(model, samples, regimens=regs, metrics=metrics, t_end=t_end, points=points, rtol=rtol,
                           atol=atol, backend=backend, chunk_size=chunk_size, seed=seed, progress=progress,
                           **run_options)
    table = res.table
    n_reg = len(regs)
    n_s = len(table) // n_reg
    raw = table[resp.metric.name].to_numpy(dtype=float).reshape(n_s, n_reg)
    if resp.kind == "tgi":
        ctrl = raw[:, :1]
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = (ctrl - raw) / ctrl
    else:
        eff = raw
    n1, n2, k1 = d1.size, d2.size, m1.size
    grid = eff[:, 1:1 + n1 * n2].reshape(n_s, n1, n2)
    mono1_e = eff[:, 1 + n1 * n2:1 + n1 * n2 + k1]
    mono2_e = eff[:, 1 + n1 * n2 + k1:]
    extras = {}
    for m in metrics[1:]:
        v = table[m.name].to_numpy(dtype=float).reshape(n_s, n_reg)
        extras[m.name] = v[:, 1:1 + n1 * n2].reshape(n_s, n1, n2)
    if res.n_failed:
        warnings.warn(f"{res.n_failed} of {len(table)} surface simulations failed; their effects are NaN "
                      "(see surface.table)", QSPWarning, stacklevel=2)
    units = tuple("" if t.parameter else (t.unit or "") for t in (treatment1, treatment2))
    samp = samples.reset_index(drop=True) if samples is not None else None
    return DoseResponseSurface(d1, d2, grid, m1, mono1_e, m2, mono2_e, extras, samp,
                               (treatment1.label, treatment2.label), units, resp.label if resp.kind != "tgi"
                               else "TGI", table, res.n_failed)
