"""``--covariate``, ``--covariate-model`` and ``--body-weight KG|COLUMN`` on the command line; files checked by value."""

import json

import numpy as np
import pandas as pd
import pytest

from .cli_checks import one_line, run_cli
from .test_covariates_analyses import TUMOUR_KG
from .test_ensemble_body_weight import PKCL

PEOPLE = pd.DataFrame({"WT": [35.0, 70.0, 140.0], "SEX": ["F", "M", "F"]})
CL = 4.0 * (PEOPLE.WT / 70) ** 0.75 * np.where(PEOPLE.SEX == "F", 0.8, 1.0)


@pytest.fixture()
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkcl.ant").write_text(PKCL)
    (tmp_path / "tumour.ant").write_text(TUMOUR_KG)
    PEOPLE.to_csv(tmp_path / "people.csv", index=False)
    return tmp_path


def _ensemble(*extra):
    return ("ensemble", "pkcl.ant", "--samples", "people.csv", "--dose", "target=A,amount=1,unit=umol/kg",
            "--metric", "auc:Cp", "--metric", "initial:A", "--t-end", 1500, "--points", 15001, "--rtol", 1e-10,
            "--atol", 1e-14, "--backend", "serial", "--quiet", *extra)


def test_ensemble_covariates_and_body_weight_column(work, capfd):
    rc, err = run_cli(capfd, *_ensemble("--covariate", "CL~WT:power(70,0.75)", "--covariate",
                                        "CL~SEX:categorical(F=0.8,M=1)", "--body-weight", "WT",
                                        "--out", "run.parquet", "--csv", "run.csv"))
    assert rc == 0, err
    t = pd.read_csv(work / "run.csv")
    assert t.SEX.tolist() == ["F", "M", "F"] and t.WT.tolist() == PEOPLE.WT.tolist()
    assert t.CL.to_numpy() == pytest.approx(CL.to_numpy(), rel=1e-12)
    assert t["initial:A"].to_numpy() == pytest.approx(PEOPLE.WT.to_numpy())          # 1 umol/kg x WT
    assert t["auc:Cp"].to_numpy() == pytest.approx((PEOPLE.WT / CL).to_numpy(), rel=1e-5)  # dose / CL
    stored = pd.read_parquet(work / "run.parquet")
    assert stored.SEX.tolist() == ["F", "M", "F"] and stored.CL.to_numpy() == pytest.approx(CL.to_numpy())
    # the same effects from a file, and a rerun reuses what is stored
    (work / "cov.json").write_text(json.dumps(["CL~WT:power(70,0.75)", "CL~SEX:categorical(F=0.8,M=1)"]))
    rc, err = run_cli(capfd, *_ensemble("--covariate-model", "cov.json", "--body-weight", "WT", "--out",
                                        "run.parquet"))
    assert rc == 0 and "3 of 3 simulations were already stored and reused" in err


def test_ensemble_body_weight_number_and_samples_column(work, capfd):
    pd.DataFrame({"body_weight": [50.0, 100.0], "CL": [4.0, 8.0]}).to_csv(work / "bw.csv", index=False)
    base = ("ensemble", "pkcl.ant", "--samples", "bw.csv", "--dose", "target=A,amount=2,unit=umol/kg", "--metric",
            "initial:A", "--t-end", 1, "--points", 2, "--backend", "serial", "--quiet")
    rc, err = run_cli(capfd, *base, "--out", "a.parquet", "--csv", "a.csv")
    assert rc == 0, err
    assert pd.read_csv(work / "a.csv")["initial:A"].tolist() == pytest.approx([100.0, 200.0])
    rc, err = run_cli(capfd, *base, "--body-weight", 70, "--out", "b.parquet")
    assert rc != 0 and "body_weight=70.0 is also given" in one_line(err)


@pytest.mark.parametrize("extra, message", [
    (("--covariate", "CL~WT:pow(70,1)"), "--covariate: covariate effect 'CL~WT:pow(70,1)': unknown kind 'pow'"),
    (("--covariate", "Cl~WT:power(70,1)"), "did you mean 'CL'"),
    (("--covariate", "CL~AGE:power(40,1)"), "covariate column 'AGE' is not in the table"),
    (("--covariate", "CL~SEX:categorical(F=0.8)"), "row 1 has level 'M', which is not in the map"),
    (("--covariate-model", "none.json"), "covariate model file 'none.json' does not exist"),
    (("--body-weight", "HEIGHT"), "body_weight='HEIGHT' is not a column of samples"),
    (("--body-weight", "SEX"), "body weight column 'SEX': row 0 is 'F'"),
    (("--body-weight", "-70"), "argument --body-weight: must be > 0 (kg)"),
    (("--body-weight", "WT", "--covariate", "CL~SEX:categorical(F=0.8,M=1)", "--covariate",
      "CL~SEX:categorical(F=1,M=1)"), "the effect of 'SEX' on 'CL' is given twice"),
])
def test_ensemble_errors_are_one_line(work, capfd, extra, message):
    sex = () if any("SEX:" in str(e) for e in extra) else ("--covariate", "CL~SEX:categorical(F=0.8,M=1)")
    rc, err = run_cli(capfd, *_ensemble(*sex, *extra, "--out", "bad.parquet"))
    assert rc != 0 and message in one_line(err)


def test_vpop_simulate_with_body_weight_and_covariates(work, capfd):
    patients = pd.DataFrame({"body_weight": [20.0, 40.0, 60.0], "SEX": ["F", "M", "M"]})
    patients.to_csv(work / "vps.csv", index=False)
    rc, err = run_cli(capfd, "vpop", "simulate", "tumour.ant", "--vps", "vps.csv", "--arm-dose", "kg",
                      "target=D,amount=1,unit=umol/kg", "--tumour", "V", "--t-end", 1, "--points", 2,
                      "--covariate", "kill~SEX:categorical(F=2,M=1)", "--metric", "initial:D", "--out", "trial.csv",
                      "--quiet")
    assert rc == 0, err
    p = pd.read_csv(work / "trial.csv")
    kill = 0.01 * np.array([2.0, 1.0, 1.0])
    assert p["initial:D"].tolist() == pytest.approx([20.0, 40.0, 60.0]) and p.kill.tolist() == pytest.approx(kill)
    assert p.best_percent_change.to_numpy() == pytest.approx(100 * (np.exp(-kill * patients.body_weight) - 1),
                                                             abs=1e-4)
    rc, err = run_cli(capfd, "vpop", "simulate", "tumour.ant", "--vps", "vps.csv", "--arm-dose", "kg",
                      "target=D,amount=1,unit=umol/kg", "--tumour", "V", "--body-weight", "WT", "--out", "t.csv",
                      "--quiet")
    assert rc != 0 and "body_weight='WT' is not a column of the virtual-population table" in one_line(err)


def test_gsa_with_a_body_weight_factor_and_a_covariate(work, capfd, pk1_text):
    (work / "pk1.ant").write_text(pk1_text)
    (work / "spec.toml").write_text("[parameters.body_weight]\nlow = 40\nhigh = 100\n"
                                    "[parameters.WT]\nlow = 40\nhigh = 100\n")
    rc, err = run_cli(capfd, "gsa", "pk1.ant", "--spec", "spec.toml", "--metric", "initial:A", "--n", 32,
                      "--dose", "target=A,amount=1,unit=umol/kg", "--covariate", "k~WT:power(70,1)", "--t-end", 1,
                      "--points", 2, "--backend", "serial", "--out", "gsa.csv", "--quiet")
    assert rc == 0, err
    t = pd.read_csv(work / "gsa.csv")
    st = t[t["index"] == "ST"].set_index("parameter")["value"]
    assert st["WT"] == pytest.approx(0.0, abs=1e-12) and st["body_weight"] > 0.5
    rc, err = run_cli(capfd, "gsa", "pk1.ant", "--spec", "spec.toml", "--metric", "initial:A", "--n", 32,
                      "--dose", "target=A,amount=1,unit=umol/kg", "--body-weight", 70, "--out", "g.csv", "--quiet",
                      "--backend", "serial")
    assert rc != 0 and "is also given; give one" in one_line(err)


def test_synergy_samples_with_body_weight_column(work, capfd):
    from .test_covariates_analyses import TWO_DRUGS

    (work / "two.ant").write_text(TWO_DRUGS)
    pd.DataFrame({"WT": [1.0, 2.0]}).to_csv(work / "s.csv", index=False)
    base = ("synergy", "two.ant", "--drug", "A1:umol/kg", "--drug", "A2:umol/kg", "--grid", "0.5:1:2,0.25:0.5:2",
            "--metric", "value_at:E:1", "--samples", "s.csv", "--mono-points", 5, "--t-end", 1, "--points", 2,
            "--quiet")
    rc, err = run_cli(capfd, *base, "--body-weight", "WT", "--out", "pop.csv", "--summary", "per.csv")
    assert rc == 0, err
    per = pd.read_csv(work / "per.csv")
    assert per.WT.tolist() == [1.0, 2.0]
    x = np.array([1.0, 2.0]) * 1.5            # the highest dose pair
    assert per["max_effect"].to_numpy() == pytest.approx(x / (1 + x), rel=1e-6)
    rc, err = run_cli(capfd, "synergy", "two.ant", "--drug", "A1:umol/kg", "--drug", "A2:umol/kg", "--grid",
                      "0.5:1:2,0.25:0.5:2", "--metric", "value_at:E:1", "--body-weight", "WT", "--out", "x.csv")
    assert rc != 0 and "--body-weight 'WT' names a column; it needs --samples" in one_line(err)
