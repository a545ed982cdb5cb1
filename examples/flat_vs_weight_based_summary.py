"""Summary and figure of examples/flat_vs_weight_based.sh: exposure per arm and the fraction above a trough target.

    python examples/flat_vs_weight_based_summary.py exposure.csv --out summary.csv --plot fig.png [--target NMOL_L]

The table comes from ``qsp ensemble ... --csv``: one row per patient and arm, with the body weight
``WT``, the trough ``value_at:[Cp]:147`` (nmol/L) and ``auc:[Cp]`` (nmol/L x day). The arm given by
``--dose`` is called ``cli`` there; it is the flat 14 mg arm. The default target is 80 % of the
trough of a 70 kg patient under the weight-based arm, read off the population by interpolation
(a hypothetical target: the model has no clinical one).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

TROUGH, AUC = "value_at:[Cp]:147", "auc:[Cp]"
ARMS = {"cli": "flat 14 mg q3w", "q3w_0.2mgkg": "0.2 mg/kg q3w"}


def summarise(table: pd.DataFrame, target: float | None = None) -> tuple[pd.DataFrame, float]:
    """Per arm: median and 5th-95th percentiles of trough and AUC, sd of their logs, fraction above target."""
    ok = table.loc[table["status"] == "ok"].copy()
    ok["arm"] = ok["regimen"].map(ARMS).fillna(ok["regimen"])
    if target is None:
        wb = ok.loc[ok["regimen"] == "q3w_0.2mgkg"].sort_values("WT")
        target = 0.8 * float(np.interp(70.0, wb["WT"], wb[TROUGH]))
    rows = []
    for arm, g in ok.groupby("arm", sort=False):
        rows.append({"arm": arm, "patients": len(g),
                     "trough_median": g[TROUGH].median(), "trough_p5": g[TROUGH].quantile(0.05),
                     "trough_p95": g[TROUGH].quantile(0.95), "trough_sd_log": np.log(g[TROUGH]).std(),
                     "auc_median": g[AUC].median(), "auc_sd_log": np.log(g[AUC]).std(),
                     "target": target, "fraction_above_target": float((g[TROUGH] > target).mean())})
    return pd.DataFrame(rows), target


def plot(table: pd.DataFrame, target: float, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for regimen, label in ARMS.items():
        g = table.loc[(table["regimen"] == regimen) & (table["status"] == "ok")]
        ax.scatter(g["WT"], g[TROUGH], s=6, alpha=0.5, label=label)
        bx.hist(g[TROUGH], bins=40, alpha=0.5, label=label)
    for a in (ax,):
        a.axhline(target, color="k", lw=1, ls="--", label=f"target {target:.3g} nmol/L")
    bx.axvline(target, color="k", lw=1, ls="--")
    ax.set(xlabel="body weight (kg)", ylabel="trough Cp on day 147 (nmol/L)", title="Trough vs body weight")
    bx.set(xlabel="trough Cp on day 147 (nmol/L)", ylabel="patients", title="Trough distribution")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table")
    p.add_argument("--target", type=float, help="trough target (nmol/L)")
    p.add_argument("--out", required=True)
    p.add_argument("--plot")
    args = p.parse_args(argv)
    table = pd.read_csv(args.table)
    summary, target = summarise(table, args.target)
    summary.to_csv(args.out, index=False)
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.plot:
        plot(table, target, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
