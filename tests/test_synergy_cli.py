"""`qsp synergy` through real subprocesses: the written tables are checked by value."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qsp.ensemble.metrics import Metric

ROOT = Path(__file__).resolve().parents[1]
PEMBRO_BEV = ["synergy", "pembro_bev", "--drug", "A1:mg/kg", "--drug", "A2:mg/kg",
              "--schedule", "time=3,every=3,count=5", "--schedule", "time=0,every=3,count=6"]


def qsp(*args, cwd):
    return subprocess.run([sys.executable, "-m", "qsp", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


def test_case_study_grid_to_csv_and_figure(tmp_path):
    out, fig = tmp_path / "moocs.csv", tmp_path / "moocs.png"
    r = qsp(*PEMBRO_BEV, "--grid", "2:10:5,0.25:1:4", "--metric", "tgi:W:35", "--extra-metric", "auc:[C1]",
            "--out", str(out), "--plot", str(fig), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "20 dose pairs" in r.stderr
    t = pd.read_csv(out)
    auc = Metric.parse("auc:[C1]").name  # the column of the extra metric
    assert len(t) == 20 and {"hsa", "bliss", "loewe", "lsd", "count", "robust", auc} <= set(t.columns)
    exp = t[(t.d1 == 10) & (t.d2 == 1)].iloc[0]
    assert exp.tgi == pytest.approx(0.9127, abs=5e-5)
    assert exp.E1 == pytest.approx(0.6742, abs=5e-5) and exp.E2 == pytest.approx(0.3084, abs=5e-5)
    assert exp.hsa == pytest.approx(0.6742 / 0.9127, abs=2e-4)
    assert exp.bliss == pytest.approx((0.6742 + 0.3084 - 0.6742 * 0.3084) / 0.9127, abs=2e-4)
    assert (t["lsd"] >= t["loewe"] - 1e-12).all() and (t["bliss"] >= t["hsa"]).all()
    assert ((t["count"] == 4) == t["robust"]).all() and t["count"].between(0, 4).all()
    assert fig.stat().st_size > 10_000


def test_json_output_and_virtual_patients(tmp_path):
    out = tmp_path / "pop.json"
    r = qsp(*PEMBRO_BEV, "--grid", "1:10:3,0.2:2:3", "--n-samples", "2", "--seed", "1", "--tgi-min", "0.5",
            "--mono-points", "20", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["n_samples"] == 2 and data["tgi_min"] == 0.5 and len(data["rows"]) == 9
    t = pd.DataFrame(data["rows"])
    assert t["optimal_frequency"].between(0, 1).all() and (t["pareto_score"] >= t["optimal_frequency"]).all()
    assert (t.loc[t["fraction_tgi_ok"] == 0, "optimal_frequency"] == 0).all()


@pytest.mark.parametrize("args, message", [
    (["--grid", "1:2:3"], "two axes"),
    (["--grid", "1:2:3,1:2:3", "--metric", "tgi:W"], "tgi:OUTPUT:TIME"),
    (["--grid", "1:2:3,1:2:3", "--schedule", "every=3", "--schedule", "every=3", "--schedule", "every=3"],
     "--schedule once"),
])
def test_bad_input_is_one_line_without_traceback(tmp_path, args, message):
    r = qsp(*PEMBRO_BEV[:6], *args, "--out", str(tmp_path / "x.csv"), cwd=tmp_path)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qsp: error:") and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "x.csv").exists()


def test_unknown_dose_target_is_refused(tmp_path):
    r = qsp("synergy", "pembro_bev", "--drug", "A9", "--drug", "A2", "--grid", "1:2:3,1:2:3", "--out",
            str(tmp_path / "x.csv"), cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("qsp: error:") and "A9" in r.stderr
