"""Ensemble engine: identical tables on every backend, failures as rows, resume after a kill."""

import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import ensemble
from qsp.ensemble import Metric

DOSES = [qsp.Dose("A", 100, every=12, count=2)]
METRICS = ["cmax:[A]", "auc:[A]", "value_at:[A]:6"]


@pytest.fixture(scope="module")
def model(pk1_text):
    return qsp.Model.from_antimony(pk1_text)


@pytest.fixture(scope="module")
def samples():
    return ensemble.sample_parameters({"k": {"low": 0.05, "high": 0.5, "distribution": "loguniform"},
                                       "V": {"low": 5, "high": 20, "distribution": "uniform"}}, 300, seed=7)


def test_metrics_match_closed_form(model, samples):
    res = ensemble.run(model, samples, regimens={"q12h": DOSES}, metrics=METRICS, t_end=24, points=241,
                       rtol=1e-10, atol=1e-14)
    k, V = samples["k"].to_numpy(), samples["V"].to_numpy()
    assert res.table["cmax:[A]"].to_numpy() == pytest.approx(100 / V * (1 + np.exp(-12 * k)), rel=1e-6)
    assert res.table["value_at:[A]:6"].to_numpy() == pytest.approx(100 / V * np.exp(-6 * k), rel=1e-6)
    assert list(res.table.task) == list(range(300)) and (res.table.status == "ok").all()


def test_serial_processes_and_dask_give_identical_tables(model, samples):
    kw = dict(regimens={"q12h": DOSES, "single": [qsp.Dose("A", 50)]}, metrics=METRICS, t_end=24, points=49,
              seed=11, chunk_size=37)
    serial = ensemble.run(model, samples, backend="serial", **kw).table
    procs = ensemble.run(model, samples, backend=ensemble.ProcessBackend(2), **kw).table
    pd.testing.assert_frame_equal(serial, procs)
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as c:
        dask = ensemble.run(model, samples, backend=ensemble.DaskBackend(c), **kw).table
    pd.testing.assert_frame_equal(serial, dask)
    assert len(serial) == 600 and serial.regimen.iloc[:2].tolist() == ["q12h", "single"]


def test_failures_are_rows_not_crashes():
    blowup = qsp.Model.from_antimony("model m\n species x = 1; k = 1\n -> x; k*x^2\nend")  # x -> inf at t = 1/k
    X = pd.DataFrame({"k": [0.01, 5.0, 0.02, np.nan]})
    with pytest.warns(qsp.QSPWarning, match="2 of 4 simulations failed"):
        res = ensemble.run(blowup, X, metrics=["final:x"], t_end=2, points=21, max_steps=2000)
    t = res.table
    assert t.status.tolist() == ["ok", "failed", "ok", "failed"]
    assert t["final:x"].iloc[0] == pytest.approx(1 / (1 - 0.02), rel=1e-5)
    assert np.isnan(t["final:x"].iloc[1]) and t.message.iloc[1] and "non-finite" in t.message.iloc[3]
    assert len(res.failures) == 2


def test_trajectories_and_exports(model, samples, tmp_path):
    res = ensemble.run(model, samples.head(5), regimens={"r": DOSES}, metrics=["cmax:[A]"], t_end=24, points=25,
                       trajectories=True)
    traj = res.trajectories
    assert len(traj) == 5 * 25 and list(traj.columns) == ["task", "time", "[A]"]
    assert traj.groupby("task")["[A]"].max().to_numpy() == pytest.approx(res.table["cmax:[A]"].to_numpy())
    res.to_csv(tmp_path / "t.csv")
    assert len(pd.read_csv(tmp_path / "t.csv")) == 5


def test_stream_to_parquet_and_refuse_other_inputs(model, samples, tmp_path):
    out = tmp_path / "r.parquet"
    a = ensemble.run(model, samples, metrics=["cmax:[A]"], regimens={"r": DOSES}, t_end=24, out=out, chunk_size=50)
    assert len(list(out.glob("part-*.parquet"))) == 6
    b = ensemble.run(model, samples, metrics=["cmax:[A]"], regimens={"r": DOSES}, t_end=24, out=out, chunk_size=50)
    pd.testing.assert_frame_equal(a.table, b.table)       # second run: everything already there
    assert len(pd.read_parquet(out)) == 300
    with pytest.raises(qsp.QSPError, match="different ensemble"):
        ensemble.run(model, samples, metrics=["cmax:[A]"], regimens={"r": DOSES}, t_end=48, out=out)


def test_kill_midway_then_resume_loses_and_duplicates_nothing(tmp_path, pk1_text):
    model_file = tmp_path / "pk.ant"
    model_file.write_text(pk1_text)
    spec = tmp_path / "spec.toml"
    spec.write_text('n = 20000\nseed = 5\n[parameters.k]\nlow = 0.05\nhigh = 0.5\ndistribution = "loguniform"\n')
    out = tmp_path / "run.parquet"
    cmd = [sys.executable, "-m", "qsp", "ensemble", str(model_file), "--spec", str(spec), "--metric", "cmax:[A]",
           "--metric", "auc:[A]", "--dose", "target=A,amount=100,every=12,count=2", "--t-end", "24", "--points", "25",
           "--backend", "serial", "--chunk-size", "200", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("part-*.parquet"))) < 3:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = pd.read_parquet(out)
    assert 0 < len(partial) < 20000, len(partial)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    table = pd.read_parquet(out)
    assert len(table) == 20000 and table.task.is_unique and set(table.task) == set(range(20000))
    # the resumed table equals an uninterrupted run
    ref = ensemble.run(qsp.Model.from_file(model_file),
                       ensemble.sampling.samples_from_spec({"n": 20000, "seed": 5, "parameters": {
                           "k": {"low": 0.05, "high": 0.5, "distribution": "loguniform"}}}).head(500),
                       regimens={"cli": [qsp.Dose("A", 100, every=12, count=2)]}, metrics=["cmax:[A]"], t_end=24,
                       points=25)
    merged = table.sort_values("task").head(500)
    assert merged["cmax:[A]"].to_numpy() == pytest.approx(ref.table["cmax:[A]"].to_numpy())


def test_keyboard_interrupt_keeps_written_parts(model, samples, tmp_path, monkeypatch):
    from qsp.ensemble import job as job_module

    out = tmp_path / "i.parquet"
    calls = {"n": 0}
    real = job_module.run_chunk

    def flaky(job, chunk):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(job, chunk)

    monkeypatch.setattr("qsp.ensemble.runner.run_chunk", flaky)
    with pytest.raises(KeyboardInterrupt):
        ensemble.run(model, samples, metrics=["cmax:[A]"], t_end=24, out=out, chunk_size=50)
    assert len(pd.read_parquet(out)) == 100
    monkeypatch.setattr("qsp.ensemble.runner.run_chunk", real)
    res = ensemble.run(model, samples, metrics=["cmax:[A]"], t_end=24, out=out, chunk_size=50)
    assert len(res) == 300 and res.table.task.is_unique


@pytest.mark.parametrize("text,expected", [
    ("cmax:[Cp]", Metric("cmax", "[Cp]", name="cmax:[Cp]")),
    ("value_at:TV:28", Metric("value_at", "TV", {"at": 28}, name="value_at:TV:28")),
    (" auc:[Cp]:method=log-down ", Metric("auc", "[Cp]", {"method": "log-down"}, name="auc:[Cp]:method=log-down")),
])
def test_metric_parsing(text, expected):
    assert Metric.parse(text) == expected


@pytest.mark.parametrize("kwargs,match", [
    (dict(metrics=["nope:[A]"]), "unknown metric"),
    (dict(metrics=["value_at:[A]"]), "needs at"),
    (dict(metrics=["cmax:[Z]"]), "output"),
    (dict(metrics=[]), "at least one metric"),
    (dict(metrics=["cmax:[A]"], backend="gpu"), "backend"),
    (dict(metrics=["cmax:[A]"], regimens={"x": [qsp.Dose("Q", 1)]}), "dose target"),
])
def test_bad_ensemble_input(model, samples, kwargs, match):
    with pytest.raises(qsp.QSPError, match=match):
        ensemble.run(model, samples, t_end=5, **kwargs)


def test_bad_sample_columns(model):
    with pytest.raises(qsp.UnknownIdError, match="kk"):
        ensemble.run(model, pd.DataFrame({"kk": [1.0]}), metrics=["cmax:[A]"], t_end=5)
    with pytest.raises(qsp.QSPError, match="numeric"):
        ensemble.run(model, pd.DataFrame({"k": ["a"]}), metrics=["cmax:[A]"], t_end=5)


def test_sampling_distributions():
    ranges = {"a": {"low": 1, "high": 100, "distribution": "loguniform"},
              "b": {"distribution": "normal", "mean": 4, "sd": 1},
              "c": {"distribution": "lognormal", "median": 3, "sd_log": np.log(3) / 2}}
    X = ensemble.sample_parameters(ranges, 20000, seed=1, method="lhs")
    assert X.a.between(1, 100).all() and np.median(np.log10(X.a)) == pytest.approx(1, abs=0.02)
    assert X.b.mean() == pytest.approx(4, abs=0.01) and X.b.std() == pytest.approx(1, rel=0.02)
    assert np.exp(np.log(X.c).mean()) == pytest.approx(3, rel=0.01)
    with pytest.raises(qsp.QSPError, match="low > 0"):
        ensemble.sample_parameters({"a": {"low": 0, "high": 1, "distribution": "loguniform"}}, 5)
    with pytest.raises(qsp.QSPError, match="low < high"):
        ensemble.sample_parameters({"a": {"low": 2, "high": 1}}, 5)


def _die_on_task_37(job, chunk):
    """Run a chunk, except that the worker process exits abruptly (as on a crash inside libRoadRunner
    or a kill for memory) when the chunk holds task 37."""
    import os

    from qsp.ensemble.job import run_chunk

    if 37 in chunk.task:
        os._exit(3)
    return run_chunk(job, chunk)


class _WorkersDieOnTask37(ensemble.ProcessBackend):
    def map(self, fn, job, chunks):
        return super().map(_die_on_task_37, job, chunks)


def test_a_dying_worker_costs_one_failed_row_and_the_run_goes_on(model, samples):
    X = samples.head(120)
    ref = ensemble.run(model, X, regimens={"q12": DOSES}, metrics=METRICS, t_end=24, points=49, backend="serial")
    with pytest.warns(qsp.QSPWarning, match="1 of 120"):
        res = ensemble.run(model, X, regimens={"q12": DOSES}, metrics=METRICS, t_end=24, points=49,
                           backend=_WorkersDieOnTask37(2), chunk_size=8)
    t = res.table
    assert t["task"].tolist() == list(range(120))
    assert t.loc[t.status == "failed", "task"].tolist() == [37]
    assert t.loc[37, "message"].startswith("WorkerDied:") and t.loc[37, res.metrics].isna().all()
    ok = t.status == "ok"
    pd.testing.assert_frame_equal(t.loc[ok, res.metrics], ref.table.loc[ok, res.metrics])
    again = ensemble.run(model, X.head(20), metrics=METRICS, regimens={"q12": DOSES}, t_end=24, points=49,
                         backend=_WorkersDieOnTask37(2), chunk_size=8)  # the pool is usable afterwards
    assert again.n_failed == 0
