"""Ensemble input and output: atomic files, user tables, CLI overrides and tolerances, absurd sizes."""

import os

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import ensemble
from qsp.atomic import atomic_path, atomic_write
from qsp.cli import main
from qsp.ensemble.memory import Request, available_bytes, check_request
from qsp.ensemble.result import EnsembleResult
from qsp.ensemble.store import PartStore
from qsp.tables import check_numeric, read_table


@pytest.fixture()
def model_file(tmp_path, pk1_text):
    path = tmp_path / "pk.ant"
    path.write_text(pk1_text)
    return path


def _listing(directory):
    return sorted(p.name for p in directory.iterdir())


# ------------------------------------------------------------------ atomic files
class _Boom(Exception):
    pass


def test_an_interrupted_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old\n")
    os.chmod(path, 0o640)
    with pytest.raises(_Boom):
        with atomic_write(path) as fh:
            fh.write("new, half written")
            raise _Boom
    assert path.read_text() == "old\n" and _listing(tmp_path) == ["a.txt"]
    with atomic_write(path) as fh:
        fh.write("new\n")
    assert path.read_text() == "new\n" and _listing(tmp_path) == ["a.txt"]
    assert (path.stat().st_mode & 0o777) == 0o640  # the replaced file's permissions are kept
    with pytest.raises(_Boom):
        with atomic_path(tmp_path / "t.parquet") as tmp:
            assert tmp.endswith(".parquet") and os.path.dirname(tmp) == str(tmp_path)
            pd.DataFrame({"x": [1.0]}).to_parquet(tmp)
            raise _Boom
    assert _listing(tmp_path) == ["a.txt"]
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "t.parquet"):
            pass  # nothing written: nothing replaced


class _FailsLate:
    """A cell that cannot be written: to_csv fails after it has written the first chunks of rows."""

    def __str__(self):
        raise _Boom


def test_result_exports_never_leave_a_truncated_file(tmp_path):
    n = 60_000
    good = EnsembleResult(pd.DataFrame({"task": np.arange(n), "status": "ok", "x": np.ones(n)}), None, ["x"])
    for name, write in (("t.csv", good.to_csv), ("t.parquet", good.to_parquet), ("t.json", good.to_json)):
        write(tmp_path / name)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    cells = np.array([1.0] * n, dtype=object)
    cells[-1] = _FailsLate()
    bad = EnsembleResult(pd.DataFrame({"task": np.arange(n), "status": "ok", "x": cells}), None, ["x"])
    with pytest.raises(_Boom):
        bad.to_csv(tmp_path / "t.csv")
    with pytest.raises(Exception):
        bad.to_parquet(tmp_path / "t.parquet")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert len(pd.read_csv(tmp_path / "t.csv")) == n


def test_a_part_that_fails_to_write_leaves_nothing(tmp_path):
    store = PartStore(tmp_path / "s.parquet", "f")
    with pytest.raises(Exception):
        store.write(pd.DataFrame({"task": [0, 1], "x": [1.0, "one"]}))  # mixed column: Parquet refuses
    store.write(pd.DataFrame({"task": [0, 1], "x": [1.0, 2.0]}))
    store.close()
    names = _listing(tmp_path / "s.parquet")
    assert [n for n in names if not n.startswith("_")] == [n for n in names if n.startswith("part-")]
    assert len(names) == 3 and pd.read_parquet(tmp_path / "s.parquet").task.tolist() == [0, 1]


# ------------------------------------------------------------------ user tables
def test_a_duplicate_column_is_named(tmp_path, model_file, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("k,V,k\n0.1,10,0.2\n")
    with pytest.raises(qsp.InputError, match=f"samples file {str(path)!r}: column 'k' appears twice"):
        read_table(path, what="samples file")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0])], names=["k", "k"]), tmp_path / "d.parquet")
    with pytest.raises(qsp.InputError, match="column 'k' appears twice"):
        read_table(tmp_path / "d.parquet")
    assert main(["ensemble", str(model_file), "--samples", str(path), "--metric", "cmax:[A]", "--t-end", "5",
                 "--out", str(tmp_path / "o.parquet")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "column 'k' appears twice" in err[0] and "k.1" not in err[0]


def test_a_word_in_a_numeric_column_is_refused_with_its_row(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text("TV,IL6\n1.5,2\n2.5,n/a?\n3.5,\n")
    assert len(read_table(path)) == 3  # not asked to be numeric: read as is
    with pytest.raises(qsp.InputError, match=r"obs.csv': row 2 \(line 3\), column 'IL6': 'n/a\?' is not a number"):
        read_table(path, numeric=True)
    ok = tmp_path / "ok.csv"
    ok.write_text("TV,arm\n1.5,a\n,b\n")
    t = read_table(ok, numeric=["TV"])
    assert t.TV.isna().tolist() == [False, True] and t.arm.tolist() == ["a", "b"]
    with pytest.raises(qsp.InputError, match="row 1, column 'x': 'abc'"):
        check_numeric(pd.DataFrame({"x": ["abc", "1"]}), what="observations")
    assert check_numeric(pd.DataFrame({"x": ["2", "1"]}))["x"].tolist() == [2.0, 1.0]


# ------------------------------------------------------------------ CLI overrides and tolerances
def _cli(model_file, tmp_path, *extra, samples=None):
    args = ["ensemble", str(model_file), "--metric", "cmax:[A]", "--metric", "final:[A]", "--t-end", "24",
            "--points", "25", "--backend", "serial", "--out", str(tmp_path / f"o{len(os.listdir(tmp_path))}.parquet"),
            "--quiet", *extra]
    if samples is not None:
        args += ["--samples", str(samples)]
    return main(args), args[args.index("--out") + 1]


def test_cli_fixed_params_initial_values_tolerances_and_equilibration(model_file, tmp_path, capsys):
    samples = tmp_path / "s.csv"
    pd.DataFrame({"k": [0.1, 0.2, 0.4]}).to_csv(samples, index=False)
    rc, out = _cli(model_file, tmp_path, "--dose", "target=A,amount=100", "--param", "V=5", samples=samples)
    assert rc == 0 and capsys.readouterr().out == ""
    t = pd.read_parquet(out).sort_values("task")
    assert t["cmax:[A]"].to_numpy() == pytest.approx(20.0)  # 100 / V with V = 5 on every row
    # a samples column wins over --param of the same id
    rc, out = _cli(model_file, tmp_path, "--dose", "target=A,amount=100", "--param", "k=9", samples=samples)
    t = pd.read_parquet(out).sort_values("task")
    assert rc == 0 and t["final:[A]"].to_numpy() == pytest.approx(10 * np.exp(-24 * np.array([0.1, 0.2, 0.4])),
                                                                   rel=1e-4)
    k = np.array([0.1, 0.2, 0.4])
    rc, out = _cli(model_file, tmp_path, "--initial", "A=50", "--rtol", "1e-10", "--atol", "1e-14", samples=samples)
    t = pd.read_parquet(out).sort_values("task")
    assert rc == 0 and t["cmax:[A]"].to_numpy() == pytest.approx(5.0)
    assert t["final:[A]"].to_numpy() == pytest.approx(5 * np.exp(-24 * k), rel=1e-7)  # default rtol: 3e-5 off
    rc, out = _cli(model_file, tmp_path, "--initial", "A=50", "--equilibrate", "5", samples=samples)
    t = pd.read_parquet(out).sort_values("task")
    assert rc == 0 and t["cmax:[A]"].to_numpy() == pytest.approx(5 * np.exp(-5 * k), rel=1e-5)
    capsys.readouterr()
    for extra, message in ((("--rtol", "-1"), "rtol (relative tolerance) must be in (0, 0.1]"),
                           (("--atol", "0"), "atol (absolute tolerance) must be > 0"),
                           (("--equilibrate", "-2"), "equilibrate must be a duration >= 0"),
                           (("--param", "Q=1"), "'Q' is not a parameter"),
                           (("--initial", "Q=1"), "'Q' is not a species"),
                           (("--metric", "value_at:[A]:25"), "outside the simulated time range")):
        rc, out = _cli(model_file, tmp_path, *extra, samples=samples)
        captured = capsys.readouterr()
        err = captured.err.strip().splitlines()
        assert rc == 1 and captured.out == "" and len(err) == 1 and message in err[0], (extra, err)
        assert not os.path.exists(out)


# ------------------------------------------------------------------ absurd sizes
def test_a_request_that_cannot_fit_in_memory_is_refused(pk1_text, tmp_path, capsys, model_file):
    m = qsp.Model.from_antimony(pk1_text)
    with pytest.raises(qsp.InputError, match="would need about .* of memory .* points"):
        ensemble.run(m, None, metrics=["cmax:[A]"], t_end=24, points=10**13)
    X = pd.DataFrame({"k": np.full(1000, 0.2)})
    with pytest.raises(qsp.InputError, match="largest part is trajectories kept in memory .*stream them to disk"):
        ensemble.run(m, X, metrics=["cmax:[A]"], t_end=24, points=10**10, trajectories=True)
    base = dict(n_tasks=10_000, n_points=1001, n_outputs=2, n_kept=2, n_columns=3, n_metrics=2, chunk_size=256,
                local_workers=2, in_process=False)
    check_request(Request(**base, streamed=False), available=1 << 30)        # 10,000 x 1001 x 2 fits in 1 GB
    with pytest.raises(qsp.InputError, match="trajectories kept in memory"):
        check_request(Request(**{**base, "n_tasks": 1_000_000}, streamed=False), available=1 << 30)
    check_request(Request(**{**base, "n_tasks": 1_000_000}, streamed=True), available=1 << 30)  # streamed: fits
    assert available_bytes() is None or available_bytes() > 0
    samples = tmp_path / "s.csv"
    pd.DataFrame({"k": [0.1, 0.2]}).to_csv(samples, index=False)
    rc, _ = _cli(model_file, tmp_path, "--points", str(10**13), samples=samples)
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "of memory" in err[0]
    spec = tmp_path / "spec.toml"
    spec.write_text("[parameters.k]\nlow = 0.1\nhigh = 0.2\n")
    assert main(["ensemble", str(model_file), "--spec", str(spec), "--n", str(10**13), "--metric", "cmax:[A]",
                 "--t-end", "5", "--out", str(tmp_path / "n.parquet")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "parameter sets" in err[0] and "memory" in err[0]
