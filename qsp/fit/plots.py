"""Plots of a fit: waterfall of the starts, estimates within the bounds, data with simulations, residuals."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["waterfall", "parameters", "fit_panels", "residuals", "GROUP_COLUMNS", "OBSERVABLE_COLUMNS"]

#: Columns of a ``simulate()`` table that name the experiment (first present wins) ...
GROUP_COLUMNS = ("experiment", "simulationConditionId", "condition", "conditionId", "subject", "ID")
#: ... and the observable.
OBSERVABLE_COLUMNS = ("observableId", "observable", "output", "DVID")


def _axes(ax, size=(6, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def waterfall(result, ax=None, tol: float = 0.1, label: str | None = None):
    """Sorted final objective of the starts, offset from the best: ``nllh - best + 1`` on a log axis."""
    ax = _axes(ax)
    ok = result.starts.loc[result.starts["status"] != "failed", "nllh"].to_numpy(dtype=float)
    ok = np.sort(ok[np.isfinite(ok)])
    if len(ok):
        y = ok - ok[0] + 1.0
        rank = np.arange(1, len(ok) + 1)
        near = y - 1.0 <= tol
        line, = ax.plot(rank, y, "-", lw=1, color=None if label else "0.6", label=label)
        ax.plot(rank[near], y[near], "o", ms=5, color=line.get_color() if label else "C3",
                label=None if label else f"within {tol:g} of the best")
        ax.plot(rank[~near], y[~near], "o", ms=4, mfc="none", color=line.get_color() if label else "C0")
        ax.set_yscale("log")
        bottom, top = ax.get_ylim()
        ax.set_ylim(min(bottom, 0.8), max(top, 10.0))  # at least a decade, so small spreads read as small
        ax.xaxis.get_major_locator().set_params(integer=True)
    if label is None:
        n_at = int((ok - ok[0] <= tol).sum()) if len(ok) else 0
        ax.set_title(f"{n_at} of {len(result.starts)} starts within {tol:g} of the best (nllh {ok[0]:.6g})"
                     if len(ok) else "no start succeeded", fontsize=10)
        if result.n_failed:
            ax.text(0.99, 0.02, f"{result.n_failed} failed (not shown)", transform=ax.transAxes, ha="right",
                    fontsize=8)
    ax.set_xlabel("start (sorted by final objective)")
    ax.set_ylabel("final nllh - best + 1")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left")
    return ax


def parameters(result, n_best: int = 10, ax=None):
    """The estimates of the best starts, one row per parameter, within its bounds (parameter scale)."""
    sp = result.space
    ax = _axes(ax, (6, 0.9 + 0.35 * len(sp)))
    ok = result.starts.loc[result.starts["status"] != "failed"].head(n_best)
    pos = np.arange(len(sp))[::-1]
    for k, (_, row) in enumerate(ok.iloc[::-1].iterrows()):
        x = row[result.columns].to_numpy(dtype=float)
        best = k == len(ok) - 1
        ax.plot(x, pos, "o-", ms=4 if best else 3, lw=1.6 if best else 0.7, color="C3" if best else "0.6",
                alpha=1.0 if best else 0.7, label="best" if best else None, zorder=3 if best else 2)
    ax.plot(sp.lower, pos, "k+", ms=9, label="bounds")
    ax.plot(sp.upper, pos, "k+", ms=9)
    for lo, hi, y in zip(sp.lower, sp.upper, pos):
        ax.plot([lo, hi], [y, y], ":", color="0.8", lw=1, zorder=1)
    ax.set_yticks(pos, [f"{p} ({s})" for p, s in zip(sp.ids, sp.scales)])
    ax.set_xlabel("value on the parameter scale")
    ax.set_title(f"estimates of the {len(ok)} best starts", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def _label(value) -> str:
    """A group value as text (``1`` rather than ``1.0``)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _column(table: pd.DataFrame, names) -> str | None:
    return next((c for c in names if c in table.columns), None)


def fit_panels(table: pd.DataFrame, max_panels: int = 12):
    """Measurements (points) and simulations (lines) against time, one panel per experiment."""
    import matplotlib.pyplot as plt

    group, obs = _column(table, GROUP_COLUMNS), _column(table, OBSERVABLE_COLUMNS)
    groups = list(pd.unique(table[group])) if group else [None]
    shown = groups[:max_panels]
    ncol = min(3, len(shown))
    nrow = -(-len(shown) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), layout="constrained", squeeze=False)
    for ax, g in zip(axes.flat, shown):
        part = table if g is None else table.loc[table[group] == g]
        kinds = list(pd.unique(part[obs])) if obs else [None]
        for j, kind in enumerate(kinds):
            sub = part if kind is None else part.loc[part[obs] == kind]
            color = f"C{j % 10}"
            if "time" in sub.columns:
                sub = sub.sort_values("time")
                ax.plot(sub["time"], sub["measurement"], "o", ms=3, color=color,
                        label=None if kind is None else str(kind))
                ax.plot(sub["time"], sub["simulation"], "-", lw=1.2, color=color)
                ax.set_xlabel("time")
            else:
                ax.plot(sub["simulation"], sub["measurement"], "o", ms=3, color=color,
                        label=None if kind is None else str(kind))
                ax.set_xlabel("simulation")
        if g is not None:
            ax.set_title(f"{group} {_label(g)}", fontsize=9)
        ax.set_ylabel("measurement")
        if obs:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    if len(groups) > len(shown):
        fig.suptitle(f"first {len(shown)} of {len(groups)} {group} values", fontsize=9)
    return fig


def residuals(table: pd.DataFrame):
    """Residuals (the table's weighted ``residual`` column, else measurement - simulation) against
    time and against the simulation."""
    import matplotlib.pyplot as plt

    weighted = "residual" in table.columns
    r = table["residual"] if weighted else table["measurement"] - table["simulation"]
    obs = _column(table, OBSERVABLE_COLUMNS)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained", squeeze=False)
    kinds = list(pd.unique(table[obs])) if obs else [None]
    for j, kind in enumerate(kinds):
        mask = np.ones(len(table), bool) if kind is None else (table[obs] == kind).to_numpy()
        label = None if kind is None else str(kind)
        for ax, xcol in zip(axes.flat, ("time", "simulation")):
            if xcol in table.columns:
                ax.plot(table.loc[mask, xcol], r[mask], "o", ms=3, color=f"C{j % 10}", label=label)
    for ax, xcol in zip(axes.flat, ("time", "simulation")):
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel(xcol)
        ax.set_ylabel("weighted residual" if weighted else "measurement - simulation")
    if obs:
        axes.flat[0].legend(fontsize=7)
    return fig
