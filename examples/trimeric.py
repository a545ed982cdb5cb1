"""Bell-shaped trimer formation of a bispecific FAP x 4-1BB antibody (model ``trimeric``).

Left: percent of 4-1BB held in the trimer FAP-drug-4-1BB at equilibrium against total drug concentration, from
simulations of the binding module alone (no PK, turnover or internalisation), with the Douglass et al. 2013
closed form drawn over it, for the clinical FAP affinity (0.7 nM) and a tenfold tighter variant (0.07 nM).
Middle and right: plasma drug and percent of 4-1BB in the trimer under weekly IV dosing at the optimal dose and
at a 23-fold higher dose, where single-arm binding takes over (hook effect).

A second figure, ``<out>_kd2.png``, shows how the effective 4-1BB affinity K_D2 sets the FAP-threshold relation
(against the published 3.35-fold) and the optimal weekly dose.

Usage: ``python examples/trimeric.py [out.png]``
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scipy.optimize import minimize_scalar  # noqa: E402

import qsp  # noqa: E402
from qsp import metrics  # noqa: E402

CLOSED = {"CL": 0.0, "Q": 0.0, "k_T": 0.0, "kdegA": 0.0, "kdegB": 0.0, "kintA": 0.0, "kintB": 0.0, "kintAB": 0.0}


def douglass_trimer(a_t, b_t, c_t, k_ab, k_bc):
    """Non-cooperative equilibrium trimer concentration (Douglass et al. 2013); B is the bridging drug.

    Each drug site fills like an independent 1:1 isotherm against the whole drug pool, and the trimer is the
    product of the two site occupancies divided by the drug total.
    """

    def occupied(x_t, k):
        s = x_t + b_t + k
        return 2.0 * x_t * b_t / (s + math.sqrt(s * s - 4.0 * x_t * b_t))

    return occupied(a_t, k_ab) * occupied(c_t, k_bc) / b_t


def fap_fold(kd2: float, kd1: float = 0.7, factor: float = 10.0) -> float:
    """Dilute well, alpha = 1: how much less FAP a ``factor``-fold tighter FAP binder needs for the same peak trimer."""
    return (math.sqrt(kd1) + math.sqrt(kd2)) ** 2 / (math.sqrt(kd1 / factor) + math.sqrt(kd2)) ** 2


def mean_trimer_last_week(model, dose_mg: float, params: dict) -> float:
    """Time-averaged trimer (nM) over the last week of 24 weekly IV doses."""
    times = np.concatenate([[0.0], 161.0 + np.linspace(1e-6, 7.0, 1401)])
    res = model.simulate(168.0, times=times, outputs=["[ADB]"], params=params, rtol=1e-10, atol=1e-16,
                         doses=[qsp.Dose("Cp", dose_mg, unit="mg", time=0, every=7, count=24)])
    return metrics.auc(res.time[1:], res["[ADB]"][1:]) / (res.time[-1] - res.time[1])


def weekly_optimum(model, params: dict) -> tuple[float, float]:
    """Weekly dose (mg) that maximises the mean trimer over the last week, and the percent of 4-1BB in trimer."""
    opt = minimize_scalar(lambda lx: -mean_trimer_last_week(model, math.exp(lx), params),
                          bounds=(math.log(0.1), math.log(100.0)), method="bounded", options={"xatol": 1e-4})
    b0 = params.get("B0", 0.05)
    return math.exp(opt.x), -100.0 * opt.fun / b0


def kd2_figure(model, out: str) -> None:
    """FAP-threshold fold and weekly optimum against K_D2, for K_D(FAP) 0.7 and 0.07 nM."""
    fine = np.geomspace(0.02, 20.0, 200)
    grid = np.array([0.05, 0.1, 0.18, 0.5, 1.0, 2.0, 5.0, 10.0])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.plot(fine, [fap_fold(k) for k in fine], color="k")
    ax.axhline(13_400 / 4_000, color="tab:orange", ls="--", label="published 13,400 -> 4,000 FAP/cell (3.35)")
    for k, label in [(0.18, "default 0.18 nM"), (5.0, "kd2_5nM set")]:
        ax.plot(k, fap_fold(k), "o", ms=7, label=f"{label}: {fap_fold(k):.2f}-fold")
    ax.set_xscale("log")
    ax.set_xlabel("K$_D$(4-1BB) (nM)")
    ax.set_ylabel("FAP/cell needed, K$_D$(FAP) 0.7 / 0.07 nM")
    ax.set_title("Dilute in-vitro well: tenfold tighter FAP binding", fontsize=9)
    ax.legend(fontsize=7)
    for kd1, color in [(0.7, "tab:blue"), (0.07, "tab:red")]:
        res = [weekly_optimum(model, {"KD2": float(k), "KD1": kd1}) for k in grid]
        axes[1].plot(grid, [r[0] for r in res], "o-", color=color, label=f"K$_D$(FAP) {kd1:g} nM")
        axes[2].plot(grid, [r[1] for r in res], "o-", color=color, label=f"K$_D$(FAP) {kd1:g} nM")
    for ax in axes[1:]:
        ax.axvline(0.18, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel("K$_D$(4-1BB) (nM)")
        ax.legend(fontsize=7)
    axes[1].set_yscale("log")
    axes[1].set_ylabel("optimal weekly IV dose (mg)")
    axes[1].set_title("Dose maximising the mean trimer over the last week", fontsize=9)
    axes[2].set_ylabel("4-1BB in trimer at the optimum (%)")
    axes[2].set_title("Trimer reached at the optimal weekly dose", fontsize=9)
    fig.suptitle("trimeric: the effective 4-1BB affinity sets the FAP threshold and the optimal dose")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


def main(out: str = "trimeric.png") -> None:
    model = qsp.load_model("trimeric")
    a0, b0 = 2.0, 0.05  # FAP and 4-1BB in the tumour interstitium (nM)
    kd2 = float(model.parameters.loc["KD2", "value"])  # K_D(4-1BB) (nM)
    optimum = float(model.regimen("default")[0][0].amount)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))

    # ---- equilibrium bell: simulation vs closed form
    ax = axes[0]
    fine = np.geomspace(1e-3, 1e4, 300)
    coarse = np.geomspace(1e-3, 1e4, 22)
    for kd1, color in [(0.7, "tab:blue"), (0.07, "tab:red")]:
        sim = []
        for drug in coarse:
            params = {**CLOSED, "A0": a0, "B0": b0, "D0": drug, "KD1": kd1, "KD2": kd2}
            res = model.simulate(60.0, points=3, outputs=["pct_trimer"], params=params, rtol=1e-10, atol=1e-16)
            sim.append(res["pct_trimer"][-1])
        closed = [100.0 * douglass_trimer(a0, d, b0, kd1, kd2) / b0 for d in fine]
        ax.plot(fine, closed, color=color, lw=1.5, label=f"closed form, K$_D$(FAP) = {kd1:g} nM")
        ax.plot(coarse, sim, "o", color=color, mfc="none", ms=6, label=f"simulation, K$_D$(FAP) = {kd1:g} nM")
    ax.set_xscale("log")
    ax.set_xlabel("total drug concentration (nM)")
    ax.set_ylabel("4-1BB in trimer (%)")
    ax.set_title(f"Equilibrium, FAP {a0:g} nM, 4-1BB {b0:g} nM, K$_D$(4-1BB) {kd2:g} nM", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")

    # ---- PK and trimer under weekly dosing
    t_end = 56.0
    for dose_mg, color in [(optimum, "tab:green"), (30.0, "tab:purple")]:
        doses = [qsp.Dose("Cp", dose_mg, unit="mg", time=0, every=7, count=8)]
        res = model.simulate(t_end, points=1121, outputs=["[Cp]", "[D]", "pct_trimer"], doses=doses)
        axes[1].plot(res.time, res["[Cp]"], color=color, label=f"plasma, {dose_mg:g} mg weekly")
        axes[1].plot(res.time, res["[D]"], color=color, ls="--", label=f"tumour free, {dose_mg:g} mg weekly")
        axes[2].plot(res.time, res["pct_trimer"], color=color, label=f"{dose_mg:g} mg IV weekly")
    axes[1].set_yscale("log")
    axes[1].set_ylim(0.01, 1000)
    axes[1].set_xlabel("time (day)")
    axes[1].set_ylabel("drug concentration (nM)")
    axes[1].set_title("Two-compartment PK with tumour exchange", fontsize=9)
    axes[1].legend(fontsize=7)
    axes[2].set_xlabel("time (day)")
    axes[2].set_ylabel("4-1BB in trimer (%)")
    axes[2].set_title("Trimer in the tumour: more drug gives less trimer", fontsize=9)
    axes[2].legend(fontsize=7)

    fig.suptitle("trimeric: bispecific FAP x 4-1BB antibody, dimers and trimer (illustrative parameters)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")
    path = Path(out)
    kd2_figure(model, str(path.with_name(f"{path.stem}_kd2{path.suffix}")))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "trimeric.png")
