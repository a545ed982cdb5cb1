"""MOOCS-DS case study: pembrolizumab + bevacizumab in H1299 xenografts (shipped ``pembro_bev`` model), on the
30 x 30 grid of Gevertz & Kareva 2023 (each drug from its monotherapy EC5 to EC70, experimental Q3D schedule).

    python examples/synergy_pembro_bev.py [OUT_DIR]      # default out/synergy

Writes synergy_pembro_bev_fronts.png, synergy_pembro_bev_doses.png and synergy_pembro_bev_moocs.csv.
The same analysis from the command line:

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
from qsp import synergy

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
    print(f"figures in {out}/ ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
