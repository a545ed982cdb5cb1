"""Dose-response surfaces of two treatments, simulated as one ensemble table.

A surface describes every grid point, the dense single-treatment curves and the untreated control as
regimens of one :func:`qsp.ensemble.run` call; it never loops over simulations itself. The effect
must rise with dose (a TGI, a fraction inhibited); a response that falls with dose is refused.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError, QSPError, QSPWarning
from ..option_names import option
from .grid import check_surface_size, default_mono_levels, dose_grid, parse_grid
from .mono import MonoCurve, check_rising
from ..display import table_html
from .result import _edges, _json_default
from .treatment import Response, Treatment

__all__ = [
    "DoseResponseSurface",
    "MonoCurve",
    "Response",
    "Treatment",
    "default_mono_levels",
    "dose_grid",
    "parse_grid",
    "simulate_surface",
]


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
        What the effect is: ``'TGI'``, or the response metric as written (``'value_at:E:10'``).
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

    @property
    def effect_column(self) -> str:
        """Name of the effect in MOOCS-DS tables: ``tgi`` for a TGI surface, ``effect`` otherwise."""
        return "tgi" if self.response == "TGI" else "effect"

    def __repr__(self) -> str:
        return (f"DoseResponseSurface({self.names[0]} x {self.names[1]}: {self.d1.size} x {self.d2.size} dose pairs, "
                f"{self.n_samples} parameter set(s), response {self.response!r}, {self.n_failed} failed)")

    def _repr_html_(self) -> str:
        facts = (f"{self.names[0]} x {self.names[1]}, {self.d1.size} x {self.d2.size} dose pairs, "
                 f"{self.n_samples} parameter set(s), response {self.response}, {self.n_failed} failed simulations")
        return table_html("DoseResponseSurface", self.to_pandas(), facts)

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


def check_size(n1: int, n2: int, k1: int, k2: int, *, n_samples: int = 1, n_metrics: int = 1,
               points: int | None = None, dense: bool = True) -> None:
    """Refuse a surface of ``n1 x n2`` dose pairs, ``k1 + k2`` single-treatment levels and ``n_samples``
    parameter sets above the memory bound, naming the options that set those sizes."""
    names = dict.fromkeys([option("d1"), option("d2")] + ([option("mono_points")] if dense else [])
                          + ([option("samples")] if n_samples > 1 else []))
    check_surface_size(f"{n1} x {n2} dose pairs, {k1 + k2} single-treatment levels"
                       + (f", {n_samples} parameter sets" if n_samples > 1 else "") + f" ({', '.join(names)})",
                       n1, n2, k1, k2, n_samples=n_samples, n_metrics=n_metrics, points=points)


def simulate_surface(model, treatment1: Treatment, treatment2: Treatment, d1, d2, *,
                     response="tgi:W:35", extra_metrics=(), samples: pd.DataFrame | None = None,
                     params: dict | None = None, mono1=None, mono2=None, mono_points: int = 200,
                     mono_factor: float = 20.0, t_end: float | None = None, points: int | None = None,
                     rtol: float = 1e-8, atol: float = 1e-12, backend="serial", chunk_size: int = 256,
                     seed: int | None = 0,
                     progress: bool | None = None, **run_options) -> DoseResponseSurface:
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
        ensemble metric string whose value rises with dose. A response that falls with the dose of either
        treatment (effect at the highest single-treatment level below the untreated one) is refused.
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
    t_end, points, backend, chunk_size, seed, **run_options
        Passed to :func:`qsp.ensemble.run` (``out=DIR`` keeps the simulations in a resumable store).
    progress : bool, optional
        Progress bar on stderr (default: only when stderr is a terminal).

    Returns
    -------
    DoseResponseSurface
        Failed simulations leave NaN effects; their count is ``n_failed`` and the rows stay in ``table``.

    Raises
    ------
    InputError
        Bad levels, a surface above the memory bound (:mod:`qsp.sensitivity._limits`), or a response
        that falls with dose.
    """
    from .. import ensemble

    resp = Response.parse(response)
    if not isinstance(treatment1, Treatment) or not isinstance(treatment2, Treatment):
        raise QSPError("treatment1 and treatment2 must be qsp.synergy.Treatment objects")
    d1 = np.asarray(d1, dtype=float).ravel()
    d2 = np.asarray(d2, dtype=float).ravel()
    for name, g in (("d1", d1), ("d2", d2)):
        if g.size == 0 or not np.isfinite(g).all() or (g < 0).any():
            raise QSPError(f"{option(name)} must be a non-empty array of finite levels >= 0")
    if isinstance(mono_points, bool) or not isinstance(mono_points, (int, np.integer)) or mono_points < 1:
        raise InputError(f"{option('mono_points')} must be a positive integer. Got {mono_points!r}.")
    k1 = d1.size + mono_points + 1 if mono1 is None else np.size(mono1)
    k2 = d2.size + mono_points + 1 if mono2 is None else np.size(mono2)
    check_size(d1.size, d2.size, k1, k2, n_samples=1 if samples is None else len(samples),
               n_metrics=1 + len(extra_metrics or ()), points=points, dense=mono1 is None or mono2 is None)
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
    columns = list(res.metrics)  # the response first, then the extra metrics, in order
    raw = table[columns[0]].to_numpy(dtype=float).reshape(n_s, n_reg)
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
    what = option("response", resp.text)
    for m, e, t in ((m1, mono1_e, treatment1), (m2, mono2_e, treatment2)):
        check_rising(np.concatenate([[0.0], m]), np.hstack([eff[:, :1], e]), t.label, what, resp.metric)
    extras = {}
    for name in columns[1:]:
        v = table[name].to_numpy(dtype=float).reshape(n_s, n_reg)
        extras[name] = v[:, 1:1 + n1 * n2].reshape(n_s, n1, n2)
    if res.n_failed:
        warnings.warn(f"{res.n_failed} of {len(table)} surface simulations failed; their effects are NaN "
                      "(see surface.table)", QSPWarning, stacklevel=2)
    units = tuple("" if t.parameter else (t.unit or "") for t in (treatment1, treatment2))
    samp = samples.reset_index(drop=True) if samples is not None else None
    return DoseResponseSurface(d1, d2, grid, m1, mono1_e, m2, mono2_e, extras, samp,
                               (treatment1.label, treatment2.label), units, resp.label, table, res.n_failed)
