"""Sensitivity studies: the memory bound, the resumable simulation store, progress bars, option names in
messages, one plot panel per output, and the notebook view. Real simulations of analytic models."""

from __future__ import annotations

import fcntl
import math
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

import qsp
from qsp import sensitivity
from qsp.cli import main
from qsp.ensemble.metrics import Metric

matplotlib.use("Agg")

ISHIGAMI = ("model ishigami\n  x1 = 0; x2 = 0; x3 = 0\n  Y := sin(x1) + 7*sin(x2)^2 + 0.1*x3^4*sin(x1)\n"
            "  Z := x1 + 2*x2\nend\n")
RANGES = {f"x{i}": {"low": -math.pi, "high": math.pi} for i in (1, 2, 3)}
SPEC = "".join(f"[parameters.x{i}]\nlow = {-math.pi!r}\nhigh = {math.pi!r}\n" for i in (1, 2, 3))
FAST = dict(t_end=1e-6, points=2)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ishigami():
    return qsp.Model.from_antimony(ISHIGAMI)


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "ishigami.ant").write_text(ISHIGAMI)
    (tmp_path / "spec.toml").write_text(SPEC)
    return tmp_path


def cli(capfd, *args) -> tuple[int, str]:
    """Run ``qsp ARGS`` in this process; returns the exit status and what went to stderr."""
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    return rc, capfd.readouterr().err


# ------------------------------------------------------------------------------------------ memory bound
def test_absurd_sample_sizes_are_refused_before_allocating(ishigami):
    with pytest.raises(qsp.InputError, match=r"n=16777216 \(83886080 simulations, points=2\) needs about .* GiB"):
        sensitivity.gsa(ishigami, "sobol", parameters=RANGES, metrics=["final:Y"], n=2**24, **FAST)
    with pytest.raises(qsp.InputError, match=r"points=1000000000\) needs about"):
        sensitivity.gsa(ishigami, "morris", parameters=RANGES, metrics=["final:Y"], n=10, t_end=1, points=10**9)
    with pytest.raises(qsp.InputError, match="points=1000000000 needs about"):
        sensitivity.local(ishigami, ["x1"], at={"x1": 1.0}, timecourse="Y", t_end=1, points=10**9)
    with pytest.raises(qsp.InputError, match=r"ns=\[64, 16777216\]"):
        sensitivity.convergence(ishigami, "sobol", [64, 2**24], parameters=RANGES, metrics=["final:Y"], **FAST)


def test_the_bound_is_stated_and_can_be_raised(ishigami, monkeypatch):
    monkeypatch.setenv("QSP_MAX_MEMORY_GB", "0.001")  # 1 MiB: a 2048-simulation Sobol study is above it
    with pytest.raises(qsp.InputError, match=r"limit of 1.02 MiB \(set QSP_MAX_MEMORY_GB"):
        sensitivity.gsa(ishigami, "sobol", parameters=RANGES, metrics=["final:Y"], n=512, **FAST)
    monkeypatch.setenv("QSP_MAX_MEMORY_GB", "1")
    res = sensitivity.gsa(ishigami, "sobol", parameters=RANGES, metrics=["final:Y"], n=64, **FAST)
    assert res.n_simulations == 64 * 5


def test_cli_refuses_absurd_n_in_one_line_naming_the_option(files, capfd, monkeypatch):
    monkeypatch.chdir(files)
    rc, err = cli(capfd, "gsa", "ishigami.ant", "--spec", "spec.toml", "--metric", "final:Y", "--n", 2**24,
                  "--t-end", 1e-6, "--points", 2, "--backend", "serial", "--out", "x.json")
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith("qsp: error: --n 16777216 (83886080 simulations, --points 2) needs about")
    assert not (files / "x.json").exists()


# ------------------------------------------------------------------------------------------ resume
def test_a_rerun_with_the_same_store_reuses_every_simulation(ishigami, tmp_path):
    store = tmp_path / "sobol.simulations"
    kw = dict(parameters=RANGES, metrics=["final:Y", "final:Z"], n=128, seed=3, out=store, **FAST)
    first = sensitivity.gsa(ishigami, "sobol", **kw)
    parts = sorted(p.name for p in store.glob("part-*.parquet"))
    assert first.n_reused == 0 and first.settings["store"] == str(store) and parts
    again = sensitivity.gsa(ishigami, "sobol", **kw)
    assert again.n_reused == again.n_simulations == 128 * 5
    assert sorted(p.name for p in store.glob("part-*.parquet")) == parts  # nothing was simulated again
    pd.testing.assert_frame_equal(again.indices, first.indices)
    # the same indices as a study without a store
    plain = sensitivity.gsa(ishigami, "sobol", **{**kw, "out": None})
    pd.testing.assert_frame_equal(plain.indices, first.indices)


def test_an_interrupted_study_resumes_from_the_simulations_done(ishigami, tmp_path):
    store = tmp_path / "morris.simulations"
    kw = dict(parameters=RANGES, metrics=["final:Y"], n=40, seed=1, out=store, chunk_size=16, **FAST)
    full = sensitivity.gsa(ishigami, "morris", **kw)
    parts = sorted(store.glob("part-*.parquet"))
    assert len(parts) == 10  # 160 simulations in chunks of 16
    for p in parts[::2]:  # as if the run had stopped before these chunks were written
        p.unlink()
    kept = len(pd.read_parquet(store, columns=["task"]))
    resumed = sensitivity.gsa(ishigami, "morris", **kw)
    assert resumed.n_reused == kept == 80
    assert len(list(store.glob("part-*.parquet"))) == 10
    pd.testing.assert_frame_equal(resumed.indices, full.indices)


def test_cli_resume_reuses_the_simulations_and_writes_the_same_indices(files, capfd, monkeypatch):
    monkeypatch.chdir(files)
    args = ["gsa", "ishigami.ant", "--method", "sobol", "--spec", "spec.toml", "--metric", "final:Y", "--n", 64,
            "--t-end", 1e-6, "--points", 2, "--backend", "serial", "--out", "sobol.csv", "--resume", "--quiet"]
    rc, err = cli(capfd, *args)
    assert rc == 0 and "320 simulations (0 reused from sobol.simulations)" in err
    first = pd.read_csv(files / "sobol.csv")
    rc, err = cli(capfd, *args)
    assert rc == 0 and "320 simulations (320 reused from sobol.simulations)" in err
    pd.testing.assert_frame_equal(pd.read_csv(files / "sobol.csv"), first)
    rc, err = cli(capfd, *args[:-2], "--store", "other.parquet", "--resume")
    assert rc == 2 and "not allowed with argument" in err


# ------------------------------------------------------------------------------------------ progress
def test_progress_bar_on_request_and_none_by_default_off_a_terminal(ishigami, capsys):
    sensitivity.gsa(ishigami, "morris", parameters=RANGES, metrics=["final:Y"], n=10, progress=True, **FAST)
    assert "40/40" in capsys.readouterr().err
    sensitivity.gsa(ishigami, "morris", parameters=RANGES, metrics=["final:Y"], n=10, **FAST)
    assert capsys.readouterr().err == ""


def _run_on_a_terminal(args, cwd) -> str:
    """Run ``qsp ARGS`` with stderr on a pseudo-terminal; returns what it showed there."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "qsp", *map(str, args)], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    assert proc.returncode == 0, b"".join(chunks)
    return b"".join(chunks).decode(errors="replace")


def test_cli_shows_a_progress_bar_on_a_terminal_unless_quiet(files):
    args = ["gsa", "ishigami.ant", "--method", "morris", "--spec", "spec.toml", "--metric", "final:Y", "--n", 10,
            "--t-end", 1e-6, "--points", 2, "--backend", "serial", "--out", "m.csv"]
    shown = _run_on_a_terminal(args, files)
    assert "40/40" in shown and "sim" in shown
    quiet = _run_on_a_terminal([*args, "--quiet"], files)
    assert "40/40" not in quiet and "morris: 40 simulations" in quiet


# ------------------------------------------------------------------------------------------ messages
LOG = "model logx\n  x1 = 1\n  Y := ln(x1)\nend\n"


def test_failure_advice_names_python_arguments_or_cli_options(tmp_path, capfd, monkeypatch):
    m = qsp.Model.from_antimony(LOG)
    with pytest.raises(qsp.QSPError, match=r"use on_failure='impute_mean' to fill them"):
        sensitivity.gsa(m, "morris", parameters={"x1": {"low": -1, "high": 1}}, metrics=["final:Y"], n=10, **FAST)
    (tmp_path / "log.ant").write_text(LOG)
    (tmp_path / "spec.toml").write_text("[parameters.x1]\nlow = -1.0\nhigh = 1.0\n")
    monkeypatch.chdir(tmp_path)
    rc, err = cli(capfd, "gsa", "log.ant", "--method", "morris", "--spec", "spec.toml", "--metric", "final:Y",
                  "--n", 10, "--t-end", 1e-6, "--points", 2, "--backend", "serial", "--out", "x.csv")
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "use --on-failure impute_mean to fill them" in err and "on_failure=" not in err and "max_steps" not in err


def test_cli_refuses_a_parameter_given_twice(files, capfd, monkeypatch):
    monkeypatch.chdir(files)
    rc, err = cli(capfd, "gsa", "ishigami.ant", "--spec", "spec.toml", "--param", "x1", "--param", "x1",
                  "--metric", "final:Y", "--out", "x.csv")
    assert rc == 1 and err.strip() == "qsp: error: --param 'x1' is given twice"


# ------------------------------------------------------------------------------------------ plots and display
def test_morris_plot_of_two_metrics_has_one_panel_per_metric(ishigami):
    res = sensitivity.gsa(ishigami, "morris", parameters=RANGES, metrics=["final:Y", "final:Z"], n=20, **FAST)
    names = [Metric.parse(t).name for t in ("final:Y", "final:Z")]
    assert res.outputs == names
    axes = res.plot()
    assert [a.get_title() for a in axes] == [f"Morris: {n}" for n in names]
    # each panel shows its own metric: Z = x1 + 2 x2 does not depend on x3, Y does
    mu_y, mu_z = (a.lines[0].get_xdata() for a in axes)  # mu* of x1, x2, x3
    assert mu_z[2] == pytest.approx(0.0, abs=1e-9) and mu_y[2] > 1
    assert res.plot(output=names[1]).get_title() == f"Morris: {names[1]}"
    with pytest.raises(qsp.InputError, match="one Axes per output"):
        res.plot(ax=axes[0])
    import matplotlib.pyplot as plt

    plt.close("all")


def test_notebook_view_shows_the_facts_and_the_indices(ishigami):
    res = sensitivity.gsa(ishigami, "sobol", parameters=RANGES, metrics=["final:Y"], n=64, **FAST)
    html = res._repr_html_()
    assert html.startswith("<p><b>SensitivityResult</b>: sobol, n = 64, 320 simulations (0 reused), 0 failed")
    assert "<table" in html and "<th>parameter</th>" in html and "<td>ST</td>" in html
    assert html.count("<tr>") == len(res.indices) == 6 and "more rows" not in html  # body rows
    assert "SensitivityResult(method='sobol', n=64, 320 simulations" in repr(res)
    long = sensitivity.local(ishigami, ["x1", "x2"], at={"x1": 1.0, "x2": 1.0}, timecourse="Y", t_end=1, points=21)
    html = long._repr_html_()
    assert len(long.indices) == 84 and html.count("<tr>") == 20 and "64 more rows" in html
    conv = sensitivity.convergence(ishigami, "sobol", [32, 64], parameters=RANGES, metrics=["final:Y"], **FAST)
    assert "ConvergenceResult</b>: sobol, n in [32, 64]" in conv._repr_html_() and "<table" in conv._repr_html_()
