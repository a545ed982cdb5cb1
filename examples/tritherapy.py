"""Tritherapy example: untreated vs treated tumour curves, the RT + anti-PD-L1 schedule comparison and the
responder rates of a virtual population, each with the eradication rule on and off.

Evaluation day: day 57, that is 50 days after the first treatment (day 7), the day on which Kosinsky et al. 2018
count a complete responder (total tumour volume <= 10 mm^3 = 10 uL). It is fixed by that definition, not by the
results; the second figure shows how the comparisons move when the day moves.

Assumptions every number here rests on: CT26 values of Kosinsky 2018, placeholder DDRi values, between-animal
variability in S_L only (log-normal, median 8.89 uL, sd of ln 0.696; 200 animals, numpy seed 1), and the state of
the eradication rule (``cure_on``), which is given with each result.

Run: ``.venv/bin/python examples/tritherapy.py [OUT_DIR]`` (default ``out/tritherapy``). Writes ``tritherapy.png``
(docs/models/tritherapy.png), ``tritherapy_cure_rule.png`` (docs/figures/tritherapy_cure_rule.png),
``tritherapy_responders.csv`` (responders on the evaluation day, rule on and off) and
``tritherapy_responders_by_day.csv`` (responders against the evaluation day).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import qsp
from qsp import ensemble

N_ANIMALS = 200
SEED = 1
EVAL_DAY = 57.0  #: day; 50 days after the first treatment (Kosinsky 2018 responder definition)
THRESHOLD = 10.0  #: uL; responder volume, equal to the rule's V_cure
T_END = 100.0  #: day; long enough to show the day dependence beyond the evaluation day
RULES = {"rule on": 1, "rule off": 0}
SCHEDULES = ("rt_anti_pdl1_concurrent", "rt_anti_pdl1_sequential")
DDRI_COURSES = ("tritherapy", "tritherapy_prolonged_ddri")
LABELS = {"untreated": "untreated", "rt_5x2gy": "RT 5x2 Gy d7-11", "anti_pdl1": "anti-PD-L1 10 mg/kg 3qw",
          "rt_anti_pdl1_concurrent": "RT + anti-PD-L1 concurrent (d7)",
          "rt_anti_pdl1_sequential": "RT + anti-PD-L1 sequential (d12)",
          "rt_anti_pdl1_sequential_d19": "RT + anti-PD-L1 sequential (d19)", "rt_10gy": "RT 10 Gy d7",
          "rt_10gy_anti_pdl1": "RT 10 Gy + anti-PD-L1", "ddri": "DDRi 75 mg/kg d7-11", "rt_ddri": "RT + DDRi",
          "tritherapy": "tritherapy (DDRi d7-11)", "tritherapy_prolonged_ddri": "tritherapy, DDRi to d15"}


def population(n: int = N_ANIMALS, seed: int = SEED) -> pd.DataFrame:
    """Virtual animals: S_L (uL) = 8.89 exp(0.696 z), z standard normal from ``numpy.random.default_rng(seed)``."""
    return pd.DataFrame({"S_L": 8.89 * np.exp(0.696 * np.random.default_rng(seed).standard_normal(n))})


def typical_curves(model: qsp.Model, regimens: Sequence[str], t: np.ndarray, cure_on: int) -> pd.DataFrame:
    """TV_tot (uL) of the typical animal (S_L = 8.89 uL) for each regimen, indexed by time (day)."""
    out = {}
    for name in regimens:
        doses, params = model.regimen(name)
        out[name] = model.simulate(t[-1], times=t, doses=doses, params={**params, "cure_on": cure_on},
                                   outputs=["TV_tot"], rtol=1e-8)["TV_tot"]
    return pd.DataFrame(out, index=pd.Index(t, name="time_day"))


def population_volumes(model: qsp.Model, regimens: Sequence[str], animals: pd.DataFrame, days: np.ndarray,
                       cure_on: int) -> pd.DataFrame:
    """TV_tot (uL) of every animal under every regimen on ``days`` (day).

    One row per (regimen, animal), one column per day.
    """
    res = ensemble.run(model, animals, regimens={r: r for r in regimens}, times=days, trajectories=["TV_tot"],
                       params={"cure_on": cure_on})
    if res.n_failed:
        raise RuntimeError(f"{res.n_failed} simulations failed")
    wide = res.trajectories.pivot(index="task", columns="time", values="TV_tot")
    keys = res.table.set_index("task")[["regimen", "sample"]]
    return keys.join(wide).set_index(["regimen", "sample"])


def responder_percent(volumes: pd.DataFrame, day: float, threshold: float = THRESHOLD) -> pd.Series:
    """Percent of animals per regimen with TV_tot <= ``threshold`` uL on ``day``."""
    return (volumes[day] <= threshold).groupby(level="regimen", sort=False).mean() * 100.0


def responders_table(volumes: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Responders on the evaluation day with the rule on and off, one row per regimen."""
    table = pd.DataFrame({f"responders_{k.replace(' ', '_')}_percent": responder_percent(v, EVAL_DAY)
                          for k, v in volumes.items()})
    table.index.name = "regimen"
    return table.reset_index()


def responders_by_day(volumes: dict[str, pd.DataFrame], regimens: Sequence[str]) -> pd.DataFrame:
    """Responders (%) against the evaluation day, for ``regimens`` and both rule states (long table)."""
    rows = []
    for rule, v in volumes.items():
        for day in v.columns:
            pct = responder_percent(v, day)
            rows += [{"rule": rule, "regimen": r, "day": float(day), "responders_percent": pct[r]} for r in regimens]
    return pd.DataFrame(rows)


def _volume_axes(ax, title: str, t_end: float) -> None:
    ax.axvspan(7, 11, color="0.92", zorder=0)
    ax.axhline(THRESHOLD, color="0.5", lw=0.8, ls=":")
    ax.axvline(EVAL_DAY, color="0.3", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_ylim(0.005, 4000)
    ax.set_xlim(0, t_end)
    ax.set_xlabel("day after implant (RT days shaded; dashed: evaluation day 57)")
    ax.set_ylabel("tumour volume TV_tot (uL = mm$^3$)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower left")


def plot_overview(curves: dict[str, pd.DataFrame], table: pd.DataFrame, arms: Sequence[str],
                  schedules: Sequence[str]):
    """The model page's figure: typical animal (rule off), schedules (rule on and off), responders (both)."""
    import matplotlib.pyplot as plt

    colours = dict(zip(LABELS, plt.get_cmap("tab20").colors[::2] + plt.get_cmap("tab20").colors[1::2]))
    fig, axes = plt.subplots(1, 3, figsize=(19, 5.4))
    off, on = curves["rule off"], curves["rule on"]
    for name in arms:
        axes[0].plot(off.index, off[name], label=LABELS[name], color=colours[name])
    _volume_axes(axes[0], "Typical animal, untreated vs treated (rule off, the default)", 60)
    for name in schedules:
        axes[1].plot(off.index, off[name], label=f"{LABELS[name]}, rule off", color=colours[name])
        axes[1].plot(on.index, on[name], ls="--", lw=1, color=colours[name])
    axes[1].plot([], [], ls="--", lw=1, color="0.3", label="dashed: same arm, rule on")
    _volume_axes(axes[1], "Typical animal, schedules: rule off (solid), rule on (dashed)", 60)
    ax = axes[2]
    y = np.arange(len(table))
    for k, (rule, colour) in enumerate([("rule on", "tab:blue"), ("rule off", "tab:orange")]):
        col = f"responders_{rule.replace(' ', '_')}_percent"
        ax.barh(y + (k - 0.5) * 0.4, table[col], height=0.4, color=colour, label=rule)
        for yi, v in zip(y, table[col]):
            ax.text(v + 1, yi + (k - 0.5) * 0.4, f"{v:.1f}", va="center", fontsize=7)
    ax.set_yticks(y, [LABELS[r] for r in table["regimen"]])
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel(f"% of {N_ANIMALS} virtual animals with TV_tot <= 10 uL on day {EVAL_DAY:g}")
    ax.set_title("Responders (S_L log-normal, sd of ln 0.696)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("tritherapy: Kosinsky 2018 base (CT26 values) + placeholder DDRi module", fontsize=11)
    fig.tight_layout()
    return fig


def plot_cure_rule(curves: dict[str, pd.DataFrame], by_day: pd.DataFrame):
    """How the two comparisons depend on the rule and on the evaluation day (typical animal; population)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    pairs = [(SCHEDULES, "RT + anti-PD-L1: concurrent vs sequential (d12)"),
             (DDRI_COURSES, "tritherapy: short (d7-11) vs prolonged (d7-15) DDRi")]
    styles = {"rule off": "-", "rule on": "--"}
    for col, (pair, title) in enumerate(pairs):
        ax = axes[0, col]
        for colour, name in zip(("tab:red", "tab:blue"), pair):
            for rule, ls in styles.items():
                c = curves[rule]
                ax.plot(c.index, c[name], ls=ls, color=colour, label=f"{LABELS[name]}, {rule}")
        _volume_axes(ax, f"Typical animal. {title}", T_END)
        ax = axes[1, col]
        for colour, name in zip(("tab:red", "tab:blue"), pair):
            for rule, ls in styles.items():
                d = by_day[(by_day.rule == rule) & (by_day.regimen == name)]
                ax.plot(d["day"], d["responders_percent"], ls=ls, color=colour, label=f"{LABELS[name]}, {rule}")
        ax.axvline(EVAL_DAY, color="0.3", lw=0.8, ls="--")
        ax.set_xlim(20, T_END)
        ax.set_ylim(0, 100)
        ax.set_xlabel("evaluation day (dashed: day 57)")
        ax.set_ylabel(f"% of {N_ANIMALS} animals with TV_tot <= 10 uL")
        ax.set_title(f"Population. {title}", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle("Eradication rule on (dashed) and off (solid): responders depend on the rule and, without it, "
                 "on the evaluation day", fontsize=11)
    fig.tight_layout()
    return fig


def main(out_dir: str = "out/tritherapy") -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = qsp.load_model("tritherapy")
    regimens = list(model.metadata["regimens"])
    arms = ["untreated", "rt_5x2gy", "anti_pdl1", "ddri", "rt_anti_pdl1_concurrent", "tritherapy"]
    schedules = [*SCHEDULES, "rt_anti_pdl1_sequential_d19", *DDRI_COURSES]
    t = np.arange(0.0, T_END + 0.125, 0.25)
    curves = {rule: typical_curves(model, regimens, t, c) for rule, c in RULES.items()}
    days = np.arange(0.0, T_END + 0.5, 1.0)
    animals = population()
    volumes = {rule: population_volumes(model, regimens, animals, days, c) for rule, c in RULES.items()}
    table = responders_table(volumes)
    by_day = responders_by_day(volumes, [*SCHEDULES, *DDRI_COURSES])
    table.to_csv(out / "tritherapy_responders.csv", index=False)
    by_day.to_csv(out / "tritherapy_responders_by_day.csv", index=False)
    for name, fig in [("tritherapy.png", plot_overview(curves, table, arms, schedules)),
                      ("tritherapy_cure_rule.png", plot_cure_rule(curves, by_day))]:
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
    print(f"responders (TV_tot <= {THRESHOLD:g} uL on day {EVAL_DAY:g}, {N_ANIMALS} animals):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(f"wrote {out / 'tritherapy.png'}, {out / 'tritherapy_cure_rule.png'} and the two CSV tables")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
