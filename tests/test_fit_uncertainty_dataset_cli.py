"""``qsp profile MODEL --data`` and ``qsp sample MODEL --data``: the uncertainty of a model fitted to a
dataset, from the estimates a real ``qsp fit MODEL --data`` run wrote (theophylline, pooled)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .cli_checks import one_line, run_cli

MODEL = Path(__file__).resolve().parent / "models" / "one_cpt_oral.ant"
THEO = Path(__file__).resolve().parents[2] / "shared" / "references" / "data" / "nlmixr2data" / "theo_sd.csv"
DATA = ["--data", str(THEO), "--evid-style", "rxode2", "--cmt", "1=depot", "--cmt", "2=central", "--observe", "DV=CP"]
ESTIMATE = ["--estimate", "KA=0.1:10", "--estimate", "CL=0.3:30", "--estimate", "V=3:300"]

pytestmark = pytest.mark.skipif(not THEO.exists(), reason="theo_sd.csv not found")


@pytest.fixture(scope="module")
def fit_dir(tmp_path_factory):
    from qsp.cli import main

    out = tmp_path_factory.mktemp("theo") / "fit"

    rc = main(["fit", str(MODEL), *DATA, *ESTIMATE, "--starts", "1", "--start-at-nominal", "--seed", "1",
               "--out", str(out)])
    assert rc == 0
    return out


def test_profile_of_a_dataset_fit(fit_dir, tmp_path, capfd):
    capfd.readouterr()
    out = tmp_path / "prof"
    rc, err = run_cli(capfd, "profile", MODEL, *DATA, *ESTIMATE, "--from", fit_dir, "--parameter", "CL",
                      "--max-steps", "20", "--out", out)
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["intervals.csv", "profiles.csv", "profiles.png"]
    iv = pd.read_csv(out / "intervals.csv").set_index("parameter")
    assert {"estimate", "lower", "upper", "lower_linear", "upper_linear", "identifiability", "lower_end",
            "upper_end"} <= set(iv.columns)
    cl = iv.loc["CL"]
    est = pd.read_csv(fit_dir / "estimates.csv").set_index("parameter")
    assert cl["estimate"] == pytest.approx(est.loc["CL", "estimate"], abs=1e-3)
    assert math.isfinite(cl["lower"]) and math.isfinite(cl["upper"]) and cl["lower"] < cl["estimate"] < cl["upper"]
    assert cl["identifiability"] == "identifiable"
    assert cl["lower_linear"] == pytest.approx(2.27, abs=0.03) and cl["upper_linear"] == pytest.approx(2.98, abs=0.03)
    prof = pd.read_csv(out / "profiles.csv")
    assert {"parameter", "side", "value", "nllh", "ratio", "KA", "CL", "V", "sigma_add"} <= set(prof.columns)
    assert err.strip().endswith(f"1 profiles, {len(prof)} points, 1 identifiable -> {out}")


def test_sample_of_a_dataset_fit(fit_dir, tmp_path, capfd):
    capfd.readouterr()
    out = tmp_path / "post"
    rc, err = run_cli(capfd, "sample", MODEL, *DATA, *ESTIMATE, "--from", fit_dir, "--samples", "30", "--chains", "2",
                      "--x", "KA=1.5", "--out", out)
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["samples.parquet", "summary.csv", "trace.png"]
    samples = pd.read_parquet(out / "samples.parquet")
    assert list(samples.columns) == ["chain", "iteration", "nllh", "accepted", "KA", "CL", "V", "sigma_add"]
    assert len(samples) == 60 and np.isfinite(samples["nllh"]).all()
    first = samples.loc[(samples["chain"] == 0) & (samples["iteration"] == 0)].iloc[0]
    assert first["KA"] == pytest.approx(np.log10(1.5))                      # --x over --from
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["parameter"]) == ["KA", "CL", "V", "sigma_add"]
    assert {"mean", "sd", "q2.5", "q50", "q97.5", "rhat", "ess_bulk"} <= set(summary.columns)
    assert "2 chains x 30 iterations (burn-in 15)" in err


@pytest.mark.parametrize("args,message", [
    (["profile", MODEL, "--observe", "DV=CP", "--from", "x"],
     "--observe applies to a model fitted to a dataset (with --data)"),
    (["sample", MODEL, "--from", "x"], "is not a PEtab problem (.yaml); for a model fitted to a dataset, give --data"),
    (["profile", MODEL, *DATA, *ESTIMATE], "give the estimate to start from: --from DIR"),
    (["profile", MODEL, *DATA[:-2], *ESTIMATE, "--x", "KA=1"], "--data needs --observe DV=OUTPUT"),
    (["sample", MODEL, *DATA, "--estimate", "KA=0.1:10", "--estimate", "CL=0.3:30", "--param", "V=30", "--from",
      "FIT"], "estimates 'V', which this problem does not estimate: it is not a fit of this problem"),
    (["profile", MODEL, *DATA, *ESTIMATE, "--x", "KA=50"], "the start value of 'KA', 50, is not within its bounds"),
])
def test_bad_input_is_one_line(fit_dir, tmp_path, capfd, args, message):
    capfd.readouterr()
    args = [fit_dir if a == "FIT" else a for a in args]
    rc, err = run_cli(capfd, *args, "--out", tmp_path / "o")
    assert rc == 1 and message in one_line(err)
    assert not (tmp_path / "o").exists()
