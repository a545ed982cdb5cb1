"""MOOCS-DS across protocols: the fronts of every schedule of a sweep, and which protocol/dose pairs are optimal.

For each protocol (and parameter set) the four fronts are found as in :func:`qsp.synergy.moocs`. Two
summaries compare protocols:

- **per dose pair**, the number of protocols on whose front it lies (Gevertz & Kareva's across-protocol
  count);
- **the union front**: all (protocol, dose pair) points of the sweep pooled in one criterion space and
  filtered for non-domination, i.e. the protocol/dose pairs that no other protocol/dose pair beats on both
  indices. How many union-front points each protocol contributes ranks the protocols.

Assumption of the union front: each protocol's indices measure synergy against its own single-drug curves
(same schedule), so pooling compares how synergistic each protocol/dose pair is, not how effective; the
effect of each point is in the table (and ``tgi_min`` constrains it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..display import table_html
from ..errors import QSPError
from .moocs import SPACES, _check_spaces, _space_name, check_undefined_potency, moocs
from .pareto import non_dominated
from .population import population_result
from .protocols import ProtocolSweep
from .result import TableResult, _edges

__all__ = ["ProtocolMoocsResult", "moocs_protocols"]


def moocs_protocols(sweep: ProtocolSweep, *, spaces=SPACES, tgi_min: float | None = None, dose_box=None,
                    near_tol: float = 0.02, weights=(1.0, 1.0),
                    undefined_potency: str = "exclude") -> ProtocolMoocsResult:
    """MOOCS-DS of every protocol of a sweep, the across-protocol counts and the union fronts.

    Arguments as in :func:`qsp.synergy.moocs` (applied to every protocol and parameter set). With several
    parameter sets (``simulate_protocols(..., samples=)``) every figure is a share of parameter sets.

    Returns
    -------
    ProtocolMoocsResult
    """
    if not isinstance(sweep, ProtocolSweep):
        raise QSPError("moocs_protocols takes the result of qsp.synergy.simulate_protocols")
    spaces = _check_spaces(spaces)
    check_undefined_potency(undefined_potency)
    opts = {"spaces": spaces, "tgi_min": tgi_min, "dose_box": dose_box, "near_tol": near_tol, "weights": weights,
            "undefined_potency": undefined_potency}
    n_s, names = sweep.n_samples, sweep.names
    runs = {n: [moocs(sweep[n], sample=k, **opts) for k in range(n_s)] for n in names}
    union = {n: {_space_name(sp): np.zeros((n_s, len(runs[n][0].table)), bool) for sp in spaces} for n in names}
    for k in range(n_s):
        for sp in spaces:
            F = []
            for n in names:
                t = runs[n][k].table
                f = t[list(sp)].to_numpy(float, copy=True)
                f[~t["feasible"].to_numpy()] = np.nan
                F.append(f)
            on = non_dominated(np.vstack(F))
            pos = 0
            for n, f in zip(names, F):
                union[n][_space_name(sp)][k] = on[pos:pos + len(f)]
                pos += len(f)
    col = sweep[names[0]].effect_column
    results, frames = {}, []
    for n in names:
        if n_s == 1:
            results[n] = runs[n][0]
            t = results[n].table.copy()
            for sp, u in union[n].items():
                t[f"union_{sp}"] = u[0]
            t["union_count"] = sum(t[f"union_{sp}"].astype(int) for sp in union[n])
        else:
            results[n] = population_result(sweep[n], [r.table for r in runs[n]], spaces, tgi_min=tgi_min,
                                           near_tol=near_tol, undefined_potency=undefined_potency)
            t = results[n].table.copy()
            for sp, u in union[n].items():
                t[f"union_{sp}"] = u.mean(axis=0)
            t["union_frequency"] = np.mean([u for u in union[n].values()], axis=(0, 1))
        frames.append(t.assign(protocol=n)[["protocol", *t.columns]])
    first = runs[names[0]][0].info
    info = {"names": first["names"], "units": first["units"], "response": first["response"], "effect_column": col,
            "n_protocols": len(names), "protocols": names, "n_samples": n_s,
            "spaces": [_space_name(s) for s in spaces], "tgi_min": tgi_min, "near_tol": near_tol,
            "weights": list(weights), "undefined_potency": undefined_potency,
            "schedules": sweep.schedules().to_dict(orient="records")}
    return ProtocolMoocsResult(pd.concat(frames, ignore_index=True), info, spaces, results)


class ProtocolMoocsResult(TableResult):
    """MOOCS-DS across the protocols of a sweep.

    ``table``: one row per (protocol, dose pair). With one parameter set: the :class:`MoocsResult` columns plus
    ``union_<space>`` (on the union front of that space) and ``union_count``; with several: the
    :class:`PopulationMoocsResult` columns plus ``union_<space>`` and ``union_frequency`` (shares of parameter
    sets, and of parameter sets x spaces). ``results``: protocol name -> its own result.
    """

    def __init__(self, table: pd.DataFrame, info: dict, spaces, results: dict):
        self.table = table.reset_index(drop=True)
        self.info = info
        self.spaces = tuple(spaces)
        self.results = results

    @property
    def population(self) -> bool:
        return self.info["n_samples"] > 1

    def __repr__(self) -> str:
        return (f"ProtocolMoocsResult({self.info['n_protocols']} protocols x "
                f"{len(self.table) // self.info['n_protocols']} dose pairs, {self.info['n_samples']} parameter "
                f"set(s); most union-front points: {self.summary().iloc[0]['protocol']})")

    def _repr_html_(self) -> str:
        facts = (f"{self.info['n_protocols']} protocols, {self.info['n_samples']} parameter set(s), "
                 f"{len(self.spaces)} spaces; per-protocol summary")
        return table_html("ProtocolMoocsResult", self.summary(), facts)

    def _on(self, space) -> pd.Series:
        col = f"pareto_{_space_name(space)}" if not self.population else f"front_{_space_name(space)}"
        if col not in self.table:
            raise QSPError(f"space {space!r} was not computed; computed: {self.info['spaces']}")
        return self.table[col].astype(float)

    def union_front(self, space=("loewe", "bliss")) -> pd.DataFrame:
        """The (protocol, dose pair) rows on the union front of one space: sorted by its potency index (one
        parameter set), or by how often they are on it (several)."""
        col = f"union_{_space_name(tuple(space))}"
        if col not in self.table:
            raise QSPError(f"space {space!r} was not computed; computed: {self.info['spaces']}")
        t = self.table[self.table[col] > 0]
        t = t.sort_values(col, ascending=False, kind="stable") if self.population else t.sort_values(list(space))
        return t.reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """One row per protocol, most union-front points first: the schedule fields the sweep varies, front sizes
        per space, robust dose pairs, union-front points (per space and in all; means over parameter sets), its
        share of all union-front points, and the largest effect."""
        c = self.info["effect_column"]
        scheds = pd.DataFrame(self.info["schedules"]).drop(columns="protocol")
        varied = [k for k in scheds if scheds[k].astype(str).nunique() > 1]  # the sweep's variables
        rows = []
        for p, sched in zip(self.info["protocols"], self.info["schedules"]):
            t = self.table[self.table.protocol == p]
            row = {"protocol": p, **{k: sched[k] for k in varied}}
            for s in self.info["spaces"]:
                row[f"n_front_{s}"] = float(t[f"front_{s}"].sum()) if self.population else int(t[f"pareto_{s}"].sum())
            row["n_robust"] = float(t["robust_fraction"].sum()) if self.population else int(t["robust"].sum())
            for s in self.info["spaces"]:
                row[f"n_union_{s}"] = float(t[f"union_{s}"].sum()) if self.population else int(t[f"union_{s}"].sum())
            row["n_union"] = sum(row[f"n_union_{s}"] for s in self.info["spaces"])
            row[f"max_{c}"] = float(t[f"mean_{c}" if self.population else c].max())
            rows.append(row)
        out = pd.DataFrame(rows)
        total = out["n_union"].sum()
        out["union_share"] = out["n_union"] / total if total else 0.0
        return out.sort_values("n_union", ascending=False, kind="stable").reset_index(drop=True)

    def dose_counts(self) -> pd.DataFrame:
        """One row per dose pair: in how many protocols it is on each front (``n_protocols_<space>``; a mean over
        parameter sets when there are several), optimal in every space (``n_protocols_robust``), and on some
        union front (``n_protocols_union``)."""
        t = self.table
        keys = ["i", "j", "d1", "d2"]
        g = t.groupby(keys, sort=True)
        out = g.size().rename("n_protocols").reset_index()[keys]
        for s in self.info["spaces"]:
            out[f"n_protocols_{s}"] = g[f"front_{s}" if self.population else f"pareto_{s}"].sum().to_numpy(float)
        out["n_protocols_robust"] = g["robust_fraction" if self.population else "robust"].sum().to_numpy(float)
        u = t["union_frequency"] > 0 if self.population else t["union_count"] > 0
        out["n_protocols_union"] = u.groupby([t[k] for k in keys], sort=True).sum().to_numpy(float)
        return out

    # ------------------------------------------------------------------ plots
    def _labels(self):
        n, u = self.info["names"], self.info["units"]
        return [f"{a} ({b})" if b else a for a, b in zip(n, u)]

    def plot_fronts(self, ax=None, *, space=("loewe", "bliss")):
        """The front of every protocol in one space (one parameter set), coloured by protocol, and the union
        front (black); returns the Axes."""
        import matplotlib.pyplot as plt

        if self.population:
            raise QSPError("plot_fronts shows one parameter set; with several use plot_counts or plot_contributions")
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        space = tuple(space)
        cmap = plt.get_cmap("viridis", max(2, len(self.info["protocols"])))
        for k, p in enumerate(self.info["protocols"]):
            f = self.results[p].front(space)
            ax.plot(f[space[0]], f[space[1]], "-", lw=1, c=cmap(k), alpha=0.8)
        u = self.union_front(space)
        ax.plot(u[space[0]], u[space[1]], "k*", ms=7, label=f"union front ({len(u)} points)")
        sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(-0.5, len(self.info["protocols"]) - 0.5))
        cb = ax.figure.colorbar(sm, ax=ax, label="protocol")
        step = max(1, len(self.info["protocols"]) // 12)
        ticks = list(range(0, len(self.info["protocols"]), step))
        cb.set_ticks(ticks)
        cb.set_ticklabels([self.info["protocols"][k] for k in ticks], fontsize=6)
        ax.set_xlabel(f"{space[0].upper()} CI (potency)")
        ax.set_ylabel(f"{space[1].upper()} CI (efficacy)")
        ax.set_title(f"fronts of {len(self.info['protocols'])} protocols")
        ax.legend(fontsize=7)
        return ax

    def plot_counts(self, ax=None, *, space=("loewe", "bliss"), annotate: bool | None = None):
        """Heatmap on the dose grid: in how many protocols each dose pair is on the front of one space (a mean over
        parameter sets when there are several); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        name = _space_name(tuple(space))
        c = self.dose_counts()
        d1, d2 = np.sort(c.d1.unique()), np.sort(c.d2.unique())
        Z = c.pivot_table(index="d2", columns="d1", values=f"n_protocols_{name}").to_numpy()
        n = self.info["n_protocols"]
        mesh = ax.pcolormesh(_edges(d1), _edges(d2), Z, cmap="magma", vmin=0, vmax=n, shading="flat")
        ax.figure.colorbar(mesh, ax=ax, label=f"protocols ({name} front)")
        if annotate if annotate is not None else max(d1.size, d2.size) <= 12:
            for (b, a), z in np.ndenumerate(Z):
                if z > 0:
                    ax.text(d1[a], d2[b], f"{z:.3g}", ha="center", va="center", fontsize=6,
                            color="w" if z < 0.6 * n else "k")
        lx, ly = self._labels()
        ax.set_xlabel(lx)
        ax.set_ylabel(ly)
        return ax

    def plot_contributions(self, ax=None):
        """Bar chart: union-front points each protocol contributes, per space (stacked); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        s = self.summary().sort_values("protocol", key=lambda x: x.map(self.info["protocols"].index))
        bottom = np.zeros(len(s))
        for name in self.info["spaces"]:
            v = s[f"n_union_{name}"].to_numpy(float)
            ax.bar(s["protocol"], v, bottom=bottom, label=name)
            bottom += v
        ax.set_ylabel("union-front points" + (" (mean over parameter sets)" if self.population else ""))
        ax.tick_params(axis="x", rotation=90, labelsize=7)
        ax.legend(fontsize=7)
        return ax

    def plot(self, axes=None, *, space=("loewe", "bliss")):
        """Fronts of every protocol (one parameter set), across-protocol counts on the dose grid, union-front
        points per protocol; returns the Axes."""
        import matplotlib.pyplot as plt

        n = 2 if self.population else 3
        if axes is None:
            _, axes = plt.subplots(1, n, figsize=(5.4 * n, 4.3))
        axes = list(np.ravel(axes))
        rest = axes
        if not self.population:
            self.plot_fronts(axes[0], space=space)
            rest = axes[1:]
        self.plot_counts(rest[0], space=space)
        self.plot_contributions(rest[1])
        return axes
