"""The command line: real subprocesses, files checked by value, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from .test_model import SBML_L2


def qsp_cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "qsp", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def files(tmp_path_factory, pk1_text):
    d = tmp_path_factory.mktemp("cli")
    (d / "pk.ant").write_text(pk1_text)
    (d / "l2.xml").write_text(SBML_L2)
    (d / "empty.xml").write_text("")
    (d / "notxml.xml").write_text("just words")
    (d / "html.xml").write_text("<html><body>hi</body></html>")
    (d / "trunc.xml").write_text(SBML_L2[:300])
    (d / "bomb.xml").write_text('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
                                "<sbml>&b;</sbml>")
    (d / "bad.ant").write_text("model m\n S -> ; k*\nend")
    (d / "undef.ant").write_text("model m\n S -> ; kk*S; S = 1\nend")
    return d


def test_simulate_csv_with_dose_and_plot(files):
    out, png = files / "r.csv", files / "r.png"
    p = qsp_cli("simulate", str(files / "pk.ant"), "--t-end", "24", "--points", "25", "--output", "[A]",
                "--dose", "target=A,amount=100,every=12,count=2", "--out", str(out), "--plot", str(png),
                "--rtol", "1e-10", "--atol", "1e-14")
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == ["time", "[A]"]
    exact = 10 * np.exp(-0.2 * df.time) + np.where(df.time >= 12, 10 * np.exp(-0.2 * (df.time - 12)), 0)
    assert np.allclose(df["[A]"], exact, rtol=1e-6)
    assert png.stat().st_size > 1000


def test_simulate_json_parquet_and_params(files):
    p = qsp_cli("simulate", str(files / "l2.xml"), "--t-end", "2", "--points", "3", "--output", "S",
                "--param", "k=1", "--format", "json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["columns"]["S"][-1] == pytest.approx(10 * np.exp(-2), rel=1e-5)
    pq = files / "r.parquet"
    p = qsp_cli("simulate", str(files / "l2.xml"), "--t-end", "2", "--format", "parquet", "--out", str(pq))
    assert p.returncode == 0 and len(pd.read_parquet(pq)) == 101


def test_info_validate_models(files):
    p = qsp_cli("info", str(files / "pk.ant"))
    assert p.returncode == 0 and "elimination" in p.stdout and "species (1)" in p.stdout
    p = qsp_cli("info", str(files / "pk.ant"), "--format", "json")
    assert json.loads(p.stdout)["parameters"][0]["id"] == "k"
    p = qsp_cli("validate", str(files / "l2.xml"))
    assert p.returncode == 0 and "0 error(s)" in p.stdout
    broken = files / "broken.xml"
    broken.write_text(SBML_L2.replace('compartment="c"', 'compartment="nowhere"'))
    p = qsp_cli("validate", str(broken))
    assert p.returncode != 0
    assert qsp_cli("models").returncode == 0


@pytest.mark.parametrize("args,needle", [
    (["simulate", "MISSING.xml", "--t-end", "1"], "does not exist"),
    (["simulate", "{d}/empty.xml", "--t-end", "1"], "empty"),
    (["simulate", "{d}/notxml.xml", "--t-end", "1"], "not XML"),
    (["simulate", "{d}/html.xml", "--t-end", "1"], "SBML"),
    (["simulate", "{d}/trunc.xml", "--t-end", "1"], "not readable SBML"),
    (["simulate", "{d}/bomb.xml", "--t-end", "1"], "DOCTYPE"),
    (["simulate", "{d}/bad.ant", "--t-end", "1"], "invalid Antimony"),
    (["simulate", "{d}/undef.ant", "--t-end", "1"], "kk"),
    (["simulate", "no_such_model", "--t-end", "1"], "not a shipped model"),
    (["simulate", "{d}/pk.ant", "--t-end", "1", "--param", "kx=1"], "did you mean 'k'"),
    (["simulate", "{d}/pk.ant", "--t-end", "1", "--param", "k=abc"], "must be a number"),
    (["simulate", "{d}/pk.ant", "--t-end", "1", "--output", "[Q]"], "not an output"),
    (["simulate", "{d}/pk.ant", "--t-end", "1", "--dose", "target=Q,amount=1"], "dose target"),
    (["simulate", "{d}/pk.ant", "--t-end", "1", "--dose", "target=A,amount=-1"], "amount"),
    (["simulate", "{d}/pk.ant", "--t-end", "1", "--dose", "target=A,amount=1,unit=mg"], "molecular weight"),
    (["simulate", "{d}/pk.ant", "--t-end", "1", "--dose", "target=A,amount=1,colour=red"], "unknown dose field"),
    (["simulate", "{d}/pk.ant", "--t-end", "-5"], "must be > 0"),
    (["simulate", "{d}/pk.ant", "--t-end", "ten"], "must be a number"),
    (["simulate", "{d}/pk.ant", "--t-end", "1", "--format", "parquet"], "needs --out"),
    (["simulate", "{d}/pk.ant"], "--t-end"),
    (["validate", "{d}/missing.xml"], "does not exist"),
    (["info", "{d}/bomb.xml"], "DOCTYPE"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_no_traceback(files, args, needle):
    p = qsp_cli(*[a.format(d=files) for a in args])
    assert p.returncode != 0
    err = p.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert needle in err, err


def test_help_for_every_command():
    for cmd in ([], ["simulate"], ["validate"], ["info"], ["models"]):
        p = qsp_cli(*cmd, "--help")
        assert p.returncode == 0 and "usage" in p.stdout
