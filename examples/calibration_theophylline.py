"""Calibration walkthrough: the theophylline dataset from file to estimates, profiles, posterior and a
prediction band for a regimen that was never given (docs/calibration.md).

    python examples/calibration_theophylline.py [OUT_DIR] [--starts N] [--samples N] [--backend processes]

1. the event table (nlmixr2data's theo_sd: 12 subjects, one oral dose of about 4.5 mg/kg, 11 samples each);
2. a one-compartment model with first-order absorption, fitted to all subjects pooled (KA, CL, V and an
   additive residual SD on log10 scales), multi-start L-BFGS-B on all cores;
3. profile likelihoods of every parameter (95 % intervals, identifiability) and Fisher intervals;
4. posterior sampling (adaptive Metropolis, uniform priors within the bounds);
5. the 95 % prediction band of the concentration under 320 mg every 12 h for 3 days, from the
   posterior draws (parameter uncertainty only: the band is for the typical pooled profile).
Writes the tables and figures to OUT_DIR (default out/calibration).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import qsp
from qsp.datasets import read_dataset
from qsp.fit import DatasetObjective, fisher_intervals, fit, model_prediction_band, profile, sample

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "references" / "data" / "nlmixr2data" / "theo_sd.csv"
MODEL = ROOT / "tests" / "models" / "one_cpt_oral.ant"


def _save(plot, path: Path) -> None:
    """Write the figure of a plot (a Figure, an Axes or an array of Axes)."""
    fig = plot if hasattr(plot, "savefig") else np.ravel(plot)[0].figure
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", default="out/calibration")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--starts", type=int, default=8)
    p.add_argument("--samples", type=int, default=3000)
    p.add_argument("--backend", default="processes")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model = qsp.Model.from_file(MODEL)
    data = read_dataset(args.data, evid_style="rxode2", cmt_map={1: "depot", 2: "central"})
    objective = DatasetObjective(model, data, observe={"DV": "CP"}, error="additive",
                                 estimate=["KA=0.1:10:log10", "CL=0.3:30:log10", "V=3:300:log10"])

    result = fit(objective, starts=args.starts, seed=1, backend=args.backend)
    result.to_csv(out)
    _save(result.plot_waterfall(), out / "waterfall.png")
    _save(result.plot_fit(), out / "fit.png")

    prof = profile(objective, result.best_x, backend=args.backend)
    prof.intervals.to_csv(out / "profile_intervals.csv", index=False)
    _save(prof.plot(), out / "profiles.png")
    wald = fisher_intervals(objective, result.best_x)
    wald.to_csv(out / "fisher_intervals.csv", index=False)

    post = sample(objective, result.best_x, n_samples=args.samples, chains=2, seed=2, backend=args.backend)
    post.summary.to_csv(out / "posterior.csv", index=False)
    _save(post.plot_trace(), out / "trace.png")

    times = np.linspace(0, 72, 145)
    band = model_prediction_band(model, objective.space, post.draws(thin=10), times, "CP",
                                 doses=qsp.Dose("depot", 320, every=12, count=6), backend=args.backend)
    band.to_csv(out / "band.csv")
    _save(band.plot(), out / "band.png")

    est = result.estimates.set_index("parameter")["value"].to_dict()
    summary = {"best_llh": result.best_llh, "n_at_best": int(result.n_converged()), "estimates": est,
               "profile_95": {r["parameter"]: [r["lower_linear"], r["upper_linear"]]
                              for r in prof.intervals.to_dict("records")},
               "flags": dict(zip(prof.intervals["parameter"], prof.intervals["identifiability"])),
               "rhat_max": float(post.summary["rhat"].max())}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main()
