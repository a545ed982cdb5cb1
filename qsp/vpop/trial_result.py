"""The result of a simulated trial: per-patient responses, rates per arm, arm comparisons, and their plots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..display import table_html
from .result import _records, _Table

__all__ = ["TrialResult"]


class TrialResult(_Table):
    """A simulated trial over a virtual population.

    Attributes
    ----------
    patients : DataFrame
        One row per patient and arm: task, patient, (pp), regimen, status, message, parameters, baseline,
        nadir, best_percent_change (%), final, category, responder, (cytokine_peak, crs_grade), weight.
    rates : DataFrame
        Per arm and endpoint: n, n_failed, count, rate, ci_low, ci_high, n_eff, weighted.
    comparisons : DataFrame
        Pairs of arms: response-rate difference, Newcombe interval, Fisher p-value.
    trajectories : DataFrame
        Long table of the tumour curve (task, time, output, patient, regimen, percent_change).
    rule : dict
        The classification rule and its thresholds.
    """

    def __init__(self, patients, rates, comparisons, trajectories, *, rule, n_failed, wall_seconds, weighted):
        self.patients = patients
        self.rates = rates
        self.comparisons = comparisons
        self.trajectories = trajectories
        self.rule = rule
        self.n_failed = int(n_failed)
        self.wall_seconds = float(wall_seconds)
        self.weighted = bool(weighted)

    @property
    def table(self) -> pd.DataFrame:
        return self.patients

    def __repr__(self) -> str:
        return f"TrialResult({self._facts()})"

    def _facts(self) -> str:
        r = self.rates[self.rates["endpoint"] == "response"]
        arms = ", ".join(f"{a}: {v:.1%}" for a, v in zip(r["regimen"], r["rate"]))
        return f"{len(self.patients)} patient-arms, {self.n_failed} failed; response {arms}"

    def _repr_html_(self) -> str:
        """Notebook view: the key facts, the rates per arm and endpoint, and the arm comparisons."""
        return (table_html("TrialResult", self.rates, self._facts() + "; rates")
                + table_html("comparisons", self.comparisons))

    def summary(self) -> dict:
        """Rule, rates, comparisons, counts, wall time."""
        return {"kind": "trial", "rule": self.rule, "n_failed": self.n_failed, "wall_seconds": self.wall_seconds,
                "weighted": self.weighted, "rates": _records(self.rates), "comparisons": _records(self.comparisons)}

    def plot(self, ax=None, *, clip: float = 100.0):
        """Waterfall plot: best % change per patient, arms side by side, bars coloured by category."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(9, 4))
        colours = {"CR": "#1a9850", "PR": "#91cf60", "SD": "#fee08b", "PD": "#d73027", "": "#999999"}
        x0, centres, names = 0, [], []
        ok = self.patients[self.patients["status"] == "ok"]
        for arm, grp in ok.groupby("regimen", sort=False):
            grp = grp.sort_values("best_percent_change", ascending=False)
            v = np.minimum(grp["best_percent_change"].to_numpy(float), clip)
            xs = x0 + np.arange(len(v))
            ax.bar(xs, v, width=1.0, color=[colours[c] for c in grp["category"]], linewidth=0, antialiased=False)
            rate = self.rates[(self.rates.regimen == arm) & (self.rates.endpoint == "response")].iloc[0]
            centres.append(x0 + len(v) / 2)
            names.append(f"{arm}\nresponse {rate.rate:.0%} ({rate.ci_low:.0%}-{rate.ci_high:.0%})")
            x0 += len(v) + max(3, len(v) // 10)
        for level in (self.rule["pd"], self.rule["pr"]):
            ax.axhline(level, color="k", lw=0.6, ls="--")
        ax.set_xticks(centres, names, fontsize=8)
        ax.set_ylabel(f"best % change of {self.rule['tumour']} (clipped at {clip:g} %)")
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=colours[c], label=c) for c in ("CR", "PR", "SD", "PD")], fontsize=8,
                  loc="lower left")
        return ax

    def plot_spider(self, ax=None, *, regimen: str | None = None, clip: float = 200.0):
        """Spider plot: % change from baseline against time after baseline, one line per patient."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        regimen = regimen or self.patients["regimen"].iloc[0]
        colours = {"CR": "#1a9850", "PR": "#91cf60", "SD": "#fee08b", "PD": "#d73027", "": "#999999"}
        cat = dict(zip(self.patients["task"], self.patients["category"]))
        tr = self.trajectories[(self.trajectories["regimen"] == regimen) &
                               (self.trajectories["time"] >= self.rule["baseline"])]
        for task, grp in tr.groupby("task"):
            ax.plot(grp["time"] - self.rule["baseline"], np.minimum(grp["percent_change"], clip),
                    color=colours[cat[task]], lw=0.7, alpha=0.7)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel("time after baseline")
        ax.set_ylabel(f"% change of {self.rule['tumour']} (clipped at {clip:g} %)")
        ax.set_title(regimen)
        return ax
