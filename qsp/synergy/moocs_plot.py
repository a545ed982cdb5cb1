"""Figures of a MOOCS-DS result: robustness count, index maps, fronts in the criterion spaces, front doses.

Points whose potency indices are undefined (a treatment alone cannot reach the combination's effect) get a
marker of their own everywhere: a grey x where they were kept out of the Pareto step, an open purple diamond
where they compete (``undefined_potency="zero"``) and sit on a front.
"""

from __future__ import annotations

import numpy as np

from ..errors import QSPError
from .result import _edges

__all__ = ["plot_count", "plot_doses", "plot_fronts", "plot_index", "excluded", "grid_labels"]

UNDEFINED_EXCLUDED = {"marker": "x", "c": "0.45", "linewidths": 0.9}
UNDEFINED_ON_FRONT = {"marker": "D", "facecolors": "none", "edgecolors": "tab:purple", "linewidths": 1.2}


def grid_labels(info: dict) -> list[str]:
    """Axis labels ``name (unit)`` of the two treatments."""
    return [f"{a} ({b})" if b else a for a, b in zip(info["names"], info["units"])]


def excluded(res) -> np.ndarray:
    """Rows kept out of the Pareto step only because their potency indices are undefined."""
    from .moocs import _feasible

    t = res.table
    if res.info.get("undefined_potency", "zero") != "exclude":
        return np.zeros(len(t), dtype=bool)
    ok = _feasible(t, res.info.get("tgi_min"), res.info.get("dose_box"), res.effect_column)
    return ok & t["potency_undefined"].to_numpy() & ~t["feasible"].to_numpy()


def _axes_scales(ax, labels, log):
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])


def plot_count(res, ax=None, *, log: bool = False):
    """Heatmap of the robustness count (0..n spaces) on the dose grid; excluded points crossed."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    t = res.table
    d1, d2 = np.sort(t.d1.unique()), np.sort(t.d2.unique())
    Z = t.pivot_table(index="d2", columns="d1", values="count").to_numpy()
    n = len(res.spaces)  # a count of spaces: one colour and one integer tick per value
    mesh = ax.pcolormesh(_edges(d1, log), _edges(d2, log), Z, cmap=plt.get_cmap("magma", n + 1),
                         norm=BoundaryNorm(np.arange(-0.5, n + 1), n + 1), shading="flat")
    ax.figure.colorbar(mesh, ax=ax, label="spaces where Pareto-optimal", ticks=np.arange(n + 1))
    x = excluded(res)
    if x.any():
        ax.scatter(t.d1[x], t.d2[x], s=14, label="potency undefined (excluded)", **UNDEFINED_EXCLUDED)
        ax.legend(fontsize=7, loc="upper left")
    _axes_scales(ax, grid_labels(res.info), log)
    ax.set_title("MOOCS-DS robustness")
    return ax


def plot_index(res, ax=None, *, index: str = "bliss", log: bool = False):
    """Synergy map of one index, diverging colours centred on 1 (blue < 1 synergy); for the potency indices the
    points where they are undefined are crossed (their colour is the limit value, a lower bound)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if index not in ("hsa", "bliss", "loewe", "lsd", "lsd_abs"):
        raise QSPError(f"index must be one of hsa, bliss, loewe, lsd, lsd_abs. Got {index!r}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    t = res.table
    d1, d2 = np.sort(t.d1.unique()), np.sort(t.d2.unique())
    Z = t.pivot_table(index="d2", columns="d1", values=index, dropna=False).to_numpy()
    pos = Z[np.isfinite(Z) & (Z > 0)]
    span = float(np.abs(np.log(pos)).max()) if pos.size else 1.0
    span = span if span > 0 else 1.0
    Z = np.where(Z > 0, Z, np.nan)  # 0 (both treatments unreachable alone) has no log colour: left blank
    mesh = ax.pcolormesh(_edges(d1, log), _edges(d2, log), Z, cmap="RdBu_r", shading="flat",
                         norm=LogNorm(vmin=np.exp(-span), vmax=np.exp(span)))
    ax.figure.colorbar(mesh, ax=ax, label=f"{index.upper()} CI (< 1 synergy)")
    u = t["potency_undefined"].to_numpy()
    if index in ("loewe", "lsd", "lsd_abs") and u.any():
        ax.scatter(t.d1[u], t.d2[u], s=12, label="undefined (limit shown)", **UNDEFINED_EXCLUDED)
        ax.legend(fontsize=7, loc="upper left")
    _axes_scales(ax, grid_labels(res.info), log)
    return ax


def _nearest(t, a, b):
    k = np.argmin((t.d1 - a) ** 2 / (np.ptp(t.d1) or 1) ** 2 + (t.d2 - b) ** 2 / (np.ptp(t.d2) or 1) ** 2)
    return t.iloc[int(k)]


def plot_fronts(res, axes=None, *, mark=None):
    """Every competing dose pair in each space with the front highlighted; returns the array of Axes."""
    import matplotlib.pyplot as plt

    from .moocs import _space_name

    n = len(res.spaces)
    own = axes is None
    if own:
        _, axes = plt.subplots(1, n, figsize=(3.6 * n + 1.8, 3.4), squeeze=False)
        axes = axes[0]
    t = res.table[res.table["feasible"]]
    out = res.table[excluded(res)]
    for ax, s in zip(np.ravel(axes), res.spaces):
        on = t[f"pareto_{_space_name(s)}"]
        near = t[f"near_{_space_name(s)}"]
        ax.scatter(t[s[0]][~on & ~near], t[s[1]][~on & ~near], s=6, c="0.75", label="dose pairs")
        ax.scatter(t[s[0]][near], t[s[1]][near], s=10, c="tab:orange", label="near-Pareto")
        f = t[on].sort_values(s[0])
        ax.plot(f[s[0]], f[s[1]], "-o", ms=3.5, c="tab:blue", lw=1, label="Pareto front")
        u = f[f["potency_undefined"]]
        if len(u):
            ax.scatter(u[s[0]], u[s[1]], s=40, zorder=4, label="on front, potency undefined", **UNDEFINED_ON_FRONT)
        if len(out):
            ax.scatter(out[s[0]], out[s[1]], s=12, label="potency undefined (excluded)", **UNDEFINED_EXCLUDED)
        r = t[t["robust"]]
        ax.scatter(r[s[0]], r[s[1]], marker="*", s=70, c="tab:red", zorder=5, label="optimal in all spaces")
        for (a, b) in (mark or []):
            row = _nearest(t, a, b)
            ax.scatter([row[s[0]]], [row[s[1]]], s=90, facecolors="none", edgecolors="k", zorder=6,
                       label=f"({a:g}, {b:g})")
        ax.set_xlabel(f"{s[0].upper()} CI (potency)")
        ax.set_ylabel(f"{s[1].upper()} CI (efficacy)")
    if own:  # beside the last space, where it hides no point; every entry of every space once
        entries = {}
        for ax in np.ravel(axes):
            for h, lab in zip(*ax.get_legend_handles_labels()):
                entries.setdefault(lab, h)
        np.ravel(axes)[-1].legend(list(entries.values()), list(entries), fontsize=7, loc="upper left",
                                  bbox_to_anchor=(1.02, 1.0))
    else:
        np.ravel(axes)[0].legend(fontsize=7, loc="best")
    return axes


def plot_doses(res, ax=None, *, space=("loewe", "bliss"), mark=None, log: bool = False):
    """Front doses of one space (and robust doses) over the effect heatmap; returns the Axes."""
    import matplotlib.pyplot as plt

    from .moocs import _space_name

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    t = res.table
    d1, d2 = np.sort(t.d1.unique()), np.sort(t.d2.unique())
    Z = t.pivot_table(index="d2", columns="d1", values=res.effect_column).to_numpy()
    mesh = ax.pcolormesh(_edges(d1, log), _edges(d2, log), Z, cmap="viridis", shading="flat")
    ax.figure.colorbar(mesh, ax=ax, label=res.info["response"])
    f = res.front(space)
    ax.scatter(f.d1, f.d2, s=18, c="w", edgecolors="k", label=f"front {_space_name(space)}")
    u = f[f["potency_undefined"]]
    if len(u):
        ax.scatter(u.d1, u.d2, s=40, zorder=4, label="on front, potency undefined", **UNDEFINED_ON_FRONT)
    x = excluded(res)
    if x.any():
        ax.scatter(t.d1[x], t.d2[x], s=12, label="potency undefined (excluded)", **UNDEFINED_EXCLUDED)
    r = res.robust()
    ax.scatter(r.d1, r.d2, marker="*", s=80, c="tab:red", label="optimal in all spaces")
    for (a, b) in (mark or []):
        ax.scatter([a], [b], s=90, facecolors="none", edgecolors="tab:red", lw=1.5, label=f"({a:g}, {b:g})")
    _axes_scales(ax, grid_labels(res.info), log)
    ax.legend(fontsize=7)
    return ax
