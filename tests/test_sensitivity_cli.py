"""``qsp gsa`` run as a real subprocess; the files it writes are checked by value."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

ISHIGAMI = "model ishigami\n  x1 = 0; x2 = 0; x3 = 0\n  Y := sin(x1) + 7*sin(x2)^2 + 0.1*x3^4*sin(x1)\nend\n"
SPEC = "".join(f"[parameters.x{i}]\nlow = {-math.pi!r}\nhigh = {math.pi!r}\ndistribution = \"uniform\"\n"
               for i in range(1, 4))


def qsp_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "qsp", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "ishigami.ant").write_text(ISHIGAMI)
    (tmp_path / "spec.toml").write_text(SPEC)
    return tmp_path


def test_gsa_sobol_on_ishigami_writes_right_numbers(files):
    out = files / "sobol.json"
    r = qsp_cli("gsa", "ishigami.ant", "--method", "sobol", "--spec", "spec.toml", "--metric", "final:Y",
                "--n", 1024, "--t-end", 1e-6, "--points", 2, "--backend", "processes", "--workers", 2,
                "--out", out, "--plot", files / "sobol.png", cwd=files)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["n_simulations"] == 1024 * 5 and data["n_failed"] == 0
    idx = pd.DataFrame(data["indices"]).set_index(["parameter", "index"])["value"]
    truth = {("x1", "S1"): 0.3139, ("x2", "S1"): 0.4424, ("x3", "S1"): 0.0,
             ("x1", "ST"): 0.5576, ("x2", "ST"): 0.4424, ("x3", "ST"): 0.2437}
    for key, value in truth.items():
        assert idx[key] == pytest.approx(value, abs=0.05), key
    assert (files / "sobol.png").stat().st_size > 5000


def test_gsa_morris_csv_and_bad_input(files):
    out = files / "morris.csv"
    r = qsp_cli("gsa", "ishigami.ant", "--method", "morris", "--spec", "spec.toml", "--metric", "final:Y",
                "--n", 50, "--t-end", 1e-6, "--points", 2, "--backend", "serial", "--out", out, cwd=files)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    mu_star = df[df["index"] == "mu_star"].set_index("parameter")["value"]
    assert len(df) == 9 and (mu_star > 3).all()
    bad = qsp_cli("gsa", "ishigami.ant", "--spec", "spec.toml", "--metric", "final:Y", "--n", 1000,
                  "--out", files / "x.json", cwd=files)
    assert bad.returncode == 1 and bad.stderr.startswith("qsp: error:") and "power of 2" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
