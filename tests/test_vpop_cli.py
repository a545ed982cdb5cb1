"""``qsp vpop generate | select | weight | simulate`` as real subprocesses; the files they write are checked by value.

The analytic model has Y1 = p1 p2 and Y2 = p1 / p3; the tumour model has V(t) = 100 exp((g - kill) t), so the
best % change over [0, 1] is 100 (exp(g - kill) - 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qsp
from qsp import vpop

from .test_vpop_plausible import ANALYTIC
from .test_vpop_trial import TUMOUR

ROOT = Path(__file__).resolve().parents[1]
S = 0.3
SD = float(np.sqrt(2) * S)
BOUNDS = {"p1": (float(np.exp(-4 * S)), float(np.exp(4 * S))),
          "p2": (float(np.exp(0.5 - 4 * S)), float(np.exp(0.5 + 4 * S))),
          "p3": (float(np.exp(-0.2 - 4 * S)), float(np.exp(-0.2 + 4 * S)))}
Y_BOUNDS = {"Y1": (float(np.exp(0.5 - 3 * SD)), float(np.exp(0.5 + 3 * SD))),
            "Y2": (float(np.exp(0.2 - 3 * SD)), float(np.exp(0.2 + 3 * SD)))}

SPEC = "".join(f"[parameters.{p}]\nlow = {lo!r}\nhigh = {hi!r}\n" for p, (lo, hi) in BOUNDS.items()) + "".join(
    f"[outputs.{y}]\nmetric = \"final:{y}\"\nlow = {lo!r}\nhigh = {hi!r}\n" for y, (lo, hi) in Y_BOUNDS.items())
SPEC = "method = \"mh\"\nseed = 5\nt_end = 1\npoints = 2\n" + SPEC
TARGET = (f"[outputs.Y1]\ndistribution = \"lognormal\"\nmedian = {float(np.exp(0.5))!r}\nsd_log = {SD!r}\n"
          f"[outputs.Y2]\ndistribution = \"lognormal\"\nmedian = {float(np.exp(0.2))!r}\nsd_log = {SD!r}\n")


def qsp_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "qsp", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("vpop_cli")
    (d / "analytic.ant").write_text(ANALYTIC)
    (d / "tumour.ant").write_text(TUMOUR)
    (d / "spec.toml").write_text(SPEC)
    (d / "target.toml").write_text(TARGET)
    return d


@pytest.fixture(scope="module")
def generated(work):
    r = qsp_cli("vpop", "generate", "analytic.ant", "--spec", "spec.toml", "--n", 800, "--out", "pps.parquet",
                "--json", "pps.json", cwd=work)
    assert r.returncode == 0, r.stderr
    return work


def test_generate_writes_plausible_patients(generated):
    pps = pd.read_parquet(generated / "pps.parquet")
    assert len(pps) == 800 and list(pps.columns) == ["pp", "p1", "p2", "p3", "Y1", "Y2"]
    assert pps["pp"].tolist() == list(range(800))
    for p, (lo, hi) in BOUNDS.items():
        assert pps[p].between(lo, hi).all()
    for y, (lo, hi) in Y_BOUNDS.items():
        assert pps[y].between(lo, hi).all()
    assert pps["Y1"].to_numpy() == pytest.approx((pps.p1 * pps.p2).to_numpy(), rel=1e-9)
    assert pps["Y2"].to_numpy() == pytest.approx((pps.p1 / pps.p3).to_numpy(), rel=1e-9)
    meta = pps.attrs["qsp.vpop"]
    summary = json.loads((generated / "pps.json").read_text())
    for s in (meta, summary):
        assert s["method"] == "mh" and s["n_pp"] == 800 and s["parameters"] == ["p1", "p2", "p3"]
        assert s["yield"] == pytest.approx(800 / s["n_simulations"])
        assert s["attempt_yield"] == pytest.approx(800 / s["n_attempts"]) and s["n_attempts"] <= s["n_simulations"]
        assert s["seconds_per_pp"] == pytest.approx(s["wall_seconds"] / 800)
    assert pd.DataFrame(summary["rows"])[["p1", "Y2"]].to_numpy() == pytest.approx(pps[["p1", "Y2"]].to_numpy())


def test_generate_by_sampling_to_csv(work):
    r = qsp_cli("vpop", "generate", "analytic.ant", "--spec", "spec.toml", "--method", "sample", "--n", 50,
                "--seed", 3, "--out", "sample.csv", cwd=work)
    assert r.returncode == 0, r.stderr
    assert "50 plausible patients (sample)" in r.stderr and "per attempt" in r.stderr
    pps = pd.read_csv(work / "sample.csv")
    assert len(pps) == 50 and pps["Y1"].to_numpy() == pytest.approx((pps.p1 * pps.p2).to_numpy(), rel=1e-9)


def test_select_matches_the_target_and_writes_its_fit(generated):
    r = qsp_cli("vpop", "select", "pps.parquet", "--target", "target.toml", "--seed", 1, "--out", "vps.parquet",
                "--fit", "fit.csv", "--json", "vps.json", cwd=generated)
    assert r.returncode == 0, r.stderr
    pps = pd.read_parquet(generated / "pps.parquet")
    vps = pd.read_parquet(generated / "vps.parquet")
    fit = pd.read_csv(generated / "fit.csv")
    summary = json.loads((generated / "vps.json").read_text())
    # every virtual patient is one plausible patient, unchanged
    assert vps["pp"].is_unique and vps[["p1", "p2", "p3", "Y1", "Y2"]].to_numpy() == pytest.approx(
        pps.set_index("pp").loc[vps["pp"], ["p1", "p2", "p3", "Y1", "Y2"]].to_numpy())
    assert summary["n_vp"] == len(vps) and summary["n_pp"] == 800
    assert summary["efficiency"] == pytest.approx(len(vps) / 800) and 40 < len(vps) < 800
    assert summary["parameters"] == ["p1", "p2", "p3"] and vps.attrs["qsp.vpop"]["kind"] == "virtual_population"
    # the written KS figures are those of the selected outputs against the known log-normal marginals
    for j, (y, mu) in enumerate((("Y1", 0.5), ("Y2", 0.2))):
        ks = stats.kstest(np.log(vps[y]), "norm", args=(mu, SD))
        assert fit.loc[j, "output"] == y and fit.loc[j, "ks_statistic"] == pytest.approx(ks.statistic)
        assert fit.loc[j, "p_value"] == pytest.approx(ks.pvalue) and ks.pvalue > 0.05
        assert fit.loc[j, "pp_p_value"] < 1e-3  # the PPs themselves do not match
    assert summary["summed_ks"] == pytest.approx(fit["ks_statistic"].sum())
    assert "summed KS" in r.stderr and "efficiency" in r.stderr


def test_weight_writes_a_distribution_and_its_ess(generated):
    r = qsp_cli("vpop", "weight", "pps.parquet", "--target", "target.toml", "--method", "binned", "--bins", 6,
                "--out", "weights.csv", "--json", "weights.json", cwd=generated)
    assert r.returncode == 0, r.stderr
    w = pd.read_csv(generated / "weights.csv")
    summary = json.loads((generated / "weights.json").read_text())
    wt = w["weight"].to_numpy()
    assert len(w) == 800 and (wt >= 0).all() and wt.sum() == pytest.approx(1.0, abs=1e-9)
    assert summary["ess"] == pytest.approx(1 / (wt ** 2).sum()) and 100 < summary["ess"] < 800
    edges = stats.norm.ppf(np.linspace(0, 1, 7)[1:-1], 0.5, SD)  # six equal-mass target bins of ln Y1
    mass = np.bincount(np.searchsorted(edges, np.log(w["Y1"])), weights=wt, minlength=6)
    assert mass == pytest.approx(np.full(6, 1 / 6), abs=1e-6)


def test_simulate_arms_rates_and_comparisons_by_value(work):
    g = np.array([-0.5, -0.2, 0.0, 0.1, 0.3, -1.0, 0.25, 0.05])
    pd.DataFrame({"pp": np.arange(8), "g": g}).to_csv(work / "tumour_vps.csv", index=False)
    r = qsp_cli("vpop", "simulate", "tumour.ant", "--vps", "tumour_vps.csv", "--arm", "control",
                "--arm", "treated:kill=0.3", "--tumour", "V", "--t-end", 1, "--points", 2, "--cytokine", "C",
                "--crs-threshold", 1, "--crs-threshold", 2.5, "--out", "trial.parquet", "--json", "trial.json",
                "--plot", "waterfall.png", "--spider", "spider.png", cwd=work)
    assert r.returncode == 0, r.stderr
    p = pd.read_parquet(work / "trial.parquet")
    rates = pd.read_csv(work / "trial_rates.csv")
    cmp = pd.read_csv(work / "trial_comparisons.csv")
    counts = {}
    for arm, kill in (("control", 0.0), ("treated", 0.3)):
        sub = p[p.regimen == arm]
        expected = 100 * (np.exp(g - kill) - 1)
        assert sub["best_percent_change"].to_numpy() == pytest.approx(expected, abs=1e-3)
        assert sub["category"].tolist() == np.where(expected <= -30, "PR",
                                                    np.where(expected >= 20, "PD", "SD")).tolist()
        k = counts[arm] = int((expected <= -30).sum())
        row = rates[(rates.regimen == arm) & (rates.endpoint == "response")].iloc[0]
        assert (row["n"], row["count"], row["n_failed"]) == (8, k, 0)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(vpop.wilson_interval(k, 8))
        assert f"{arm}: response {k}/8" in r.stdout
    assert counts == {"control": 2, "treated": 3}
    assert p.loc[p.regimen == "control", "crs_grade"].tolist() == [0, 0, 0, 1, 2, 0, 2, 0]
    grade1 = rates[(rates.regimen == "control") & (rates.endpoint == "crs_grade>=1")].iloc[0]
    assert grade1["count"] == 3 and grade1["rate"] == pytest.approx(3 / 8)
    c = cmp.iloc[0]
    assert (c["arm"], c["versus"]) == ("control", "treated") and c["difference"] == pytest.approx(-1 / 8)
    assert c["fisher_p"] == pytest.approx(vpop.fisher_exact(2, 8, 3, 8))
    assert json.loads((work / "trial.json").read_text())["rates"][4]["count"] == 2
    assert (work / "waterfall.png").stat().st_size > 1000 and (work / "spider.png").stat().st_size > 1000


def test_simulate_weighted_rates(work):
    g = np.array([-0.5, -1.0, 0.0, 0.3])
    pd.DataFrame({"g": g, "weight": [0.25, 0.25, 0.5, 0.0]}).to_csv(work / "weighted.csv", index=False)
    r = qsp_cli("vpop", "simulate", "tumour.ant", "--vps", "weighted.csv", "--arm", "a", "--tumour", "V",
                "--t-end", 1, "--points", 2, "--weighted", "--out", "weighted_trial.csv", cwd=work)
    assert r.returncode == 0, r.stderr
    row = pd.read_csv(work / "weighted_trial_rates.csv").set_index("endpoint").loc["response"]
    n_eff = 1 / (0.25 ** 2 * 2 + 0.5 ** 2)  # 8/3
    assert row["rate"] == pytest.approx(0.5) and row["n_eff"] == pytest.approx(n_eff)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(vpop.wilson_interval(0.5 * n_eff, n_eff))


@pytest.mark.parametrize("args, message", [
    (["generate", "analytic.ant", "--spec", "missing.toml", "--out", "x.csv"], "does not exist"),
    (["generate", "analytic.ant", "--spec", "spec.toml", "--method", "sample", "--target", "target.toml",
      "--out", "x.csv"], "use --method mh"),
    (["generate", "nosuchmodel", "--spec", "spec.toml", "--out", "x.csv"], "nosuchmodel"),
    (["generate", "analytic.ant", "--spec", "spec.toml", "--n", "0", "--out", "x.csv"], "must be > 0"),
    (["select", "missing.parquet", "--target", "target.toml", "--out", "v.csv"], "does not exist"),
    (["select", "tumour_vps.csv", "--target", "target.toml", "--out", "v.csv"], "'Y1' of the target is not a column"),
    (["simulate", "tumour.ant", "--vps", "tumour_vps.csv", "--tumour", "V", "--t-end", "1", "--out", "t.csv"],
     "give at least one arm"),
    (["simulate", "tumour.ant", "--vps", "tumour_vps.csv", "--regimen", "weekly", "--tumour", "V", "--t-end", "1",
      "--out", "t.csv"], "weekly"),
    (["simulate", "tumour.ant", "--vps", "tumour_vps.csv", "--arm", "a:kill", "--tumour", "V", "--out", "t.csv"],
     "is not ID=VALUE"),
    (["simulate", "tumour.ant", "--vps", "tumour_vps.csv", "--arm", "a", "--tumour", "V", "--t-end", "1",
      "--crs-threshold", "1", "--out", "t.csv"], "needs --cytokine"),
])
def test_bad_input_is_one_line_without_traceback(work, args, message):
    if not (work / "tumour_vps.csv").exists():
        pd.DataFrame({"pp": [0, 1], "g": [0.1, -0.1]}).to_csv(work / "tumour_vps.csv", index=False)
    r = qsp_cli("vpop", *args, cwd=work)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qsp: error:") and message in lines[0], r.stderr


def test_tritherapy_example_runs_from_the_cli(tmp_path):
    """examples/vpop_tritherapy_cli.sh at a tiny size: generate -> select -> simulate concurrent vs sequential."""
    out = tmp_path / "cli"
    env = {**os.environ, "PYTHON": sys.executable, "MPLBACKEND": "Agg"}
    r = subprocess.run(["bash", str(ROOT / "examples" / "vpop_tritherapy_cli.sh"), str(out), "40"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    pps = pd.read_parquet(out / "pps.parquet")
    vps = pd.read_parquet(out / "vps.parquet")
    trial = pd.read_csv(out / "trial.csv")
    rates = pd.read_csv(out / "trial_rates.csv")
    assert len(pps) == 40 and pps["TV21"].between(200, 2400).all()
    assert pps["S_L"].between(1.77, 22.63).all() and pps["r"].between(0.3, 0.5).all()
    assert set(vps["pp"]) <= set(pps["pp"]) and len(vps) >= 10
    assert sorted(trial["regimen"].unique()) == ["rt_anti_pdl1_concurrent", "rt_anti_pdl1_sequential"]
    assert len(trial) == 2 * len(vps) and (trial["status"] == "ok").all()
    # one plausible animal and one trial row recomputed directly from the model
    model = qsp.load_model("tritherapy")
    first = pps.iloc[0]
    params = {k: float(first[k]) for k in ("S_L", "r", "kLN")}
    res = model.simulate(21, points=85, outputs=["TV_tot"], params=params)
    assert first["TV21"] == pytest.approx(res["TV_tot"][-1], rel=1e-6)
    row = trial[trial.regimen == "rt_anti_pdl1_concurrent"].iloc[0]
    doses, reg = model.regimen("rt_anti_pdl1_concurrent")
    params = {k: float(row[k]) for k in ("S_L", "r", "kLN")}
    res = model.simulate(57, points=229, outputs=["TV_tot"], params={**reg, **params, "cure_on": 1}, doses=doses)
    t, v = np.asarray(res.time), np.asarray(res["TV_tot"])
    v0 = np.interp(7.0, t, v)
    assert row["baseline"] == pytest.approx(v0, rel=1e-6)
    visits = np.interp(np.arange(14.0, 57.0, 7.0), t, v)  # weekly measurements on days 14, ..., 56
    assert row["best_percent_change"] == pytest.approx(100 * (visits.min() - v0) / v0, rel=1e-6, abs=1e-6)
    for arm, grp in trial.groupby("regimen"):
        resp = rates[(rates.regimen == arm) & (rates.endpoint == "response")].iloc[0]
        assert resp["count"] == grp["category"].isin(["CR", "PR"]).sum() and resp["n"] == len(grp)
        assert (resp["ci_low"], resp["ci_high"]) == pytest.approx(vpop.wilson_interval(resp["count"], len(grp)))
    assert (out / "waterfall.png").exists() and (out / "spider.png").exists()


KILLED = """model killed
  species V = 100; species D = 0
  kill = 0.5
  J1: V -> ; kill * D * V
  J2: D -> ; D
end"""


def test_simulate_dosed_arms_beyond_the_metadata_regimens(work):
    # A bolus of D at t = 0: D = A e^-t, so ln(V/100) = -kill * A (1 - e^-t); best change at t = 5.
    (work / "killed.ant").write_text(KILLED)
    pd.DataFrame({"kill": [0.1, 0.5]}).to_csv(work / "killed_vps.csv", index=False)
    r = qsp_cli("vpop", "simulate", "killed.ant", "--vps", "killed_vps.csv", "--arm", "control",
                "--arm-dose", "low", "target=D,amount=2", "--arm-dose", "high", "target=D,amount=2",
                "--arm-dose", "high", "target=D,amount=2,time=1", "--tumour", "V", "--t-end", 5, "--points", 51,
                "--out", "killed_trial.csv", cwd=work)
    assert r.returncode == 0, r.stderr
    p = pd.read_csv(work / "killed_trial.csv")
    kill = np.array([0.1, 0.5])
    low = 100 * (np.exp(-kill * 2 * (1 - np.exp(-5))) - 1)
    high = 100 * (np.exp(-kill * 2 * ((1 - np.exp(-5)) + (1 - np.exp(-4)))) - 1)
    assert p[p.regimen == "control"]["best_percent_change"].to_numpy() == pytest.approx([0, 0], abs=1e-6)
    assert p[p.regimen == "low"]["best_percent_change"].to_numpy() == pytest.approx(low, abs=1e-3)
    assert p[p.regimen == "high"]["best_percent_change"].to_numpy() == pytest.approx(high, abs=1e-3)
    r = qsp_cli("vpop", "simulate", "killed.ant", "--vps", "killed_vps.csv", "--arm-dose", "x", "target=D",
                "--tumour", "V", "--t-end", 5, "--out", "bad.csv", cwd=work)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "--arm-dose x" in r.stderr
