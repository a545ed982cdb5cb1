"""What a new user meets first: argument checks up front, no state left behind, sizes refused, no leaks
into the user's own libRoadRunner code, clean standard output."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.dosing import MAX_ADMINISTRATIONS


@pytest.mark.parametrize("kwargs, match", [
    ({"atol": -1}, "atol"), ({"rtol": -1e-6}, "rtol"), ({"rtol": 10}, "rtol"), ({"rtol": float("nan")}, "rtol"),
    ({"atol": float("inf")}, "atol"), ({"rtol": "1e-6"}, "rtol"),
])
def test_bad_tolerances_are_refused_and_leave_no_state(pk1, kwargs, match):
    good = pk1.simulate(24, points=5, doses=qsp.Dose("A", 100), outputs=["[A]"])
    with pytest.raises(qsp.InputError, match=match):
        pk1.simulate(24, points=5, **kwargs)
    again = pk1.simulate(24, points=5, doses=qsp.Dose("A", 100), outputs=["[A]"])
    np.testing.assert_array_equal(good.values, again.values)
    np.testing.assert_allclose(again["[A]"], 10 * np.exp(-0.2 * again.time), rtol=1e-4)


def test_refused_tolerance_inside_libroadrunner_is_not_cached(pk1):
    # Even a value that gets past the check and is refused by the integrator must not stick.
    from qsp import engine

    pk1.simulate(1, points=2)
    with pytest.raises(Exception):
        engine.set_tolerances(pk1._rr, -1.0, -1.0)
    pk1._tolerances = None  # what _prepare now does before setting
    res = pk1.simulate(24, points=3, doses=qsp.Dose("A", 100), outputs=["[A]"])
    np.testing.assert_allclose(res["[A]"], 10 * np.exp(-0.2 * res.time), rtol=1e-4)


def test_absurd_sizes_are_refused_in_one_line(pk1):
    with pytest.raises(qsp.InputError, match="points"):
        pk1.simulate(1, points=1_000_000_000)
    with pytest.raises(qsp.InputError, match="values"):
        pk1.simulate(1, points=9_000_000, outputs=["A", "[A]", "V", "k", "elimination", "A", "[A]"])
    # a dose train far longer than the simulation costs only the administrations before t_end
    res = pk1.simulate(12, points=13, doses=qsp.Dose("A", 1, every=1, count=100_000_000), outputs=["A"],
                       rtol=1e-10, atol=1e-14)
    # 13 doses at t = 0..12, each 1 umol, decaying at k = 0.2 /h: the sum is a geometric series
    t = res.time
    expected = [sum(np.exp(-0.2 * (ti - j)) for j in range(int(ti) + 1)) for ti in t]
    np.testing.assert_allclose(res["A"], expected, rtol=1e-5)
    with pytest.raises(qsp.DosingError, match="administrations"):
        pk1.simulate(10, points=2, doses=qsp.Dose("A", 1, every=1e-6, count=10 ** 9))
    assert MAX_ADMINISTRATIONS == 1_000_000


@pytest.mark.parametrize("size", [-10, 0])
def test_compartment_size_must_be_positive(pk1, size):
    with pytest.raises(qsp.InputError, match="compartment 'V' must have a size > 0"):
        pk1.simulate(1, params={"V": size})


@pytest.mark.parametrize("call, kind", [
    (lambda m: m.simulate(1, params=[("k", 1)]), qsp.InputError),
    (lambda m: m.simulate(1, initial=[("A", 1)]), qsp.InputError),
    (lambda m: qsp.Model.from_sbml(None), qsp.ModelError),
    (lambda m: qsp.Model.from_antimony(123), qsp.ModelError),
    (lambda m: qsp.Model.from_file(None), qsp.ModelError),
    (lambda m: m.simulate(1, params={1: 2.0}), qsp.InputError),
])
def test_wrong_argument_types_are_qsp_errors(pk1, call, kind):
    with pytest.raises(kind):
        call(pk1)


def test_dose_count_and_repeat():
    assert qsp.Dose("A", 1, every=7, repeat=2).count == 3
    assert qsp.Dose("A", 1, every=7, count=3) == qsp.Dose("A", 1, every=7, repeat=2)
    assert qsp.Dose("A", 1, every=7, count=3).repeat == 2
    assert qsp.Dose("A", 1, repeat=0).count == 1
    with pytest.raises(qsp.DosingError, match="count.*repeat"):
        qsp.Dose("A", 1, every=7, count=2, repeat=5)
    with pytest.raises(qsp.DosingError, match="repeat"):
        qsp.Dose("A", 1, every=7, repeat=-1)
    np.testing.assert_array_equal(qsp.Dose("A", 1, time=2, every=7, count=5).times(until=16), [2, 9, 16])


def test_bolus_at_an_event_time_is_given_after_the_event():
    # The event empties A at t = 5; a bolus at t = 5 is given to the state the event leaves.
    m = qsp.Model.from_antimony("model m\n species A = 10\n E: at time >= 5: A = 0\nend")
    res = m.simulate(6, times=[0, 4, 5, 6], outputs=["A"], doses=qsp.Dose("A", 3, time=5))
    assert res["A"].tolist() == [10, 10, 3, 3]


RAW_ROADRUNNER = textwrap.dedent("""
    import sys
    import roadrunner
    sbml = open(sys.argv[1]).read()
    def user_code():
        rr = roadrunner.RoadRunner(sbml)
        rr.MKKK = 1.0
        level = roadrunner.Logger.getLevel()
        return rr.MKKK, rr.simulate(0, 10, 3)[-1, 1], level
    before = user_code()
    import qsp
    m = qsp.load_model(sys.argv[1])
    m.simulate(10, points=3, params={"J0_V1": 3.0})
    after = user_code()
    print(before == after, before, after)
""")


def test_loading_a_model_does_not_change_the_users_roadrunner(biomodels, tmp_path):
    script = tmp_path / "user.py"
    script.write_text(RAW_ROADRUNNER)
    p = subprocess.run([sys.executable, str(script), str(biomodels / "BIOMD0000000010.xml")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("True"), p.stdout
    assert "(1.0," in p.stdout  # the user's assignment took effect


def qsp_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "qsp", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_stdout_carries_only_data_even_when_the_solver_warns(tmp_path):
    p = qsp_cli("simulate", "tritherapy", "--regimen", "tritherapy", "--rtol", "1e-10", "--atol", "1e-14",
                "--t-end", "28", "--output", "TV_tot", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("time,TV_tot\n")
    df = pd.read_csv(pd.io.common.StringIO(p.stdout))
    assert list(df.columns) == ["time", "TV_tot"] and len(df) > 2 and df.notna().all().all()
    assert "WARNING" not in p.stdout and "CVode" not in p.stdout


@pytest.mark.parametrize("args, match", [
    (["--dose", "target=A,amount=1,amount=5"], "given twice"),
    (["--rtol", "nan"], "finite"),
    (["--rtol", "10"], "rtol"),
    (["--param", "k=1", "--param", "k=2"], "twice"),
    (["--points", "1000000000"], "points"),
    (["--times", "0,2,1"], "increasing"),
    (["--param", "V=-10"], "size > 0"),
])
def test_cli_bad_input_is_one_line(pk_file, args, match):
    p = qsp_cli("simulate", str(pk_file), "--t-end", "5", *args)
    assert p.returncode != 0
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], p.stderr


def test_cli_times_t_start_and_repeat(pk_file):
    p = qsp_cli("simulate", str(pk_file), "--times", "1,2,4", "--t-start", "1", "--output", "[A]",
                "--dose", "target=A,amount=100,time=1,every=1,repeat=1")
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(pd.io.common.StringIO(p.stdout))
    assert df["time"].tolist() == [1, 2, 4]
    # 100 umol at t = 1 and t = 2 into V = 10 L, k = 0.2 /h
    expected = [10.0, 10 * np.exp(-0.2) + 10, (10 * np.exp(-0.2) + 10) * np.exp(-0.4)]
    np.testing.assert_allclose(df["[A]"], expected, rtol=1e-5)


@pytest.fixture()
def pk_file(tmp_path, pk1_text):
    f = tmp_path / "pk.ant"
    f.write_text(pk1_text)
    return f


def test_a_missing_library_costs_only_its_own_commands(tmp_path):
    # Hide pymoo: 'qsp synergy' says so in one line, every other command works.
    (tmp_path / "pymoo.py").write_text("raise ModuleNotFoundError('No module named pymoo', name='pymoo')\n")
    import os

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "qsp", *a], capture_output=True, text=True,  # noqa: E731
                                    timeout=120, env=env, cwd=tmp_path)
    p = run("simulate", "missing.xml")
    assert p.returncode == 1 and p.stderr.strip().splitlines() == ["qsp: error: model file 'missing.xml' does not exist"]
    p = run("synergy", "pembro_bev")
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and "pymoo" in p.stderr
    assert run("models").returncode == 0


def test_ensemble_param_given_twice_is_one_line(tmp_path, capfd):
    from .cli_checks import one_line, run_cli

    rc, err = run_cli(capfd, "ensemble", "trimeric", "--n", "2", "--metric", "cmax:[Cp]", "--param", "CL=1",
                      "--param", "CL=2", "--out", tmp_path / "e.parquet", "--quiet")
    assert rc == 1 and one_line(err) == "qsp: error: --param 'CL' is given twice"
