"""Dose-response surfaces of two treatments, simulated as one ensemble table.

A surface describes every grid point, the dense single-treatment curves and the untreated control as
regimens of one :func:`qsp.ensemble.run` call; it never loops over simulations itself. The effect
must rise with dose (a TGI, a fraction inhibited); a response that falls with dose is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..display import table_html
from ..errors import QSPError
from .grid import default_mono_levels, dose_grid, parse_grid
from .mono import MonoCurve
from .result import _edges, _json_default
from .simulate import check_size, simulate_surfaces
from .treatment import Response, Treatment

__all__ = [
    "DoseResponseSurface",
    "check_size",
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
        The ensemble table the surface came from (every task, failures included; for a protocol sweep, the
        table of the whole sweep).
    n_failed : int
        Failed simulations among this surface's regimens.
    protocol : str or None
        The protocol's name when the surface is one of a sweep (:func:`qsp.synergy.simulate_protocols`).
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
    protocol: str | None = None

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
        Parameter sets (virtual patients): the whole surface is simulated for each row. A
        ``body_weight`` column (kg) scales each row's per-kg doses; covariate columns are read by
        ``covariate_model=`` (both through ``**run_options``, as in :func:`qsp.ensemble.run`).
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
        Passed to :func:`qsp.ensemble.run` (``out=DIR`` keeps the simulations in a resumable store;
        ``body_weight=KG`` or ``"COLUMN"``; ``covariate_model=``).
    progress : bool, optional
        Progress bar on stderr (default: only when stderr is a terminal).

    Returns
    -------
    DoseResponseSurface
        Failed simulations leave NaN effects; their count is ``n_failed`` and the rows stay in ``table``.

    Raises
    ------
    InputError
        Bad levels, a surface above the memory bound (:mod:`qsp.memory_limits`), or a response
        that falls with dose.
    """
    surfaces, _ = simulate_surfaces(
        model, [(None, treatment1, treatment2)], d1, d2, response=response, extra_metrics=extra_metrics,
        samples=samples, params=params, mono1=mono1, mono2=mono2, mono_points=mono_points, mono_factor=mono_factor,
        t_end=t_end, points=points, rtol=rtol, atol=atol, backend=backend, chunk_size=chunk_size, seed=seed,
        progress=progress, share=False, **run_options)
    return surfaces[0]
