"""Summary of examples/nlme_theophylline.sh: exposure of the virtual populations drawn from the fit.

    nlme_theophylline_summary.py OUT_DIR [--figures DIR]

Reads OUT_DIR/fit/estimates.csv and the trial tables OUT_DIR/vpop.csv, OUT_DIR/vpop_uncertainty.csv
(one row per virtual subject: cmax:CP, auc:CP after 320 mg); writes OUT_DIR/summary.csv and
OUT_DIR/summary.md (median, 5th and 95th percentiles of Cmax and AUC(0-24 h), the fraction of subjects
with Cmax in the 10-20 mg/L therapeutic range) and OUT_DIR/trial.png; with --figures, copies the fit's figures and
trial.png to DIR as nlme_theo_*.png.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

POPULATIONS = {"vpop": "fitted population", "vpop_uncertainty": "with parameter uncertainty"}
FIGURES = {"fit/vpc.png": "vpc", "fit/pcvpc.png": "pcvpc", "fit/gof.png": "gof", "fit/convergence.png": "convergence",
           "fit/individual.png": "individual", "fit/etas.png": "etas", "trial.png": "trial"}


def summarise(out: Path) -> pd.DataFrame:
    rows = []
    for key, label in POPULATIONS.items():
        t = pd.read_csv(out / f"{key}.csv")
        t = t[t["status"] == "ok"]
        cmax, auc = t["cmax:CP"].to_numpy(float), t["auc:CP"].to_numpy(float)
        rows.append({"population": label, "subjects": len(t),
                     "cmax_median": np.median(cmax), "cmax_p5": np.quantile(cmax, 0.05),
                     "cmax_p95": np.quantile(cmax, 0.95), "auc_median": np.median(auc),
                     "auc_p5": np.quantile(auc, 0.05), "auc_p95": np.quantile(auc, 0.95),
                     "fraction_in_window": float(np.mean((cmax >= 10) & (cmax <= 20)))})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    lines = ["| population | subjects | Cmax median (5-95 %) mg/L | AUC 0-24 h median (5-95 %) mg h/L | "
             "Cmax in 10-20 mg/L |", "|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['population']} | {r['subjects']} | {r['cmax_median']:.2f} ({r['cmax_p5']:.2f}-"
                     f"{r['cmax_p95']:.2f}) | {r['auc_median']:.1f} ({r['auc_p5']:.1f}-{r['auc_p95']:.1f}) | "
                     f"{r['fraction_in_window']:.1%} |")
    return "\n".join(lines) + "\n"


def plot(out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for key, label in POPULATIONS.items():
        t = pd.read_csv(out / f"{key}.csv")
        t = t[t["status"] == "ok"]
        for ax, col in zip(axes, ("cmax:CP", "auc:CP")):
            ax.hist(t[col], bins=40, histtype="step", density=True, label=label)
    axes[0].axvspan(10, 20, color="0.9", zorder=0, label="10-20 mg/L")
    axes[0].set_xlabel("Cmax of CP (mg/L)")
    axes[1].set_xlabel("AUC(0-24 h) of CP (mg h/L)")
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize=8)
    fig.suptitle("320 mg to virtual subjects drawn from the fitted theophylline population")
    fig.tight_layout()
    fig.savefig(out / "trial.png", dpi=110)
    plt.close(fig)


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--figures", metavar="DIR")
    args = ap.parse_args(argv)
    out = Path(args.out)
    table = summarise(out)
    table.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(markdown(table))
    plot(out)
    if args.figures:
        dest = Path(args.figures)
        dest.mkdir(parents=True, exist_ok=True)
        for src, name in FIGURES.items():
            shutil.copyfile(out / src, dest / f"nlme_theo_{name}.png")
    est = pd.read_csv(out / "fit" / "estimates.csv")
    print(est.to_string(index=False))
    print(markdown(table))
    return table


if __name__ == "__main__":
    main()
