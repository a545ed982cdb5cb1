"""MOOCS-DS under parameter uncertainty: the analysis repeated for every parameter set of a surface
(virtual patients, or samples of uncertain parameters), summarised per dose pair.

For each dose pair: how often it is on a front, optimal in every space, near a front, and how often
it meets the effect threshold. For each parameter set: front sizes and whether any dose pair meets the
threshold at all (Gevertz & Kareva's "no meaningfully efficacious combination").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..display import table_html
from ..errors import QSPError
from .moocs import SPACES, _check_spaces, _space_name, check_undefined_potency, moocs
from .result import TableResult, _edges
from .surface import DoseResponseSurface

__all__ = ["PopulationMoocsResult", "moocs_population", "summarise_samples"]


def summarise_samples(tables: list[pd.DataFrame], spaces, tgi_min: float | None, column: str = "tgi",
                      samples: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per dose pair and per parameter set summaries of per-sample MOOCS-DS tables (same grid, same order).

    Returns
    -------
    (DataFrame, DataFrame)
        Per dose pair: i, j, d1, d2, optimal_frequency (share of sample x space pairs on the front),
        pareto_score (on or near the front), front_<space> (share of samples on that front),
        robust_fraction (optimal in every space), mean_<column>, fraction_<column>_ok (meets ``tgi_min``;
        1 when there is no threshold), fraction_potency_undefined.
        Per parameter set: sample, its parameter values, n_feasible, n_front_<space>, n_robust,
        max_<column>, any_<column>_ok (some dose pair meets ``tgi_min``).
    """
    if not tables:
        raise QSPError("no parameter sets to summarise")
    names = [_space_name(s) for s in spaces]
    floor = -np.inf if tgi_min is None else float(tgi_min)
    on = np.stack([np.stack([t[f"pareto_{n}"].to_numpy(bool) for n in names]) for t in tables])  # (S, spaces, P)
    near = np.stack([np.stack([t[f"near_{n}"].to_numpy(bool) for n in names]) for t in tables])
    eff = np.stack([t[column].to_numpy(float) for t in tables])
    ok = eff >= floor
    base = tables[0][["i", "j", "d1", "d2"]].copy()
    base["optimal_frequency"] = on.mean(axis=(0, 1))
    base["pareto_score"] = (on | near).mean(axis=(0, 1))
    for k, n in enumerate(names):
        base[f"front_{n}"] = on[:, k].mean(axis=0)
    base["robust_fraction"] = on.all(axis=1).mean(axis=0)
    base[f"mean_{column}"] = eff.mean(axis=0)
    base[f"fraction_{column}_ok"] = ok.mean(axis=0)
    base["fraction_potency_undefined"] = np.mean([t["potency_undefined"].to_numpy(bool) for t in tables], axis=0)
    per = pd.DataFrame({"sample": np.arange(len(tables))})
    if samples is not None:
        per = pd.concat([per, samples.reset_index(drop=True)], axis=1)
    per["n_feasible"] = [int(t["feasible"].sum()) for t in tables]
    for k, n in enumerate(names):
        per[f"n_front_{n}"] = on[:, k].sum(axis=1)
    per["n_robust"] = on.all(axis=1).sum(axis=1)
    per[f"max_{column}"] = np.nanmax(np.where(np.isfinite(eff), eff, -np.inf), axis=1)
    per[f"any_{column}_ok"] = ok.any(axis=1)
    return base, per


def moocs_population(surface: DoseResponseSurface, *, spaces=SPACES, tgi_min: float | None = None,
                     dose_box=None, near_tol: float = 0.02, weights=(1.0, 1.0),
                     undefined_potency: str = "exclude") -> PopulationMoocsResult:
    """MOOCS-DS for every parameter set of a surface (``simulate_surface(..., samples=)``), per dose pair.

    Parameters
    ----------
    surface : DoseResponseSurface
        Simulated with ``samples=``: one parameter set per row (virtual patients, or draws of uncertain
        parameters, e.g. ``qsp.ensemble.sample_parameters(model.metadata["parameter_ranges"], n)``).
    spaces, dose_box, near_tol, weights, undefined_potency
        As in :func:`qsp.synergy.moocs`, for every parameter set.
    tgi_min : float, optional
        Effect threshold, applied before each Pareto step (0.0 is a threshold, None is none).

    Returns
    -------
    PopulationMoocsResult
        ``table`` per dose pair, ``per_sample`` per parameter set (see :func:`summarise_samples`).

    Assumptions: every parameter set counts equally (a sample, not a weighted population), and the dose grid
    and schedules are the same for all of them.
    """
    spaces = _check_spaces(spaces)
    check_undefined_potency(undefined_potency)
    if surface.n_samples < 1:
        raise QSPError("the surface has no samples")
    tables = [moocs(surface, sample=s, spaces=spaces, tgi_min=tgi_min, dose_box=dose_box, near_tol=near_tol,
                    weights=weights, undefined_potency=undefined_potency).table for s in range(surface.n_samples)]
    return population_result(surface, tables, spaces, tgi_min=tgi_min, near_tol=near_tol,
                             undefined_potency=undefined_potency)


def population_result(surface: DoseResponseSurface, tables: list[pd.DataFrame], spaces, *, tgi_min, near_tol,
                      undefined_potency) -> PopulationMoocsResult:
    """The :class:`PopulationMoocsResult` of per-sample MOOCS-DS tables of ``surface``."""
    col = surface.effect_column
    base, per = summarise_samples(tables, spaces, tgi_min, col, surface.samples)
    info = {"names": list(surface.names), "units": list(surface.units), "response": surface.response,
            "effect_column": col, "n_samples": surface.n_samples, "spaces": [_space_name(s) for s in spaces],
            "tgi_min": tgi_min, "near_tol": near_tol, "undefined_potency": undefined_potency,
            "n_samples_without_effective_dose": int((~per[f"any_{col}_ok"]).sum()),
            "protocol": surface.protocol}
    return PopulationMoocsResult(base, info, per)


class PopulationMoocsResult(TableResult):
    """MOOCS-DS over parameter sets.

    ``table`` (one row per dose pair): optimal_frequency, pareto_score, front_<space>, robust_fraction,
    mean_tgi, fraction_tgi_ok, fraction_potency_undefined (``mean_effect``, ``fraction_effect_ok`` when the
    response is not a TGI). ``per_sample`` (one row per parameter set): its parameters, front sizes,
    n_robust, max_tgi, any_tgi_ok.
    """

    def __init__(self, table: pd.DataFrame, info: dict, per_sample: pd.DataFrame | None = None):
        self.table = table.reset_index(drop=True)
        self.info = info
        self.per_sample = per_sample

    @property
    def effect_column(self) -> str:
        return self.info.get("effect_column", "tgi")

    def to_dict(self) -> dict:
        """The metadata, ``rows`` (per dose pair) and ``per_sample`` (per parameter set, as records)."""
        import json

        out = super().to_dict()
        if self.per_sample is not None:
            out["per_sample"] = json.loads(self.per_sample.to_json(orient="records", double_precision=15))
        return out

    def __repr__(self) -> str:
        return (f"PopulationMoocsResult({len(self.table)} dose pairs x {self.info['n_samples']} parameter sets, "
                f"best pareto_score {self.table['pareto_score'].max():.3f})")

    def _repr_html_(self) -> str:
        n = self.info["names"]
        facts = (f"{n[0]} x {n[1]}, {len(self.table)} dose pairs x {self.info['n_samples']} parameter sets, "
                 f"{len(self.info['spaces'])} spaces (highest pareto_score first)")
        return table_html("PopulationMoocsResult", self.top(len(self.table)), facts)

    def top(self, n: int = 5, by: str = "pareto_score") -> pd.DataFrame:
        """The ``n`` dose pairs with the highest score."""
        return self.table.sort_values(by, ascending=False, kind="stable").head(n).reset_index(drop=True)

    def _label(self, value: str) -> str:
        c = self.effect_column
        labels = {"optimal_frequency": "on a front (share of samples x spaces)",
                  "pareto_score": "on or near a front (share of samples x spaces)",
                  "robust_fraction": "optimal in all spaces (share of samples)",
                  f"fraction_{c}_ok": f"{c.upper() if c == 'tgi' else c} >= {self.info['tgi_min']:g} "
                                      "(share of samples)" if self.info.get("tgi_min") is not None
                  else f"fraction_{c}_ok"}
        return labels.get(value, value)

    def plot(self, ax=None, *, value: str = "pareto_score", annotate: bool | None = None):
        """Heatmap of a per-dose frequency on the grid (0..1); values above 0 written in the cells of grids up to
        12 x 12 (``annotate``). Returns the Axes."""
        import matplotlib.pyplot as plt

        if value not in self.table:
            raise QSPError(f"value must be a column of the table ({', '.join(self.table.columns[4:])}). "
                           f"Got {value!r}.")
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        d1, d2 = np.sort(self.table.d1.unique()), np.sort(self.table.d2.unique())
        Z = self.table.pivot_table(index="d2", columns="d1", values=value).to_numpy()
        mesh = ax.pcolormesh(_edges(d1), _edges(d2), Z, cmap="magma", vmin=0, vmax=1, shading="flat")
        ax.figure.colorbar(mesh, ax=ax, label=self._label(value))
        if annotate if annotate is not None else max(d1.size, d2.size) <= 12:
            for (b, a), z in np.ndenumerate(Z):
                if z > 0:  # blank: never
                    ax.text(d1[a], d2[b], f"{z:.2f}".lstrip("0") if z < 1 else "1", ha="center", va="center",
                            fontsize=6, color="w" if z < 0.6 else "k")
        n, u = self.info["names"], self.info["units"]
        ax.set_xlabel(f"{n[0]} ({u[0]})" if u[0] else n[0])
        ax.set_ylabel(f"{n[1]} ({u[1]})" if u[1] else n[1])
        return ax

    def plot_summary(self, axes=None):
        """Three heatmaps: on a front, optimal in all spaces, meets the threshold. Returns the Axes."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 3, figsize=(15, 4))
        values = ["optimal_frequency", "robust_fraction", f"fraction_{self.effect_column}_ok"]
        titles = ["on a front", "optimal in all spaces", "meets the threshold"]
        for ax, v, title in zip(np.ravel(axes), values, titles):
            self.plot(ax, value=v)
            ax.set_title(f"{title} ({self.info['n_samples']} parameter sets)")
        return axes
