"""MOOCS-DS across the parameter sets of a surface (virtual patients): how often each dose pair is optimal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import QSPError
from ..display import table_html
from .moocs import SPACES, _check_spaces, _space_name, moocs
from .result import TableResult, _edges
from .surface import DoseResponseSurface

__all__ = ["PopulationMoocsResult", "moocs_population"]


def moocs_population(surface: DoseResponseSurface, *, spaces=SPACES, tgi_min: float | None = None,
                     dose_box=None, near_tol: float = 0.02, weights=(1.0, 1.0)) -> PopulationMoocsResult:
    """MOOCS-DS across the parameter sets of a surface (virtual patients).

    For each dose pair: how often it is on the front (``optimal_frequency``) or on/near it
    (``pareto_score``, the paper-2 Pareto-optimality score) over all (sample x space) pairs, the
    fraction of samples in which it is robust, the mean effect (``mean_tgi``, or ``mean_effect`` when
    the response is not a TGI) and the fraction of samples meeting ``tgi_min`` (``fraction_tgi_ok`` /
    ``fraction_effect_ok``).
    """
    spaces = _check_spaces(spaces)
    if surface.n_samples < 1:
        raise QSPError("the surface has no samples")
    on = near = robust = tgi = ok = None
    n_s = surface.n_samples
    col = surface.effect_column
    for s in range(n_s):
        r = moocs(surface, sample=s, spaces=spaces, tgi_min=tgi_min, dose_box=dose_box, near_tol=near_tol,
                  weights=weights).table
        a = sum(r[f"pareto_{_space_name(sp)}"].to_numpy(int) for sp in spaces)
        b = sum((r[f"pareto_{_space_name(sp)}"] | r[f"near_{_space_name(sp)}"]).to_numpy(int) for sp in spaces)
        if on is None:
            base = r[["i", "j", "d1", "d2"]].copy()
            on, near, robust = a.astype(float), b.astype(float), r["robust"].to_numpy(float)
            floor = -np.inf if tgi_min is None else tgi_min
            tgi, ok = r[col].to_numpy(float), (r[col].to_numpy() >= floor).astype(float)
        else:
            on += a
            near += b
            robust += r["robust"].to_numpy(float)
            tgi = tgi + r[col].to_numpy(float)
            ok += (r[col].to_numpy() >= floor)
    denom = n_s * len(spaces)
    base["optimal_frequency"] = on / denom
    base["pareto_score"] = near / denom
    base["robust_fraction"] = robust / n_s
    base[f"mean_{col}"] = tgi / n_s
    base[f"fraction_{col}_ok"] = ok / n_s
    info = {"names": list(surface.names), "units": list(surface.units), "response": surface.response,
            "effect_column": col, "n_samples": n_s, "spaces": [_space_name(s) for s in spaces], "tgi_min": tgi_min,
            "near_tol": near_tol}
    return PopulationMoocsResult(base, info)


class PopulationMoocsResult(TableResult):
    """Per dose pair: optimal_frequency, pareto_score, robust_fraction, mean_tgi, fraction_tgi_ok
    (``mean_effect``, ``fraction_effect_ok`` when the response is not a TGI)."""

    def __init__(self, table: pd.DataFrame, info: dict):
        self.table = table.reset_index(drop=True)
        self.info = info

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
        return self.table.sort_values(by, ascending=False).head(n).reset_index(drop=True)

    def plot(self, ax=None, *, value: str = "pareto_score"):
        """Heatmap of a per-dose frequency on the grid; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        d1, d2 = np.sort(self.table.d1.unique()), np.sort(self.table.d2.unique())
        Z = self.table.pivot_table(index="d2", columns="d1", values=value).to_numpy()
        mesh = ax.pcolormesh(_edges(d1), _edges(d2), Z, cmap="magma", vmin=0, vmax=1, shading="flat")
        ax.figure.colorbar(mesh, ax=ax, label=value)
        n, u = self.info["names"], self.info["units"]
        ax.set_xlabel(f"{n[0]} ({u[0]})" if u[0] else n[0])
        ax.set_ylabel(f"{n[1]} ({u[1]})" if u[1] else n[1])
        return ax
