"""MOOCS-DS case study: pembrolizumab + bevacizumab in H1299 xenografts (shipped ``pembro_bev`` model), on the
30 x 30 grid of Gevertz & Kareva 2023 (each drug from its monotherapy EC5 to EC70, experimental Q3D schedule);
then the same box on a 10 x 10 grid across 25 schedules (each drug every 1 to 5 days) and under parameter
uncertainty (parameter sets drawn from the model's parameter_ranges, TGI >= 0.6).

    python examples/synergy_pembro_bev.py [OUT_DIR]      # default out/synergy

Writes synergy_pembro_bev_fronts.png, synergy_pembro_bev_doses.png, synergy_pembro_bev_protocols.png,
synergy_pembro_bev_uncertainty.png and the tables synergy_pembro_bev_moocs.csv, synergy_pembro_bev_protocols.csv
(per protocol) and synergy_pembro_bev_uncertainty.csv (per dose pair). The case study from the command line:

    qsp synergy pembro_bev --drug A1:mg/kg --drug A2:mg/kg \\
        --schedule time=3,every=3,count=5 --schedule time=0,every=3,count=6 \\
        --grid 0.408:10.88:30,0.1372:3.457:30 --metric tgi:W:35 --mono-points 200 --out moocs.csv --plot moocs.png
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import qsp
from qsp import ensemble, synergy

PEMBRO = synergy.Treatment("A1", "mg/kg", time=3, every=3, count=5, name="pembrolizumab")
BEV = synergy.Treatment("A2", "mg/kg", time=0, every=3, count=6, name="bevacizumab")


def main(out_dir: str = "out/synergy") -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model = qsp.load_model("pembro_bev")
    surface = synergy.simulate_surface(model, PEMBRO, BEV, synergy.dose_grid(0.408, 10.88, 30),
                                       synergy.dose_grid(0.1372, 3.457, 30), response="tgi:W:35", mono_points=200,
                                       rtol=1e-10)
    res = synergy.moocs(surface)
    res.to_csv(out / "synergy_pembro_bev_moocs.csv")
    print(f"EC50 pembrolizumab {res.info['EC50_1']:.4f} mg/kg, bevacizumab {res.info['EC50_2']:.4f} mg/kg")
    print(res.summary()[["space", "n_front", "potency_min", "efficacy_min"]].round(4).to_string(index=False))
    rb = res.robust()
    ratio = (rb.d1 / res.info["EC50_1"]) / (rb.d2 / res.info["EC50_2"])
    print(f"{len(rb)} dose pairs optimal in all four spaces (normalised-dose ratio {ratio.min():.3f}-{ratio.max():.3f}):")
    print(rb[["i", "j", "d1", "d2", "tgi"]].round(4).to_string(index=False))

    axes = res.plot_fronts(mark=[(10.0, 1.0)])
    axes[0].figure.suptitle("pembrolizumab + bevacizumab (H1299): exact Pareto fronts, 30 x 30 grid")
    axes[0].figure.tight_layout()
    axes[0].figure.savefig(out / "synergy_pembro_bev_fronts.png", dpi=100)
    plt.close(axes[0].figure)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    res.plot(axes[0])
    res.plot_doses(axes[1], space=("loewe", "bliss"), mark=[(10.0, 1.0)])
    axes[1].set_title("robust doses over TGI(35); circle: experimental dose")
    fig.tight_layout()
    fig.savefig(out / "synergy_pembro_bev_doses.png", dpi=100)
    plt.close(fig)
    sweep_and_uncertainty(model, out)
    print(f"figures in {out}/ ({time.perf_counter() - started:.1f} s)")
    return 0


def sweep_and_uncertainty(model, out: Path) -> None:
    """25 schedules in one ensemble run, and MOOCS-DS over sampled parameter sets, on a 10 x 10 grid."""
    g1, g2 = synergy.dose_grid(0.408, 10.88, 10), synergy.dose_grid(0.1372, 3.457, 10)
    protocols = synergy.protocol_grid(PEMBRO, BEV, every1=[1, 2, 3, 4, 5], every2=[1, 2, 3, 4, 5])
    sweep = synergy.simulate_protocols(model, protocols, g1, g2, mono_points=60)
    across = synergy.moocs_protocols(sweep)
    summary = across.summary()
    summary.to_csv(out / "synergy_pembro_bev_protocols.csv", index=False)
    print(f"{len(protocols)} protocols (pembrolizumab q1-q5 days x5, bevacizumab q1-q5 days x6), "
          f"{len(sweep.table)} simulations in one run")
    print(summary[["protocol", "n_front_loewe_bliss", "n_robust", "n_union", "union_share", "max_tgi"]]
          .head(5).round(3).to_string(index=False))
    print("union fronts: " + ", ".join(f"{a}_{b} {len(across.union_front((a, b)))}" for a, b in across.spaces)
          + f" points; {int((summary['n_union'] > 0).sum())} of {len(protocols)} protocols contribute")
    counts = across.dose_counts()
    best = counts.sort_values("n_protocols_robust", ascending=False, kind="stable").iloc[0]
    print(f"dose pair optimal in all four spaces under the most protocols: ({best.d1:.2f}, {best.d2:.3f}) mg/kg, "
          f"{int(best.n_protocols_robust)} of {len(protocols)} (on the Loewe-Bliss front under "
          f"{int(best.n_protocols_loewe_bliss)}); robust under every protocol: "
          f"{int((counts['n_protocols_robust'] == len(protocols)).sum())} dose pairs")
    axes = across.plot(space=("loewe", "bliss"))
    axes[0].set_title("Loewe-Bliss fronts of 25 protocols")
    axes[1].set_title("protocols with the dose pair on the front")
    axes[2].set_title("union-front points per protocol")
    axes[0].figure.tight_layout()
    axes[0].figure.savefig(out / "synergy_pembro_bev_protocols.png", dpi=100)
    plt.close(axes[0].figure)

    samples = ensemble.sample_parameters(model.metadata["parameter_ranges"], 16, seed=1, method="lhs")
    surface = synergy.simulate_surface(model, PEMBRO, BEV, g1, g2, samples=samples, mono_points=30)
    pop = synergy.moocs_population(surface, tgi_min=0.6)
    pop.to_csv(out / "synergy_pembro_bev_uncertainty.csv")
    print(f"{pop.info['n_samples']} parameter sets (k21, k22, k3, lambda from parameter_ranges), TGI >= 0.6: "
          f"{pop.info['n_samples_without_effective_dose']} with no dose pair reaching it")
    print(pop.top(3, by="robust_fraction")[["d1", "d2", "optimal_frequency", "robust_fraction", "mean_tgi",
                                            "fraction_tgi_ok"]].round(3).to_string(index=False))
    axes = pop.plot_summary()
    axes[0].figure.suptitle("pembrolizumab + bevacizumab under parameter uncertainty (16 parameter sets, "
                            "TGI >= 0.6, Q3D/Q3D)")
    axes[0].figure.tight_layout()
    axes[0].figure.savefig(out / "synergy_pembro_bev_uncertainty.png", dpi=100)
    plt.close(axes[0].figure)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
