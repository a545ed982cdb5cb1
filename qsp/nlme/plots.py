"""Plots of a population fit: convergence traces, VPC, goodness of fit, eta distributions, individual fits."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["convergence", "vpc_plot", "gof_plot", "etas_plot", "individual_plot"]


def _grid(n: int, width: float = 3.0, height: float = 2.4, columns: int = 3):
    import matplotlib.pyplot as plt

    cols = min(columns, max(1, n))
    rows = math.ceil(n / cols)
    # no layout engine: it costs seconds on figures of many panels
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.1 / rows + 0.04, top=1 - 0.12 / rows - 0.03,
                        hspace=0.6, wspace=0.35)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def convergence(result):
    """One panel per parameter of the trace; the smoothing phase shaded."""
    trace = result.trace
    cols = [c for c in trace.columns if c not in ("iteration", "phase")]
    fig, axes = _grid(len(cols))
    k1 = result.settings.iterations[0]
    last = int(trace["iteration"].max())
    for ax, col in zip(axes, cols):
        ax.plot(trace["iteration"], trace[col], lw=1, color="C0")
        if last > k1:
            ax.axvspan(k1, last, color="0.9", zorder=0)
        ax.set_title(col, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("iteration", fontsize=8)
    fig.suptitle(f"SAEM: {k1} exploratory + {result.settings.iterations[1]} smoothing iterations (shaded)",
                 fontsize=10)
    return fig


def vpc_plot(res, ax=None, log: bool = False):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    obs = res.observations
    ax.plot(obs["x"], obs["DV"], "o", ms=2.5, color="0.55", alpha=0.6, label="observed")
    t = res.table
    colours = {5: "C0", 50: "C3", 95: "C0"}
    for p, group in t.groupby("percentile", sort=True):
        c = colours.get(p, "C2")
        ax.fill_between(group["x"], group["sim_low"], group["sim_high"], color=c, alpha=0.2, lw=0,
                        label=f"simulated {p:g}th ({100 * res.confidence:g} % band)")
        ax.plot(group["x"], group["observed"], "-", color=c, lw=1.6, label=f"observed {p:g}th")
    if log:
        ax.set_yscale("log")
    kind = "prediction-corrected VPC" if res.prediction_corrected else "VPC"
    ax.set_title(f"{kind}, {res.n} replicates", fontsize=10)
    ax.set_xlabel("time after dose" if res.x == "tad" else "time")
    ax.set_ylabel("DV (prediction-corrected)" if res.prediction_corrected else "DV")
    ax.legend(fontsize=7, loc="best")
    return ax


def _identity(ax, x, y):
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any():
        lo, hi = min(np.min(x[ok]), np.min(y[ok])), max(np.max(x[ok]), np.max(y[ok]))
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)


def gof_plot(table):
    fig, axes = _grid(6, 3.2, 2.8)
    dv = table["DV"].to_numpy(float)
    panels = [("PRED", "DV"), ("IPRED", "DV"), ("TIME", "CWRES"), ("PRED", "CWRES"), ("IPRED", "IWRES")]
    if "NPDE" in table.columns:
        panels.append(("TIME", "NPDE"))
    else:
        panels.append(("CWRES", None))
    for ax, (xc, yc) in zip(axes, panels):
        if yc is None:
            v = table[xc].to_numpy(float)
            v = v[np.isfinite(v)]
            ax.hist(v, bins=30, density=True, color="C0", alpha=0.6)
            z = np.linspace(-4, 4, 200)
            ax.plot(z, np.exp(-z * z / 2) / math.sqrt(2 * math.pi), "k-", lw=1)
            ax.set_xlabel(xc, fontsize=8)
            ax.set_title(f"{xc} distribution vs N(0, 1)", fontsize=9)
            continue
        x, y = table[xc].to_numpy(float), (dv if yc == "DV" else table[yc].to_numpy(float))
        ax.plot(x, y, "o", ms=2.5, alpha=0.5, color="C0")
        if yc == "DV":
            _identity(ax, x, y)
        else:
            ax.axhline(0, color="k", lw=0.8)
            for h in (-2, 2):
                ax.axhline(h, color="k", lw=0.6, ls="--")
        ax.set_xlabel(xc, fontsize=8)
        ax.set_ylabel(yc, fontsize=8)
        ax.set_title(f"{yc} vs {xc}", fontsize=9)
        ax.tick_params(labelsize=7)
    return fig


def etas_plot(result):
    """Histogram of the conditional modes of each eta over N(0, omega^2), with the shrinkage."""
    shrink = result.shrinkage().set_index("parameter")
    names = list(shrink.index)
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        e = result.ebes[f"eta_{name}"].to_numpy(float)
        om = float(shrink.loc[name, "omega"])
        ax.hist(e, bins=max(5, min(30, len(e) // 3)), density=True, color="C0", alpha=0.6)
        z = np.linspace(-3.5 * om, 3.5 * om, 200)
        ax.plot(z, np.exp(-z * z / (2 * om * om)) / (om * math.sqrt(2 * math.pi)), "k-", lw=1)
        ax.set_title(f"eta_{name}: omega {om:.3g}, shrinkage {shrink.loc[name, 'shrinkage_pct']:.0f} %", fontsize=9)
        ax.tick_params(labelsize=7)
    return fig


def individual_plot(result, subjects=None, max_panels: int = 12):
    """Per subject: DV, IPRED and PRED against time."""
    from .diagnostics import gof

    table = gof(result).table
    ids = list(dict.fromkeys(table["ID"])) if subjects is None else list(subjects)
    ids = ids[:max_panels]
    fig, axes = _grid(len(ids), 2.8, 2.2, 4)
    for ax, sid in zip(axes, ids):
        t = table.loc[table["ID"] == sid].sort_values("TIME")
        ax.plot(t["TIME"], t["DV"], "o", ms=3, color="k", label="DV")
        ax.plot(t["TIME"], t["IPRED"], "-", color="C3", lw=1.2, label="IPRED")
        ax.plot(t["TIME"], t["PRED"], "--", color="C0", lw=1, label="PRED")
        ax.set_title(f"ID {sid:g}" if isinstance(sid, (int, float)) else f"ID {sid}", fontsize=9)
        ax.tick_params(labelsize=7)
    if len(ids):
        axes[0].legend(fontsize=7)
    return fig
