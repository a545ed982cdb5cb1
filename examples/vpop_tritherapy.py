"""Virtual population on the tritherapy model, matched to an untreated tumour-growth distribution, then
response rates of concurrent vs sequential RT + anti-PD-L1.

Target (stated, consistent with the model's untreated behaviour: the typical animal has 1146 uL on day 21):
untreated tumour volume on day 21 is log-normal with median 900 uL and sd of ln(volume) 0.35.
Varied: S_L (T-cell infiltration half-saturation), r (growth rate) and kLN (precursor influx) within the
bounds of SPEC, on a log10 scale. Plausible: 200 <= TV_tot(day 21) <= 2400 uL, untreated.

Trial endpoint: best overall response from weekly volumes (days 14, ..., 56) against day 7, a volume <= 10 uL
counted as CR. The trial runs with the eradication rule on (cure_on = 1) and again with it off. The rule acts only
once a tumour is below 10 uL; it changes a category only when a tumour dips below 10 uL between two visits and is
above it again at the next one (one animal here, CR -> PR), so the response rates are the same (docs/vpop.md).

Run: ``.venv/bin/python examples/vpop_tritherapy.py [OUT_DIR]`` (default ``out/vpop``). Writes
spec.toml and target.toml (the CLI inputs), pps.parquet, vps.parquet, weights.parquet, trial.csv,
trial_rule_off.csv, trial_rates.csv, trial_comparisons.csv, the figures
vpop_tritherapy_{selection,weights,waterfall,spider}.png and summary.json (every number quoted in docs/vpop.md).
The same flow as ``qsp vpop`` commands: ``examples/vpop_tritherapy_cli.sh``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import qsp  # noqa: E402
from qsp import vpop  # noqa: E402

SPEC = """\
n = 1000
method = "mh"
seed = 1
t_end = 21
points = 85
regimen = "untreated"

[parameters.S_L]
low = 1.77
high = 22.63
[parameters.r]
low = 0.3
high = 0.5
[parameters.kLN]
low = 200.0
high = 380.0

[outputs.TV21]
metric = "value_at:TV_tot:21"
low = 200.0
high = 2400.0
scale = "log"
"""

TARGET = """\
[outputs.TV21]
distribution = "lognormal"
median = 900.0
sd_log = 0.35
"""

ARMS = {"concurrent": "rt_anti_pdl1_concurrent", "sequential": "rt_anti_pdl1_sequential"}
#: Trial design shared by every run: baseline day 7, weekly visits to day 56, a volume <= 10 uL is CR.
TRIAL = dict(tumour="TV_tot", baseline=7.0, t_end=57.0, points=229, floor=10.0, assess_every=7.0)


def _generator_row(p) -> dict:
    return {"n_pp": len(p), "n_simulations": p.n_simulations, "n_attempts": p.n_attempts, "yield": p.yield_,
            "attempt_yield": p.attempt_yield, "ms_per_pp": p.seconds_per_pp * 1e3, "wall_s": p.wall_seconds,
            "info": p.info}


def main(out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.toml").write_text(SPEC)
    (out / "target.toml").write_text(TARGET)
    from qsp.ensemble.sampling import read_spec

    spec = read_spec(out / "spec.toml")
    model = qsp.load_model("tritherapy")
    problem = vpop.PlausibleProblem(model, spec["parameters"], spec["outputs"], regimen=spec["regimen"],
                                    t_end=spec["t_end"], points=spec["points"])
    summary = {"generators": {}}
    target = vpop.Target.from_file(out / "target.toml")
    for method in ("sample", "optimize", "mh"):  # the three generators on the same problem, 300 PPs each
        p = vpop.generate(problem, 300, method=method, seed=0)
        summary["generators"][method] = _generator_row(p)
    p = vpop.generate(problem, 300, method="mh", seed=0, target=target)  # MH scored by the target density
    summary["generators"]["mh_target"] = _generator_row(p)
    pps = vpop.generate(problem, spec["n"], method=spec["method"], seed=spec["seed"])
    pps.to_parquet(out / "pps.parquet")
    vps = vpop.select(pps, target, seed=0)
    vps.to_parquet(out / "vps.parquet")
    summary["pps"] = pps.summary()
    summary["selection"] = vps.summary()
    summary["weights"] = {}
    for method in ("binned", "qp"):  # prevalence weighting of all PPs, the alternative to selection
        w = vpop.weight(pps, target, method=method)
        summary["weights"][method] = {"ess": w.ess, "wall_s": w.wall_seconds, "fit": w.fit.to_dict(orient="records")}
    w.to_parquet(out / "weights.parquet")  # the qp weights
    fig, ax = plt.subplots(figsize=(5, 4))
    w.plot(ax)
    fig.savefig(out / "vpop_tritherapy_weights.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    started = time.perf_counter()
    trial = vpop.simulate_trial(model, vps, ARMS, fixed={"cure_on": 1}, **TRIAL)
    summary["trial"] = trial.summary() | {"wall_s": time.perf_counter() - started, "n_vp": vps.n_vp}
    started = time.perf_counter()
    off = vpop.simulate_trial(model, vps, ARMS, fixed={"cure_on": 0}, **TRIAL)  # the same trial, rule off
    summary["trial_rule_off"] = off.summary() | {"wall_s": time.perf_counter() - started, "n_vp": vps.n_vp}
    off.to_csv(out / "trial_rule_off.csv")
    started = time.perf_counter()
    wtrial = vpop.simulate_trial(model, w, ARMS, fixed={"cure_on": 1}, weights="weight", **TRIAL)
    summary["weighted_trial"] = wtrial.summary() | {"wall_s": time.perf_counter() - started}
    trial.to_csv(out / "trial.csv")
    trial.rates.to_csv(out / "trial_rates.csv", index=False)
    trial.comparisons.to_csv(out / "trial_comparisons.csv", index=False)
    ax = trial.plot()
    ax.set_title(f"tritherapy virtual population ({vps.n_vp} animals): RT 5x2 Gy + anti-PD-L1")
    ax.figure.savefig(out / "vpop_tritherapy_waterfall.png", dpi=120, bbox_inches="tight")
    plt.close(ax.figure)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for a, arm in zip(axes, ARMS):
        trial.plot_spider(a, regimen=arm)
    fig.savefig(out / "vpop_tritherapy_spider.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 4))
    vps.plot(ax, pps=pps.table)
    fig.savefig(out / "vpop_tritherapy_selection.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


if __name__ == "__main__":
    t0 = time.perf_counter()
    result = main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/vpop"))
    for method, g in result["generators"].items():
        print(f"{method:9s} {g['n_pp']} PPs: {g['n_simulations']} simulations, {g['n_attempts']} attempts; "
              f"yield {g['yield']:.3f}/simulation, {g['attempt_yield']:.3f}/attempt; {g['ms_per_pp']:.2f} ms/PP")
    p = result["pps"]
    print(f"PPs for selection ({p['method']}): {p['n_pp']} from {p['n_simulations']} simulations, "
          f"yield {p['yield']:.3f}, {p['seconds_per_pp'] * 1e3:.2f} ms/PP, {p['wall_seconds']:.2f} s")
    sel = result["selection"]
    print(f"selection: {sel['n_vp']} VPs of {sel['n_pp']} PPs, efficiency {sel['efficiency']:.3f}, "
          f"summed KS {sel['summed_ks']:.4f}, {sel['wall_seconds']:.2f} s")
    for f in sel["fit"]:
        print(f"  {f['output']}: KS {f['ks_statistic']:.4f} (p = {f['p_value']:.3f}); all PPs: KS "
              f"{f['pp_ks_statistic']:.4f} (p = {f['pp_p_value']:.2g})")
    for method, w in result["weights"].items():
        ks = ", ".join(f"KS {f['ks_statistic']:.4f} (p = {f['p_value']:.3f})" for f in w["fit"])
        print(f"weights ({method}): ESS {w['ess']:.1f}, {ks}, {w['wall_s']:.2f} s")
    for key in ("trial", "trial_rule_off", "weighted_trial"):
        print(f"{key} ({result[key]['wall_s']:.2f} s):")
        for row in result[key]["rates"]:
            if row["endpoint"] in ("response", "CR", "PR", "SD", "PD"):
                count = f"weighted over {row['n']}" if row["weighted"] else f"{row['count']}/{row['n']}"
                print(f"  {row['regimen']:11s} {row['endpoint']:8s} {count:>18s} = {row['rate']:.3f} "
                      f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] (n_eff {row['n_eff']:.1f})")
        for c in result[key]["comparisons"]:
            p = "n/a (weighted)" if c["fisher_p"] is None else f"{c['fisher_p']:.3g}"
            print(f"  {c['arm']} - {c['versus']}: {c['difference']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}], "
                  f"Fisher p = {p}")
    print(f"total wall time {time.perf_counter() - t0:.1f} s")
