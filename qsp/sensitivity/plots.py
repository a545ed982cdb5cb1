"""Plots of sensitivity results (matplotlib is imported here only, when a plot is asked for)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError

_MAIN = {"sobol": "ST", "efast": "ST", "morris": "mu_star", "delta": "delta", "pawn": "median", "local": "S"}
_BARS = {"sobol": ("S1", "ST"), "efast": ("S1", "ST"), "delta": ("delta", "S1"), "pawn": ("median",),
         "local": ("S",)}


def _axes(ax, figsize=(6.4, 4.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_result(res, ax=None, output=None, index=None):
    """One panel for ``output`` (or the only output); one panel per output side by side otherwise."""
    df = res.indices[res.indices["parameter2"] == ""]
    outputs = list(dict.fromkeys(df["output"]))
    if output is None and len(outputs) > 1:
        import matplotlib.pyplot as plt

        if ax is None:
            _, axes = plt.subplots(1, len(outputs), figsize=(5.2 * len(outputs), 4.2), squeeze=False)
            axes = axes[0]
        else:
            axes = np.ravel(np.asarray(ax, dtype=object))
            if len(axes) != len(outputs):
                raise InputError(f"this result has {len(outputs)} outputs: give ax= one Axes per output, or "
                                 f"output= one of {outputs}")
        for a, name in zip(axes, outputs):
            _panel(res, df[df["output"] == name], a, name, index)
        axes[0].figure.tight_layout()
        return axes
    output = output or outputs[0]
    if output not in outputs:
        raise InputError(f"output {output!r} is not in this result; outputs: {outputs}")
    return _panel(res, df[df["output"] == output], ax, output, index)


def _panel(res, df, ax, output, index):
    if df["time"].notna().any():
        return _over_time(res, df, ax, output, index or _MAIN[res.method])
    if res.method == "morris":
        return _morris(df, ax, output)
    ax = _axes(ax)
    kinds = (index,) if index else _BARS[res.method]
    names = list(dict.fromkeys(df["parameter"]))
    x = np.arange(len(names))
    width = 0.8 / len(kinds)
    for i, kind in enumerate(kinds):
        sub = df[df["index"] == kind].set_index("parameter").reindex(names)
        err = sub["conf"].to_numpy(dtype=float)
        ax.bar(x + (i - (len(kinds) - 1) / 2) * width, sub["value"], width, label=kind,
               yerr=None if np.isnan(err).all() else np.nan_to_num(err), capsize=3)
    ax.set_xticks(x, names, rotation=45 if len(names) > 5 else 0, ha="right" if len(names) > 5 else "center")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_ylabel("normalised sensitivity coefficient" if res.method == "local" else "index")
    ax.set_title(f"{res.method}: {output}")
    ax.legend()
    return ax


def _morris(df, ax, output):
    ax = _axes(ax)
    mu = df[df["index"] == "mu_star"].set_index("parameter")
    sigma = df[df["index"] == "sigma"].set_index("parameter").reindex(mu.index)
    ax.errorbar(mu["value"], sigma["value"], xerr=np.nan_to_num(mu["conf"].to_numpy(dtype=float)), fmt="o",
                capsize=3)
    for name in mu.index:
        ax.annotate(name, (mu.loc[name, "value"], sigma.loc[name, "value"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    top = float(np.nanmax(np.r_[mu["value"].to_numpy(dtype=float), sigma["value"].to_numpy(dtype=float), 0]))
    ax.plot([0, top], [0, top], ls="--", color="0.6", lw=0.8, label="sigma = mu*")
    ax.set_xlabel("mu* (per unit quantile range)")
    ax.set_ylabel("sigma")
    ax.set_title(f"Morris: {output}")
    ax.legend()
    return ax


def _over_time(res, df, ax, output, index):
    ax = _axes(ax)
    sub = df[df["index"] == index]
    for name, grp in sub.groupby("parameter", sort=False):
        t, v, c = (grp[k].to_numpy(dtype=float) for k in ("time", "value", "conf"))
        line, = ax.plot(t, v, label=name)
        if not np.isnan(c).all():
            ax.fill_between(t, v - c, v + c, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("time")
    ax.set_ylabel(index)
    ax.set_title(f"{res.method} {index} of {output} over time")
    ax.legend(fontsize=8)
    return ax


def plot_convergence(res, ax=None, output=None, index=None):
    ax = _axes(ax)
    df = res.indices[res.indices["parameter2"] == ""]
    output = output or df["output"].iloc[0]
    index = index or _MAIN[res.method]
    sub = df[(df["output"] == output) & (df["index"] == index) & df["time"].isna()]
    for name, grp in sub.groupby("parameter", sort=False):
        n, v, c = (grp[k].to_numpy(dtype=float) for k in ("n", "value", "conf"))
        line, = ax.plot(n, v, marker="o", label=name)
        if not np.isnan(c).all():
            ax.fill_between(n, v - c, v + c, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("n")
    ax.set_ylabel(index)
    ax.set_title(f"{res.method} {index} of {output} vs sample size")
    ax.legend(fontsize=8)
    return ax
