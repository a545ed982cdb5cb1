"""Anti-PD-L1 x DDR inhibitor on a radiotherapy background (shipped ``tritherapy`` model): dose-response
surface, MOOCS-DS Pareto dose selection in the four criterion spaces, and an NSGA-II search that trades
tumour growth inhibition against total (EC50-normalised) dose.

    python examples/synergy_tritherapy.py [OUT_DIR]      # default out/synergy

Writes synergy_tritherapy_maps.png, synergy_tritherapy_fronts.png, synergy_tritherapy_nsga2.png and
synergy_tritherapy_moocs.csv into OUT_DIR. Runs in well under a minute on two cores.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import qsp
from qsp import synergy

#: Background for every arm: radiotherapy 5 x 2 Gy on days 7-11 (the model's main RT schedule).
RT = {f"RT{k}_dose": 2.0 for k in range(1, 6)}
#: Anti-PD-L1 i.p. three times a week for three weeks from day 7 (days 7, 9, 11, 14, ..., 25).
ANTI_PDL1 = synergy.Treatment("A_ip", "mg/kg", times=(7, 9, 11), every=7, count=3, name="anti-PD-L1")
#: DDR inhibitor p.o. once daily on days 7-11, 40 min before each RT fraction.
DDRI = synergy.Treatment("DDRi_gut", "mg/kg", time=6.9722, every=1, count=5, name="DDRi")
RESPONSE = "tgi:TV_tot:25"  # tumour growth inhibition on day 25 against RT alone
STANDARD = (10.0, 75.0)  # the model's standard doses (outside the grid: shown for reference in the text)


def main(out_dir: str = "out/synergy") -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model = qsp.load_model("tritherapy")

    # 1. the surface: 12 x 12 log grid, one ensemble run (grid + dense single-drug curves + control)
    d1 = synergy.dose_grid(0.03, 3.0, 12, scale="log")
    d2 = synergy.dose_grid(2.0, 40.0, 12, scale="log")
    surface = synergy.simulate_surface(model, ANTI_PDL1, DDRI, d1, d2, response=RESPONSE, params=RT,
                                       t_end=25, points=101, mono_points=40)

    # 2. MOOCS-DS: four combination indices per dose pair, exact fronts, robustness count. Dose pairs whose
    #    effect one drug alone cannot reach have undefined potency indices and are kept out of the fronts.
    res = synergy.moocs(surface)
    res.to_csv(out / "synergy_tritherapy_moocs.csv")
    print(f"EC50 anti-PD-L1 {res.info['EC50_1']:.3g} mg/kg, DDRi {res.info['EC50_2']:.3g} mg/kg "
          f"(on RT 5 x 2 Gy, TGI at day 25)")
    k = int(surface.mono2_effect[0].argmax())
    print(f"DDRi alone: TGI {res.table['E2'].max():.3f} at {d2.max():g} mg/kg (top of the grid), at most "
          f"{surface.mono2_effect[0, k]:.3f} (at {surface.mono2[k]:.0f} mg/kg) on its dense curve up to "
          f"{surface.mono2.max():g} mg/kg")
    print(f"{res.info['n_potency_undefined']} dose pairs reach an effect one drug alone cannot (D_i = inf): "
          "potency undefined, excluded from the fronts")
    print(res.summary()[["space", "n_front", "potency_min", "efficacy_min"]].to_string(index=False))
    robust = res.robust()
    print(f"{len(robust)} dose pairs optimal in all four spaces:")
    print(robust[["d1", "d2", "tgi", "hsa", "bliss", "loewe", "lsd"]].round(3).to_string(index=False))
    zero = synergy.moocs(surface, undefined_potency="zero")  # limit values compete, for comparison
    sizes = zero.summary()
    print("with undefined_potency='zero': fronts " + ", ".join(
        f"{r.space} {r.n_front} ({r.n_potency_undefined} undefined)" for r in sizes.itertuples())
        + f"; {len(zero.robust())} robust, {int(zero.robust()['potency_undefined'].sum())} of them undefined:")
    print(zero.robust()[["d1", "d2", "tgi", "loewe", "lsd", "potency_undefined"]].round(3).to_string(index=False))
    strong = synergy.moocs(surface, tgi_min=0.8)
    print(f"with tgi_min=0.8: {int(strong.table['feasible'].sum())} dose pairs compete "
          f"({int((strong.table['tgi'] >= 0.8).sum())} reach TGI 0.8, all with undefined potency)")

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    surface.plot(axes[0, 0], log=True)
    axes[0, 0].set_title("TGI at day 25 (RT background)")
    for ax, index in zip([axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]], ["hsa", "bliss", "loewe", "lsd"]):
        res.plot_index(ax, index=index, log=True)
        ax.set_title(f"{index.upper()} combination index")
    res.plot_doses(axes[1, 2], space=("loewe", "bliss"), log=True)
    axes[1, 2].set_title("Loewe-Bliss front and robust doses")
    fig.tight_layout()
    fig.savefig(out / "synergy_tritherapy_maps.png", dpi=100)
    plt.close(fig)

    axes = res.plot_fronts()
    axes[0].figure.suptitle("anti-PD-L1 x DDRi on RT 5 x 2 Gy: Pareto fronts in the four MOOCS-DS spaces")
    axes[0].figure.tight_layout()
    axes[0].figure.savefig(out / "synergy_tritherapy_fronts.png", dpi=100)
    plt.close(axes[0].figure)

    # 3. NSGA-II on continuous doses: maximise TGI, minimise the EC50-normalised total dose, TGI >= 0.8
    problem = synergy.SynergyProblem(model, ANTI_PDL1, DDRI, bounds1=(0.03, 3.0), bounds2=(2.0, 40.0),
                                     objectives=("tgi", "dose"), response=RESPONSE, tgi_min=0.8, params=RT,
                                     t_end=25, points=101,
                                     mono_points=40)
    opt = synergy.nsga2(problem, pop_size=16, n_gen=10, seed=1)
    print(f"NSGA-II: {len(opt.table)} non-dominated regimens from {opt.info['n_evaluations']} evaluations")
    print(opt.table[["d1", "d2", "tgi", "dose"]].round(3).to_string(index=False))
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    grid = res.table.assign(**{"1-tgi": 1 - res.table["tgi"],
                               "dose": res.table.d1 / res.info["EC50_1"] + res.table.d2 / res.info["EC50_2"]})
    opt.plot(ax, objectives=["dose", "1-tgi"], reference=grid)
    ax.axhline(0.2, ls=":", c="0.4", lw=1)
    ax.set_xlabel("total dose (sum of d / EC50)")
    ax.set_ylabel("1 - TGI (day 25)")
    ax.set_title("NSGA-II: TGI vs total dose (TGI >= 0.8)")
    fig.tight_layout()
    fig.savefig(out / "synergy_tritherapy_nsga2.png", dpi=100)
    plt.close(fig)
    print(f"figures in {out}/ ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
