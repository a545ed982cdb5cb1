"""MOOCS-DS: multi-objective optimal combination synergy dose selection.

At each dose pair of a simulated surface, two potency combination indices (Loewe, LSD) and two
efficacy combination indices (HSA, Bliss) are computed from the surface and its dense
single-treatment curves (all < 1 synergy, minimised). The exact non-dominated set is found in
each of the four (potency, efficacy) spaces; doses optimal in every space are robust to the
choice of additivity definition. Gevertz & Kareva, CPT Pharmacometrics Syst Pharmacol (2023).

Definitions, with E the combination effect (TGI) and D_i(E) the dose of treatment i alone
giving E (root of the monotone interpolant of the dense single-treatment curve):

- HSA-CI = max(E_1(d1), E_2(d2)) / E
- Bliss-CI = (E_1 + E_2 - E_1 E_2) / E
- Loewe-CI = d1/D_1(E) + d2/D_2(E)
- LSD-CI = (w1 d1/EC50_1 + w2 d2/EC50_2) / min(D_1(E)/EC50_1, D_2(E)/EC50_2)
  (relative form; weights w default 1; ``lsd_abs`` = (d1 + d2) / min(D_1, D_2) is also reported)

When treatment i alone cannot reach E within its simulated range, D_i is inf: its Loewe term
is 0 (the limit) and it drops out of the LSD minimum; such points are flagged in ``unreachable``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import QSPError
from .mono import check_rising
from .pareto import near_front, non_dominated
from ..display import table_html
from .result import TableResult, _edges
from .surface import DoseResponseSurface

__all__ = [
    "SPACES",
    "MoocsResult",
    "moocs",
    "near_front",
    "scores",
]

#: The four criterion spaces: (potency CI, efficacy CI), both minimised.
SPACES = (("lsd", "hsa"), ("lsd", "bliss"), ("loewe", "hsa"), ("loewe", "bliss"))
_CIS = ("hsa", "bliss", "loewe", "lsd")


def _space_name(space) -> str:
    return f"{space[0]}_{space[1]}"


def scores(surface: DoseResponseSurface, *, sample: int = 0, weights=(1.0, 1.0)) -> pd.DataFrame:
    """The four local combination indices at every grid point of one sample.

    Returns
    -------
    DataFrame
        i, j, d1, d2, tgi (``effect`` when the surface's response is not a TGI), E1, E2, D1, D2, hsa,
        bliss, loewe, lsd, lsd_abs, unreachable, plus the surface's extra metrics; ``attrs`` holds
        EC50_1 and EC50_2.

    Raises
    ------
    InputError
        The surface's effect falls with the dose of a treatment (see :func:`qsp.synergy.mono.check_rising`).
    """
    if not 0 <= sample < surface.n_samples:
        raise QSPError(f"sample must be in [0, {surface.n_samples}). Got {sample!r}.")
    for which, name in ((1, surface.names[0]), (2, surface.names[1])):
        levels, effects = (surface.mono1, surface.mono1_effect) if which == 1 else (surface.mono2, surface.mono2_effect)
        check_rising(levels, effects[sample], name, f"the surface's effect ({surface.response})")
    w1, w2 = (float(w) for w in weights)
    c1, c2 = surface.mono_curve(1, sample), surface.mono_curve(2, sample)
    ec1, ec2 = c1.ec(0.5), c2.ec(0.5)
    n1, n2 = surface.d1.size, surface.d2.size
    I, J = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
    i, j = I.ravel(), J.ravel()
    d1, d2 = surface.d1[i], surface.d2[j]
    E = surface.effect[sample].ravel()
    E1, E2 = c1.effect(d1), c2.effect(d2)
    D1, D2 = c1.inverse(E), c2.inverse(E)
    with np.errstate(divide="ignore", invalid="ignore"):
        valid = np.isfinite(E) & (E > 0)
        hsa = np.where(valid, np.maximum(E1, E2) / E, np.nan)
        bliss = np.where(valid, (E1 + E2 - E1 * E2) / E, np.nan)
        t1 = np.where(d1 == 0, 0.0, d1 / D1)
        t2 = np.where(d2 == 0, 0.0, d2 / D2)
        loewe = np.where(valid, t1 + t2, np.nan)
        den = np.fmin(D1 / ec1, D2 / ec2)
        lsd = np.where(valid & np.isfinite(den), (w1 * d1 / ec1 + w2 * d2 / ec2) / den, np.nan)
        lsd_abs = np.where(valid & np.isfinite(np.fmin(D1, D2)), (d1 + d2) / np.fmin(D1, D2), np.nan)
    df = pd.DataFrame({"i": i, "j": j, "d1": d1, "d2": d2, surface.effect_column: E, "E1": E1, "E2": E2,
                       "D1": D1, "D2": D2,
                       "hsa": hsa, "bliss": bliss, "loewe": loewe, "lsd": lsd, "lsd_abs": lsd_abs,
                       "unreachable": valid & (~np.isfinite(D1) | ~np.isfinite(D2))})
    for k, v in surface.extras.items():
        df[k] = v[sample].ravel()
    df.attrs["EC50_1"], df.attrs["EC50_2"] = ec1, ec2
    return df


def _feasible(df: pd.DataFrame, tgi_min, dose_box, column: str = "tgi") -> np.ndarray:
    ok = np.isfinite(df[["hsa", "bliss", "loewe", "lsd"]].to_numpy()).all(axis=1)
    if tgi_min is not None:
        ok &= df[column].to_numpy() >= tgi_min
    if dose_box is not None:
        (a_lo, a_hi), (b_lo, b_hi) = dose_box
        ok &= (df.d1 >= a_lo).to_numpy() & (df.d1 <= a_hi).to_numpy() & (df.d2 >= b_lo).to_numpy() \
            & (df.d2 <= b_hi).to_numpy()
    return ok


def _check_spaces(spaces):
    spaces = tuple(tuple(s) for s in spaces)
    for s in spaces:
        if len(s) != 2 or s[0] not in ("lsd", "loewe") or s[1] not in ("hsa", "bliss"):
            raise QSPError(f"a criterion space is (potency, efficacy) with potency in lsd/loewe and efficacy in "
                           f"hsa/bliss. Got {s!r}.")
    if not spaces:
        raise QSPError("give at least one criterion space")
    return spaces


def moocs(surface: DoseResponseSurface, *, sample: int = 0, spaces=SPACES, tgi_min: float | None = None,
          dose_box=None, near_tol: float = 0.02, weights=(1.0, 1.0)) -> MoocsResult:
    """MOOCS-DS on one sample of a surface: scores, exact fronts, robustness count, near-Pareto points.

    Parameters
    ----------
    surface : DoseResponseSurface
    sample : int, default 0
        Which parameter set of the surface.
    spaces : sequence of (potency, efficacy)
        Criterion spaces (default: the four of :data:`SPACES`).
    tgi_min : float, optional
        Constraint: only dose pairs with effect >= tgi_min compete (applied before the Pareto step).
    dose_box : ((low1, high1), (low2, high2)), optional
        Constraint: only dose pairs inside the box compete.
    near_tol : float, default 0.02
        Near-Pareto tolerance as a fraction of the space's scale (see :func:`near_front`).
    weights : (float, float)
        Weights of the normalised doses in the LSD numerator (toxicity shares).

    Returns
    -------
    MoocsResult
    """
    spaces = _check_spaces(spaces)
    df = scores(surface, sample=sample, weights=weights)
    feas = _feasible(df, tgi_min, dose_box, surface.effect_column)
    df["feasible"] = feas
    count = np.zeros(len(df), dtype=int)
    for s in spaces:
        F = df[[s[0], s[1]]].to_numpy(dtype=float, copy=True)
        F[~feas] = np.nan
        on = non_dominated(F)
        df[f"pareto_{_space_name(s)}"] = on
        df[f"near_{_space_name(s)}"] = near_front(F, on, near_tol)
        count += on
    df["count"] = count
    df["robust"] = count == len(spaces)
    info = {"names": list(surface.names), "units": list(surface.units), "response": surface.response,
            "effect_column": surface.effect_column, "sample": sample, "spaces": [_space_name(s) for s in spaces],
            "EC50_1": df.attrs["EC50_1"],
            "EC50_2": df.attrs["EC50_2"], "tgi_min": tgi_min, "near_tol": near_tol, "weights": list(weights),
            "n_unreachable": int(df["unreachable"].sum())}
    return MoocsResult(df, info, spaces)


class MoocsResult(TableResult):
    """MOOCS-DS table of one parameter set: one row per dose pair.

    Columns: i, j, d1, d2, tgi (``effect`` for a response that is not a TGI), E1, E2, D1, D2, hsa, bliss,
    loewe, lsd, lsd_abs, unreachable, feasible, pareto_<space>, near_<space>, count (spaces where
    optimal), robust.
    """

    def __init__(self, table: pd.DataFrame, info: dict, spaces):
        self.table = table.reset_index(drop=True)
        self.table.attrs = {}
        self.info = info
        self.spaces = tuple(spaces)

    @property
    def effect_column(self) -> str:
        """``tgi`` (a TGI response) or ``effect``."""
        return self.info.get("effect_column", "tgi")

    def __repr__(self) -> str:
        return (f"MoocsResult({len(self.table)} dose pairs, {int(self.table['robust'].sum())} optimal in all "
                f"{len(self.spaces)} spaces, EC50s {self.info['EC50_1']:.4g} / {self.info['EC50_2']:.4g})")

    def _repr_html_(self) -> str:
        n = self.info["names"]
        facts = (f"{n[0]} x {n[1]}, {len(self.table)} dose pairs, EC50s {self.info['EC50_1']:.4g} / "
                 f"{self.info['EC50_2']:.4g}, {int(self.table['robust'].sum())} optimal in all {len(self.spaces)} "
                 f"spaces (shown first)")
        t = self.table.sort_values(["count", "loewe"], ascending=[False, True], kind="stable")
        return table_html("MoocsResult", t, facts)

    def front(self, space=("loewe", "bliss")) -> pd.DataFrame:
        """Rows on the front of one space, sorted by its potency CI."""
        col = f"pareto_{_space_name(tuple(space))}"
        if col not in self.table:
            raise QSPError(f"space {space!r} was not computed; computed: {self.info['spaces']}")
        return self.table[self.table[col]].sort_values(list(space)).reset_index(drop=True)

    def robust(self) -> pd.DataFrame:
        """Dose pairs optimal in every computed space."""
        return self.table[self.table["robust"]].reset_index(drop=True)

    def nearest_optimal(self, d1: float, d2: float, *, min_count: int = 1) -> pd.Series:
        """The dose pair optimal in at least ``min_count`` spaces nearest to (d1, d2) in grid-normalised doses."""
        t = self.table[self.table["count"] >= min_count]
        if t.empty:
            raise QSPError(f"no dose pair is optimal in {min_count} space(s)")
        s1 = np.ptp(self.table.d1) or 1.0
        s2 = np.ptp(self.table.d2) or 1.0
        k = np.argmin(((t.d1 - d1) / s1) ** 2 + ((t.d2 - d2) / s2) ** 2)
        return t.iloc[int(k)]

    def summary(self) -> pd.DataFrame:
        """Per space: front size and CI and dose ranges of the front."""
        rows = []
        for s in self.spaces:
            f = self.front(s)
            rows.append({"space": _space_name(s), "n_front": len(f), "potency_min": f[s[0]].min(),
                         "potency_max": f[s[0]].max(), "efficacy_min": f[s[1]].min(), "efficacy_max": f[s[1]].max(),
                         "d1_min": f.d1.min(), "d1_max": f.d1.max(), "d2_min": f.d2.min(), "d2_max": f.d2.max()})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ plots
    def _labels(self):
        n, u = self.info["names"], self.info["units"]
        return [f"{a} ({b})" if b else a for a, b in zip(n, u)]

    def plot(self, ax=None, *, log: bool = False):
        """Heatmap of the robustness count (0..n spaces) on the dose grid; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        from matplotlib.colors import BoundaryNorm

        d1, d2 = np.sort(self.table.d1.unique()), np.sort(self.table.d2.unique())
        Z = self.table.pivot_table(index="d2", columns="d1", values="count").to_numpy()
        n = len(self.spaces)  # a count of spaces: one colour and one integer tick per value
        mesh = ax.pcolormesh(_edges(d1, log), _edges(d2, log), Z, cmap=plt.get_cmap("magma", n + 1),
                             norm=BoundaryNorm(np.arange(-0.5, n + 1), n + 1), shading="flat")
        ax.figure.colorbar(mesh, ax=ax, label="spaces where Pareto-optimal", ticks=np.arange(n + 1))
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        lx, ly = self._labels()
        ax.set_xlabel(lx)
        ax.set_ylabel(ly)
        ax.set_title("MOOCS-DS robustness")
        return ax

    def plot_index(self, ax=None, *, index: str = "bliss", log: bool = False):
        """Synergy map: heatmap of one combination index (hsa, bliss, loewe, lsd, lsd_abs) on the dose grid.

        Diverging colours centred on 1 (blue < 1 synergy, red > 1 antagonism); returns the Axes.
        """
        import matplotlib.pyplot as plt

        if index not in ("hsa", "bliss", "loewe", "lsd", "lsd_abs"):
            raise QSPError(f"index must be one of hsa, bliss, loewe, lsd, lsd_abs. Got {index!r}.")
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        d1, d2 = np.sort(self.table.d1.unique()), np.sort(self.table.d2.unique())
        Z = self.table.pivot_table(index="d2", columns="d1", values=index, dropna=False).to_numpy()
        pos = Z[np.isfinite(Z) & (Z > 0)]
        span = float(np.abs(np.log(pos)).max()) if pos.size else 1.0
        span = span if span > 0 else 1.0
        Z = np.where(Z > 0, Z, np.nan)  # 0 (both treatments unreachable alone) has no log colour: left blank
        from matplotlib.colors import LogNorm

        mesh = ax.pcolormesh(_edges(d1, log), _edges(d2, log), Z, cmap="RdBu_r", shading="flat",
                             norm=LogNorm(vmin=np.exp(-span), vmax=np.exp(span)))
        ax.figure.colorbar(mesh, ax=ax, label=f"{index.upper()} CI (< 1 synergy)")
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        lx, ly = self._labels()
        ax.set_xlabel(lx)
        ax.set_ylabel(ly)
        return ax

    def plot_fronts(self, axes=None, *, mark=None):
        """Scatter of every feasible dose pair in each space with the front highlighted.

        ``mark``: (d1, d2) pairs to circle (e.g. chosen doses); the robust doses are starred.
        Returns the array of Axes.
        """
        import matplotlib.pyplot as plt

        n = len(self.spaces)
        if axes is None:
            _, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
            axes = axes[0]
        t = self.table[self.table["feasible"]]
        for ax, s in zip(np.ravel(axes), self.spaces):
            on = t[f"pareto_{_space_name(s)}"]
            near = t[f"near_{_space_name(s)}"]
            ax.scatter(t[s[0]][~on & ~near], t[s[1]][~on & ~near], s=6, c="0.75", label="dose pairs")
            ax.scatter(t[s[0]][near], t[s[1]][near], s=10, c="tab:orange", label="near-Pareto")
            f = t[on].sort_values(s[0])
            ax.plot(f[s[0]], f[s[1]], "-o", ms=3.5, c="tab:blue", lw=1, label="Pareto front")
            r = t[t["robust"]]
            ax.scatter(r[s[0]], r[s[1]], marker="*", s=70, c="tab:red", zorder=5, label="optimal in all spaces")
            for (a, b) in (mark or []):
                k = np.argmin((t.d1 - a) ** 2 / (np.ptp(t.d1) or 1) ** 2 + (t.d2 - b) ** 2 / (np.ptp(t.d2) or 1) ** 2)
                row = t.iloc[int(k)]
                ax.scatter([row[s[0]]], [row[s[1]]], s=90, facecolors="none", edgecolors="k", zorder=6,
                           label=f"({a:g}, {b:g})")
            ax.set_xlabel(f"{s[0].upper()} CI (potency)")
            ax.set_ylabel(f"{s[1].upper()} CI (efficacy)")
        np.ravel(axes)[0].legend(fontsize=7, loc="best")
        return axes

    def plot_doses(self, ax=None, *, space=("loewe", "bliss"), mark=None, log: bool = False):
        """Front doses of one space (and robust doses) over the effect heatmap; returns the Axes.

        ``mark``: (d1, d2) pairs to circle (e.g. a reference regimen).
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        d1, d2 = np.sort(self.table.d1.unique()), np.sort(self.table.d2.unique())
        Z = self.table.pivot_table(index="d2", columns="d1", values=self.effect_column).to_numpy()
        mesh = ax.pcolormesh(_edges(d1, log), _edges(d2, log), Z, cmap="viridis", shading="flat")
        ax.figure.colorbar(mesh, ax=ax, label=self.info["response"])
        f = self.front(space)
        ax.scatter(f.d1, f.d2, s=18, c="w", edgecolors="k", label=f"front {_space_name(space)}")
        r = self.robust()
        ax.scatter(r.d1, r.d2, marker="*", s=80, c="tab:red", label="optimal in all spaces")
        for (a, b) in (mark or []):
            ax.scatter([a], [b], s=90, facecolors="none", edgecolors="tab:red", lw=1.5, label=f"({a:g}, {b:g})")
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        lx, ly = self._labels()
        ax.set_xlabel(lx)
        ax.set_ylabel(ly)
        ax.legend(fontsize=7)
        return ax
