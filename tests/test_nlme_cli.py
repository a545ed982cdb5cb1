"""``qsp nlme MODEL DATA --spec SPEC.toml --out DIR``: the files it writes, and one-line errors."""

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from .cli_checks import one_line, run_cli

DATA = Path(__file__).resolve().parents[2] / "shared" / "references" / "data" / "nlmixr2data"
MODEL = Path(__file__).resolve().parent / "models" / "one_cpt_oral.ant"

pytestmark = pytest.mark.skipif(not (DATA / "theo_sd.csv").is_file(), reason="reference data not present")

SPEC = """
observe = { DV = "CP" }
cmt = { 1 = "depot", 2 = "central" }
evid_style = "rxode2"
error = "additive"
[parameters.KA]
initial = 1.0
random = true
[parameters.CL]
initial = 3.0
random = true
[parameters.V]
initial = 30
random = true
"""


@pytest.fixture(autouse=True)
def _keep_showwarning(monkeypatch):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)   # main() replaces it


def test_writes_estimates_summary_ebes_and_plots(tmp_path, capfd):
    spec = tmp_path / "theo.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    rc, err = run_cli(capfd, "nlme", MODEL, DATA / "theo_sd.csv", "--spec", spec, "--seed", 3, "--iterations", "8,4",
                      "--is-samples", 10, "--vpc", 5, "--out", out)
    assert rc == 0, err
    est = pd.read_csv(out / "estimates.csv")
    assert list(est.columns) == ["parameter", "estimate", "se", "rse_pct", "kind"]
    assert set(est["kind"]) == {"fixed", "omega", "residual"}
    assert list(est["parameter"]) == ["KA", "CL", "V", "omega_KA", "omega_CL", "omega_V", "sigma_add"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_subjects"] == 12 and summary["n_observations"] == 132
    assert {"llh", "wall_s"} <= set(summary)
    assert len(pd.read_csv(out / "ebes.csv")) == 12
    for name in ("convergence", "gof", "etas", "individual", "vpc", "pcvpc"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert "NPDE" in pd.read_csv(out / "gof.csv").columns


@pytest.mark.parametrize("args, needle", [
    (["--spec", "missing.toml"], "does not exist"),
    (["--spec", "SPEC", "--vpc", "1"], "--vpc"),
    (["--spec", "SPEC", "--iterations", "10"], "K1,K2"),
    (["--spec", "SPEC", "--uncertainty", "2"], "--vpop"),
    (["--spec", "SPEC", "--vpop", "3", "--uncertainty", "4"], "at most --vpop"),
])
def test_errors_are_one_line(tmp_path, capfd, args, needle):
    spec = tmp_path / "theo.toml"
    spec.write_text(SPEC)
    args = [str(spec) if a == "SPEC" else (str(tmp_path / a) if a.endswith(".toml") else a) for a in args]
    rc, err = run_cli(capfd, "nlme", MODEL, DATA / "theo_sd.csv", *args, "--out", tmp_path / "o")
    assert rc != 0
    assert needle in one_line(err)


def test_writes_virtual_populations(tmp_path, capfd):
    spec = tmp_path / "theo.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    rc, err = run_cli(capfd, "nlme", MODEL, DATA / "theo_sd.csv", "--spec", spec, "--seed", 3, "--iterations", "6,3",
                      "--is-samples", 10, "--vpc", 0, "--vpop", 40, "--uncertainty", 4, "--out", out)
    assert rc == 0, err
    assert not (out / "vpc.csv").exists()
    vp, vu = pd.read_csv(out / "vpop.csv"), pd.read_csv(out / "vpop_uncertainty.csv")
    assert list(vp.columns) == list(vu.columns) == ["KA", "CL", "V"] and len(vp) == len(vu) == 40
    assert (vp > 0).all().all() and not vp.equals(vu)
    rc, err = run_cli(capfd, "ensemble", MODEL, "--samples", out / "vpop.csv", "--dose", "target=depot,amount=320",
                      "--metric", "cmax:CP", "--t-end", 24, "--points", 49, "--backend", "serial", "--quiet",
                      "--out", tmp_path / "e.parquet", "--csv", tmp_path / "e.csv")
    assert rc == 0, err
    assert (pd.read_csv(tmp_path / "e.csv")["status"] == "ok").sum() == 40


def test_estimated_parameter_in_a_dataset_column_is_refused(tmp_path, capfd):
    spec = tmp_path / "bolus.toml"
    spec.write_text('observe = { DV = "CP" }\ncmt = { 1 = "central" }\nmissing = { SS = [99] }\n'
                    '[parameters.CL]\ninitial = 3.0\nrandom = true\n[parameters.V]\ninitial = 50\nrandom = true\n')
    rc, err = run_cli(capfd, "nlme", Path(MODEL).with_name("one_cpt_iv.ant"), DATA / "Bolus_1CPT.csv", "--spec", spec,
                      "--out", tmp_path / "o")
    assert rc == 1 and "ignore_columns" in one_line(err)


def test_impossible_error_model_is_one_line(tmp_path, capfd):
    spec = tmp_path / "prop.toml"
    spec.write_text(SPEC.replace('error = "additive"', 'error = "proportional"'))   # DV at t 0, where CP is 0
    rc, err = run_cli(capfd, "nlme", MODEL, DATA / "theo_sd.csv", "--spec", spec, "--iterations", "3,2",
                      "--out", tmp_path / "o")
    assert rc == 1 and "impossible under the proportional error" in one_line(err)
