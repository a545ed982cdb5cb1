"""``qsp fit``: a PEtab problem, a model fitted to an event table (pooled and per subject), one-line errors,
and Ctrl-C stopping the workers."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli_checks import one_line, run_cli

ROOT = Path(__file__).resolve().parents[1]
BOEHM = ROOT.parent / "shared" / "references" / "petab-benchmark" / "Boehm_JProteomeRes2014" / \
    "Boehm_JProteomeRes2014.yaml"
#: The best negative log-likelihood of the Boehm problem (Hass et al. 2019), at its nominal values.
BOEHM_NLLH = 138.222

PK = """
model pk
  compartment V = 5
  species A in V = 0
  k = 0.3
  elimination: A -> ; k * A * V
end
"""
SUBJECTS = {1: (0.3, 5.0), 2: (0.2, 8.0), 3: (0.4, 4.0)}  # k (1/h), V (L)
TIMES = (0.5, 1, 2, 4, 6, 8, 12)


@pytest.fixture(scope="module")
def pk_case(tmp_path_factory):
    """pk.ant and an IV-bolus event table of 3 subjects (100 units at 0), DV with additive noise (sd 0.3)."""
    d = tmp_path_factory.mktemp("pk")
    (d / "pk.ant").write_text(PK)
    rng = np.random.default_rng(1)
    rows = []
    for sid, (k, v) in SUBJECTS.items():
        rows.append(dict(ID=sid, TIME=0.0, AMT=100.0, EVID=1, DV=np.nan, MDV=1, CMT=1))
        for t in TIMES:
            rows.append(dict(ID=sid, TIME=t, AMT=0.0, EVID=0, DV=100 / v * np.exp(-k * t) + rng.normal(0, 0.3),
                             MDV=0, CMT=1))
    pd.DataFrame(rows).to_csv(d / "data.csv", index=False)
    return d


def _dataset_args(case: Path, *extra) -> list:
    return ["fit", case / "pk.ant", "--data", case / "data.csv", "--cmt", "1=A", "--observe", "DV=[A]",
            "--estimate", "k=0.01:10", "--estimate", "V=0.5:50", *extra]


def test_dataset_fit_per_subject(pk_case, tmp_path, capfd):
    out = tmp_path / "per"
    rc, err = run_cli(capfd, *_dataset_args(pk_case, "--sigma", "0.3", "--per-subject", "--method", "least_squares",
                                            "--starts", "3", "--out", out))
    assert rc == 0, err
    assert err.strip().splitlines()[-1].startswith("9 starts (least_squares), 0 failed, 9 at the best")
    est = pd.read_csv(out / "estimates.csv").set_index("subject")
    assert list(est.index) == [1, 2, 3]
    for sid, (k, v) in SUBJECTS.items():
        assert est.loc[sid, "k"] == pytest.approx(k, rel=0.05) and est.loc[sid, "V"] == pytest.approx(v, rel=0.05)
    starts = pd.read_csv(out / "starts.csv")
    assert len(starts) == 9 and list(starts.columns[:2]) == ["subject", "start"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_subjects"] == 3 and summary["n_starts"] == 9 and summary["method"] == "least_squares"
    assert summary["best_llh"] == pytest.approx(sum(s["best_llh"] for s in summary["subjects"].values()))
    assert {p.name for p in out.glob("*.png")} == {"waterfall.png", "parameters.png", "fit.png", "residuals.png"}


def test_dataset_fit_pooled_with_estimated_error(pk_case, tmp_path, capfd):
    out = tmp_path / "pooled"
    rc, err = run_cli(capfd, *_dataset_args(pk_case, "--error", "additive", "--starts", "3", "--start-at-nominal",
                                            "--backend", "processes", "--workers", "2", "--out", out))
    assert rc == 0, err
    est = pd.read_csv(out / "estimates.csv").set_index("parameter")
    assert list(est.index) == ["k", "V", "sigma_add"] and not est["at_bound"].any()
    # one k and V for three subjects: between theirs, with a residual sd above the noise's 0.3
    assert 0.2 < est.loc["k", "value"] < 0.4 and 4.0 < est.loc["V", "value"] < 8.0
    assert est.loc["sigma_add", "value"] > 0.3
    summary = json.loads((out / "summary.json").read_text())
    assert {"best_llh", "n_starts", "n_failed", "wall_s", "n_at_best", "method"} <= set(summary)
    assert summary["n_starts"] == 4 and summary["n_failed"] == 0
    assert pd.read_csv(out / "starts.csv")["start"].sort_values().tolist() == [0, 1, 2, 3]
    assert (out / "fit.png").stat().st_size > 0


@pytest.mark.skipif(importlib.util.find_spec("qsp.fit.petab_problem") is None,
                    reason="qsp.fit.petab_problem (the PEtab objective) is not in this checkout")
@pytest.mark.skipif(not BOEHM.is_file(), reason=f"PEtab benchmark problem not found at {BOEHM}")
def test_petab_problem(tmp_path, capfd):
    out = tmp_path / "boehm"
    rc, err = run_cli(capfd, "fit", BOEHM, "--starts", "2", "--start-at-nominal", "--max-evals", "300",
                      "--out", out)
    assert rc == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_starts"] == 3 and summary["method"] == "lbfgsb"
    # the nominal values are the best fit known: the fit keeps (or improves on) it
    assert summary["best_llh"] == pytest.approx(-BOEHM_NLLH, abs=0.05)
    est = pd.read_csv(out / "estimates.csv")
    assert len(est) == 9 and set(est["scale"]) == {"log10"}
    for name in ("starts.csv", "waterfall.png", "parameters.png", "fit.png", "residuals.png"):
        assert (out / name).stat().st_size > 0


def test_fides_with_rtol_and_redraws(tmp_path, capfd):
    """--rtol sets the PEtab objective's tolerances (atol R * 1e-4, steady state R * 1e-2); --redraws
    reaches the fit (its count is in the summary)."""
    from qsp.cli import build_parser
    from qsp.fit.cli import _petab_objective

    args = build_parser().parse_args(["fit", str(BOEHM), "--rtol", "1e-10", "--out", str(tmp_path / "x")])
    obj = _petab_objective(args)
    assert (obj.rtol, obj.atol, obj._runner.ss_tolerance) == pytest.approx((1e-10, 1e-14, 1e-12))
    out = tmp_path / "fides"
    rc, err = run_cli(capfd, "fit", BOEHM, "--method", "fides", "--rtol", "1e-10", "--redraws", "0",
                      "--starts", "1", "--start-at-nominal", "--max-evals", "20", "--out", out)
    assert rc == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "fides" and summary["n_redrawn"] == 0
    assert summary["best_llh"] == pytest.approx(-BOEHM_NLLH, abs=0.05)
    rc, err = run_cli(capfd, "fit", BOEHM, "--redraws", "-1", "--out", out)
    assert rc != 0 and "--redraws: must be >= 0" in one_line(err)


@pytest.mark.parametrize("extra,message", [
    (["--per-subject"], "--per-subject applies to a model fitted to a dataset (with --data)"),
    (["--observe", "DV=C"], "--observe applies to a model fitted to a dataset (with --data)"),
    (["--workers", "2"], "--workers applies to --backend processes or dask"),
])
def test_petab_form_errors(tmp_path, capfd, extra, message):
    problem = tmp_path / "p.yaml"
    problem.write_text("format_version: 1\n")
    rc, err = run_cli(capfd, "fit", problem, "--out", tmp_path / "o", *extra)
    assert rc != 0 and one_line(err) == f"qsp: error: {message}"


def test_not_a_petab_file(pk_case, tmp_path, capfd):
    rc, err = run_cli(capfd, "fit", pk_case / "pk.ant", "--out", tmp_path / "o")
    assert rc != 0
    assert one_line(err).endswith("is not a PEtab problem (.yaml); to fit a model to a dataset, give --data")


@pytest.mark.parametrize("drop,extra,message", [
    ("--observe", [], "--data needs --observe DV=OUTPUT"),
    ("--estimate", [], "--data needs at least one --estimate ID=LOW:HIGH"),
    (None, ["--error", "proportional", "--sigma", "add=0.3"], "--sigma add= does not apply to --error proportional"),
    (None, ["--error", "combined", "--sigma", "0.3"], "--error combined has two sigmas"),
    (None, ["--method", "least_squares"], "method 'least_squares' needs an objective with residuals"),
])
def test_dataset_form_errors(pk_case, tmp_path, capfd, drop, extra, message):
    args = _dataset_args(pk_case, *extra, "--starts", "1", "--out", tmp_path / "o")
    if drop:
        i = args.index(drop)
        del args[i:i + 2]
        if drop == "--estimate":
            i = args.index("--estimate")
            del args[i:i + 2]
    rc, err = run_cli(capfd, *args)
    assert rc != 0 and message in one_line(err)


def test_usage_errors_are_one_line(pk_case, tmp_path, capfd):
    rc, err = run_cli(capfd, *_dataset_args(pk_case, "--sigma", "-1", "--out", tmp_path / "o"))
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "sigma must be > 0" in err
    rc, err = run_cli(capfd, *_dataset_args(pk_case, "--method", "bfgs", "--out", tmp_path / "o"))
    assert rc == 2 and len(err.strip().splitlines()) == 1


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                rest = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(rest[1]) == pid and rest[0] != "Z":
                out.append(int(d.name))
    return out


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_ctrl_c_stops_the_fit_and_its_workers(pk_case, tmp_path):
    args = [str(a) for a in _dataset_args(pk_case, "--starts", "500", "--backend", "processes", "--workers", "2",
                                          "--out", tmp_path / "o")]
    proc = subprocess.Popen([sys.executable, "-m", "qsp", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    workers: list[int] = []
    try:
        assert _wait_for(lambda: proc.poll() is not None or len(_children(proc.pid)) >= 2, 60), "no workers started"
        assert proc.poll() is None, proc.stderr.read()
        workers = _children(proc.pid)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130 and stderr.strip().splitlines()[-1] == "qsp: interrupted"
        assert "Traceback" not in stderr and not (tmp_path / "o" / "summary.json").exists()
        assert _wait_for(lambda: not any(_alive(w) for w in workers), 5), [w for w in workers if _alive(w)]
    finally:
        if proc.poll() is None:
            proc.kill()
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
