"""Ensemble robustness: workers never orphaned, SIGTERM like Ctrl-C, one writer per output, inputs checked
before simulating, metric columns named as typed, atomic files, resume counts, absurd sizes refused."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import ensemble
from qsp.cli import main
from qsp.ensemble import Metric
from qsp.ensemble.lock import WriterLock
from qsp.ensemble.main_guard import line_is_guarded

ROOT = Path(__file__).resolve().parents[1]
LINUX_PROC = Path("/proc/self/stat").exists()


@pytest.fixture(scope="module")
def model(pk1_text):
    return qsp.Model.from_antimony(pk1_text)


@pytest.fixture(scope="module")
def samples():
    return ensemble.sample_parameters({"k": {"low": 0.05, "high": 0.5, "distribution": "loguniform"}}, 60, seed=3)


@pytest.fixture()
def model_file(tmp_path, pk1_text):
    path = tmp_path / "pk.ant"
    path.write_text(pk1_text)
    return path


def _children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is ``pid``, from /proc."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            rest = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(rest[1]) == pid and rest[0] != "Z":
            out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left for its parent


def _wait_for(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _long_run(model_file: Path, tmp_path: Path, out: Path) -> list[str]:
    """A processes-backend run far too long to finish during a test."""
    spec = tmp_path / "spec.toml"
    spec.write_text('n = 400000\nseed = 5\n[parameters.k]\nlow = 0.05\nhigh = 0.5\ndistribution = "loguniform"\n')
    return ["ensemble", str(model_file), "--spec", str(spec), "--metric", "cmax:[A]",
            "--dose", "target=A,amount=100", "--t-end", "24", "--points", "25", "--backend", "processes",
            "--workers", "2", "--chunk-size", "100", "--out", str(out), "--quiet"]


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qsp", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)


def _reap(workers: list[int]) -> None:
    """Kill what is left of ``workers`` (only when a check failed), so that no test leaves processes behind."""
    for w in workers:
        if _alive(w):
            os.kill(w, signal.SIGKILL)


def _started(proc: subprocess.Popen, out: Path, parts: int = 2) -> list[int]:
    """Wait until ``proc`` has its 2 workers and has stored ``parts`` chunks; return the worker pids."""
    ok = _wait_for(lambda: proc.poll() is not None
                   or (len(_children(proc.pid)) >= 2 and len(list(out.glob("part-*.parquet"))) >= parts), 60)
    assert ok and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else "run did not start"
    return _children(proc.pid)


# ------------------------------------------------------------------ workers and signals
@pytest.mark.skipif(not LINUX_PROC, reason="reads /proc")
def test_workers_exit_when_the_main_process_is_killed(model_file, tmp_path):
    out = tmp_path / "k.parquet"
    proc = _start(_long_run(model_file, tmp_path, out))
    workers = _started(proc, out, parts=1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    try:
        assert _wait_for(lambda: not any(_alive(w) for w in workers), 5), [w for w in workers if _alive(w)]
    finally:
        _reap(workers)


@pytest.mark.skipif(not LINUX_PROC, reason="reads /proc")
def test_sigterm_is_an_interrupt_and_a_second_writer_is_refused(model_file, tmp_path, capsys):
    out = tmp_path / "t.parquet"
    args = _long_run(model_file, tmp_path, out)
    proc = _start(args)
    workers = _started(proc, out)
    try:
        _check_interrupt(proc, args, out, workers, capsys)
    finally:
        if proc.poll() is None:
            proc.kill()
        _reap(workers)


def _check_interrupt(proc, args, out, workers, capsys):
    # the same command again, while the first is writing: refused in one line naming the writer
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        f"qsp: error: {str(out)!r} is being written by another run (pid {proc.pid}); wait for it to finish or "
        "use another output path"]
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert stdout == "" and "Traceback" not in stderr
    stored = pd.read_parquet(out)
    assert 0 < len(stored) < 400000 and stored.task.is_unique and (stored.status == "ok").all()
    assert stderr.strip().splitlines()[-1] == (f"qsp: interrupted; {len(stored)} simulations are stored in "
                                               f"{str(out)!r}; run the same command again to resume")
    assert _wait_for(lambda: not any(_alive(w) for w in workers), 5)
    WriterLock(out).release()  # the lock went with the process


def test_a_held_lock_refuses_a_writer_until_released(model, samples, tmp_path):
    out = tmp_path / "l.parquet"
    out.mkdir()
    kw = dict(metrics=["cmax:[A]"], t_end=24, points=13, out=out)
    with WriterLock(out):
        with pytest.raises(qsp.InputError, match=rf"being written by another run \(pid {os.getpid()}\)"):
            ensemble.run(model, samples, **kw)
    assert len(ensemble.run(model, samples, **kw)) == 60
    with pytest.raises(qsp.QSPError, match="different ensemble"):     # refused after locking: lock released
        ensemble.run(model, samples, metrics=["cmax:[A]"], t_end=12, points=13, out=out)
    assert ensemble.run(model, samples, **kw).n_reused == 60


# ------------------------------------------------------------------ checked before simulating
@pytest.mark.parametrize("metric,match", [
    ("value_at:[A]:abc", "at of value_at must be a finite number"),
    ("value_at:[A]:30", r"at=30 is outside the simulated time range \[0, 24\]"),
    ("value_at:[A]:-1", "outside the simulated time range"),
    ("trough:[A]:0", "no output time before dose_time=0"),
    ("auc:[A]:method=cubic", "method of auc must be one of linear, log-down"),
    ("cmax:[A]:t_start=5:t_end=2", "t_end=2 is before t_start=5"),
    ("cmax:[A]:t_end=99", "t_end=99 is outside"),
    ("cmax:[A]:foo=1", "cmax takes no argument 'foo'"),
    ("time_above:[A]:high", "threshold of time_above must be a finite number"),
    ("value_at:[A]:6:7", "unexpected value"),
    ("cmax:[Z]", r"metric 'cmax:\[Z\]': '\[Z\]' is not an output"),
    (Metric("value_at", "[A]", {"at": 99.0}), "at=99 is outside"),
])
def test_metric_arguments_are_checked_before_any_simulation(model, samples, tmp_path, metric, match):
    out = tmp_path / "never.parquet"
    with pytest.raises(qsp.QSPError, match=match):
        ensemble.run(model, samples, metrics=["cmax:[A]", metric], t_end=24, points=25, out=out)
    assert not out.exists()  # refused before the output directory (or any simulation) was made


def test_bad_tolerances_fail_up_front(model, samples, tmp_path):
    out = tmp_path / "never.parquet"
    for kw, match in ((dict(rtol=-1), "rtol"), (dict(atol=0), "atol"), (dict(rtol=float("nan")), "rtol")):
        with pytest.raises(qsp.InputError, match=match):
            ensemble.run(model, samples, metrics=["cmax:[A]"], t_end=24, out=out, **kw)
    assert not out.exists()


# ------------------------------------------------------------------ metric column names
def test_metric_columns_are_named_as_typed(model, samples):
    metrics = ["value_at:[A]:6", " cmax:[A] ", Metric("auc", "[A]"), Metric("auc", "[A]", name="exposure")]
    res = ensemble.run(model, samples.head(4), regimens={"r": [qsp.Dose("A", 100)]}, metrics=metrics, t_end=24,
                       points=241, rtol=1e-10, atol=1e-14)
    assert res.metrics == ["value_at:[A]:6", "cmax:[A]", "auc([A])", "exposure"]
    assert list(res.table.columns[-4:]) == res.metrics
    k = samples.k.head(4).to_numpy()
    assert res.table["value_at:[A]:6"].to_numpy() == pytest.approx(10 * np.exp(-6 * k), rel=1e-6)
    with pytest.raises(qsp.InputError, match="'cmax:\\[A\\]' appears twice"):
        ensemble.run(model, samples, metrics=["cmax:[A]", "cmax:[A]"], t_end=24)
    with pytest.raises(qsp.InputError, match="also a column"):
        ensemble.run(model, samples, metrics=[Metric("cmax", "[A]", name="k")], t_end=24)


# ------------------------------------------------------------------ Dask from a plain script
def _script(tmp_path: Path, body: str, pk1_text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(f"""
        import qsp
        from qsp import ensemble
        m = qsp.Model.from_antimony({pk1_text!r})
        X = ensemble.sample_parameters({{"k": {{"low": 0.1, "high": 0.2}}}}, 8, seed=1)
    """) + textwrap.dedent(body))
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_dask_in_an_unguarded_script_says_to_add_the_guard(tmp_path, pk1_text):
    done = _script(tmp_path, """
        res = ensemble.run(m, X, metrics=["cmax:[A]"], t_end=5, backend="dask")
    """, pk1_text)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(
        "qsp.errors.InputError: the Dask backend's local cluster starts worker processes that import this script "
        'again, so the code that starts them must be under an `if __name__ == "__main__":` guard')
    assert "distributed" not in done.stderr and "bootstrapping" not in done.stderr


def test_dask_in_a_guarded_script_runs_without_a_dashboard(tmp_path, pk1_text):
    import socket

    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 8787))  # port 8787 taken: no warning about it, since no dashboard is asked for
        busy.listen()
    except OSError:
        pass  # already taken by something else: the same situation
    try:
        done = _script(tmp_path, """
            def main():
                res = ensemble.run(m, X, metrics=["cmax:[A]"], t_end=5,
                                   backend=ensemble.DaskBackend(n_workers=1))
                print(len(res), res.n_failed)

            if __name__ == "__main__":
                main()
        """, pk1_text)
    finally:
        busy.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["8", "0"]
    assert "8787" not in done.stderr and "already in use" not in done.stderr
    with pytest.raises(qsp.InputError, match="dashboard"):
        ensemble.DaskBackend(dashboard=8787)


@pytest.mark.parametrize("source,line,guarded", [
    ("import x\nrun()\n", 2, False),
    ("if __name__ == '__main__':\n    run()\n", 2, True),
    ("if '__main__' == __name__:\n    x = 1\n    run()\n", 3, True),
    ("try:\n    if __name__ == \"__main__\":\n        run()\nexcept E:\n    pass\n", 3, True),
    ("if __name__ == '__main__':\n    pass\nrun()\n", 3, False),
    ("if __name__ != '__main__':\n    run()\n", 2, False),
])
def test_main_guard_detection(source, line, guarded):
    assert line_is_guarded(source, line) is guarded


# ------------------------------------------------------------------ resume counts
def test_a_resumed_run_says_how_many_rows_it_reused(model_file, tmp_path, capsys):
    out = tmp_path / "r.parquet"
    samples = tmp_path / "s.csv"
    pd.DataFrame({"k": np.linspace(0.05, 0.5, 40)}).to_csv(samples, index=False)
    args = ["ensemble", str(model_file), "--samples", str(samples), "--metric", "cmax:[A]", "--dose",
            "target=A,amount=100", "--t-end", "24", "--points", "13", "--backend", "serial", "--chunk-size", "10",
            "--out", str(out), "--quiet"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert first.out == "" and "qsp: resumed" not in first.err
    full = pd.read_parquet(out).sort_values("task").reset_index(drop=True)
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 4
    lost = sum(len(pd.read_parquet(p)) for p in parts[:2])
    for p in parts[:2]:
        p.unlink()  # as if the run had been killed before writing them
    assert main(args) == 0
    second = capsys.readouterr()
    assert second.out == ""
    assert (f"qsp: resumed {str(out)!r}: {40 - lost} of 40 simulations were already stored and reused"
            in second.err.splitlines())
    again = pd.read_parquet(out).sort_values("task").reset_index(drop=True)
    pd.testing.assert_frame_equal(again, full)
    model = qsp.Model.from_file(model_file)
    res = ensemble.run(model, pd.read_csv(samples), regimens={"cli": [qsp.Dose("A", 100)]}, metrics=["cmax:[A]"],
                       t_end=24, points=13, chunk_size=10, out=out)
    assert res.n_reused == 40 and "40 reused" in repr(res)
    assert ensemble.run(model, pd.read_csv(samples), metrics=["cmax:[A]"], t_end=24).n_reused == 0
