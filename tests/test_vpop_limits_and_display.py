"""Virtual populations: the memory bound, option names in messages, repeated keys, progress bars and the notebook
view. The analytic model has Y1 = p1 p2, Y2 = p1 / p3; the tumour model V(t) = 100 exp((g - kill) t)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import vpop
from qsp.cli import main

from .cli_checks import one_line
from .test_vpop_plausible import ANALYTIC
from .test_vpop_trial import TUMOUR

PARAMS = {"p1": {"low": 0.5, "high": 2.0}, "p2": {"low": 0.5, "high": 2.0}, "p3": {"low": 0.5, "high": 2.0}}
OUTPUTS = {"Y1": {"metric": "final:Y1", "low": 0.3, "high": 3.0}, "Y2": {"metric": "final:Y2", "low": 0.3, "high": 3.0}}
TARGET = {"Y1": {"distribution": "lognormal", "median": 1.0, "sd_log": 0.3}}
TARGET_TOML = "[outputs.Y1]\ndistribution = \"lognormal\"\nmedian = 1.0\nsd_log = 0.3\n"


@pytest.fixture(scope="module")
def problem():
    return vpop.PlausibleProblem(qsp.Model.from_antimony(ANALYTIC), PARAMS, OUTPUTS, t_end=1, points=2)


@pytest.fixture(scope="module")
def pps(problem):
    return vpop.generate(problem, 200, method="sample", seed=1)


@pytest.fixture()
def work(tmp_path, pps, monkeypatch):
    pps.to_csv(tmp_path / "pps.csv")
    (tmp_path / "target.toml").write_text(TARGET_TOML)
    (tmp_path / "tumour.ant").write_text(TUMOUR)
    pd.DataFrame({"pp": [0, 1, 2], "g": [0.1, -0.1, 0.2]}).to_csv(tmp_path / "vps.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(capfd, *args) -> tuple[int, str]:
    try:
        rc = main(["vpop", *map(str, args)])
    except SystemExit as exc:
        rc = exc.code
    return rc, capfd.readouterr().err


# ------------------------------------------------------------------------------------------ memory bound
def test_a_million_bins_are_refused_before_allocating(pps):
    target = vpop.Target.from_summary(TARGET)
    with pytest.raises(qsp.InputError, match=r"n_bins=1000000 \(200 plausible patients, 1 output\(s\), method 'qp'\) "
                                             r"needs about 4.47 GiB of memory, above the limit of 4 GiB"):
        vpop.weight(pps, target, n_bins=1_000_000)
    w = vpop.weight(pps, target, method="binned", n_bins=1_000)  # per-bin sums only: cheap
    assert w.weights.sum() == pytest.approx(1.0)


def test_cli_weight_refuses_absurd_bins_in_one_line(work, capfd):
    rc, err = cli(capfd, "weight", "pps.csv", "--target", "target.toml", "--bins", 1_000_000, "--out", "w.csv")
    line = one_line(err)
    assert rc == 1 and line.startswith("qsp: error: --bins 1000000 (200 plausible patients") and "n_bins" not in line
    assert not (work / "w.csv").exists()
    rc, err = cli(capfd, "weight", "pps.csv", "--target", "target.toml", "--bins", 1, "--out", "w.csv")
    assert rc == 1 and one_line(err) == "qsp: error: --bins must be an integer >= 2. Got 1."


def test_absurd_generation_and_trial_sizes_are_refused(problem, work, capfd):
    with pytest.raises(qsp.InputError, match=r"n=1000000000 \(n_chains 64\) needs about"):
        vpop.generate(problem, 10**9, method="mh")
    model = qsp.Model.from_antimony(TUMOUR)
    vps = pd.DataFrame({"g": [0.1, 0.2]})
    with pytest.raises(qsp.InputError, match="4 simulations, points=101, assess_every=1e-09 needs about"):
        vpop.simulate_trial(model, vps, {"a": ([], {}), "b": ([], {"kill": 0.1})}, tumour="V", t_end=1,
                            assess_every=1e-9)
    with pytest.raises(qsp.InputError, match="2 simulations, points=1000000000 needs about"):
        vpop.simulate_trial(model, vps, {"a": ([], {})}, tumour="V", t_end=1, points=10**9)
    rc, err = cli(capfd, "simulate", "tumour.ant", "--vps", "vps.csv", "--arm", "a", "--tumour", "V", "--t-end", 1,
                  "--points", 10**9, "--out", "t.csv")
    assert rc == 1 and "3 simulations, --points 1000000000 needs about" in one_line(err)


# ------------------------------------------------------------------------------------------ messages and keys
def test_messages_name_cli_options(work, capfd):
    (work / "spec.toml").write_text("t_end = 1\npoints = 2\n" + "".join(
        f"[parameters.{p}]\nlow = 0.5\nhigh = 2.0\n" for p in PARAMS) + "[outputs.Y1]\nmetric = \"final:Y1\"\n"
        "low = 0.3\nhigh = 3.0\n")
    (work / "analytic.ant").write_text(ANALYTIC)
    rc, err = cli(capfd, "generate", "analytic.ant", "--spec", "spec.toml", "--method", "optimize", "--target",
                  "target.toml", "--n", 5, "--out", "p.csv")
    assert rc == 1 and one_line(err) == ("qsp: error: --target scores Metropolis-Hastings chains; use --method mh. "
                                         "Got 'optimize'.")
    rc, err = cli(capfd, "simulate", "tumour.ant", "--vps", "vps.csv", "--arm", "a", "--tumour", "V", "--t-end", 1,
                  "--pr", -10, "--pd", -20, "--out", "t.csv")
    assert rc == 1 and one_line(err) == ("qsp: error: the thresholds need CR <= PR < PD. Got --cr -100.0, --pr -10.0, "
                                         "--pd -20.0.")
    pd.DataFrame({"x": [1.0]}).to_csv(work / "nothing.csv", index=False)
    rc, err = cli(capfd, "simulate", "tumour.ant", "--vps", "nothing.csv", "--arm", "a", "--tumour", "V",
                  "--t-end", 1, "--out", "t.csv")
    assert rc == 1 and "parameter of the model (name them after the model's ids)" in one_line(err)
    with pytest.raises(qsp.QSPError, match=r"pass parameters=$"):
        vpop.simulate_trial(qsp.Model.from_antimony(TUMOUR), pd.DataFrame({"x": [1.0]}), {"a": ([], {})},
                            tumour="V", t_end=1)


@pytest.mark.parametrize("args, message", [
    (["--regimen", "none", "--regimen", "none"], "--regimen 'none' is given twice"),
    (["--arm", "a:kill=0.1,kill=0.2"], "arm override 'kill' is given twice"),
    (["--arm", "a", "--param", "kill=0.1", "--param", "kill=0.2"], "--param 'kill' is given twice"),
])
def test_repeated_keys_are_refused(work, capfd, args, message):
    rc, err = cli(capfd, "simulate", "tumour.ant", "--vps", "vps.csv", *args, "--tumour", "V", "--t-end", 1,
                  "--out", "t.csv")
    assert rc in (1, 2) and message in one_line(err)


def test_negative_thresholds_parse(work, capfd):
    rc, err = cli(capfd, "simulate", "tumour.ant", "--vps", "vps.csv", "--arm", "a:kill=-0.05", "--tumour", "V",
                  "--t-end", 1, "--pr", "-30", "--baseline", "-0", "--out", "t.csv", "--quiet")
    assert rc == 0, err
    assert pd.read_csv(work / "t.csv")["best_percent_change"].notna().all()


# ------------------------------------------------------------------------------------------ progress
def test_progress_bars_on_request(problem, capsys):
    vpop.generate(problem, 20, method="sample", seed=2, batch_size=32, progress=True)
    err = capsys.readouterr().err
    assert "plausible patients" in err and "32/4000" in err  # one batch out of the 200 n budget
    vpop.generate(problem, 20, method="sample", seed=2, batch_size=32)
    assert capsys.readouterr().err == ""
    vpop.simulate_trial(qsp.Model.from_antimony(TUMOUR), pd.DataFrame({"g": [0.1, 0.2, 0.3]}), {"a": ([], {})},
                        tumour="V", t_end=1, progress=True)
    assert "3/3" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ notebook view
def test_every_vpop_result_shows_its_tables_in_a_notebook(pps):
    html = pps._repr_html_()
    assert html.startswith("<p><b>PlausiblePatients</b>: 200 PPs by 'sample' from")
    assert "<th>p1</th>" in html and "<th>Y1</th>" in html and html.count("<tr>") == 20 and "180 more rows" in html
    assert repr(pps).startswith("PlausiblePatients(200 PPs by 'sample'")
    target = vpop.Target.from_summary(TARGET)
    vps = vpop.select(pps, target, seed=0)
    html = vps._repr_html_()
    assert f"<b>VirtualPopulation</b>: {vps.n_vp} of 200 PPs" in html and "<th>ks_statistic</th>" in html
    assert "<th>inclusion_probability</th>" in html
    w = vpop.weight(pps, target, method="binned")
    html = w._repr_html_()
    assert "<b>PrevalenceWeights</b>: 200 PPs, 'binned', ESS" in html and "<th>weighted_mean</th>" in html
    assert "<th>weight</th>" in html
    trial = vpop.simulate_trial(qsp.Model.from_antimony(TUMOUR), pd.DataFrame({"g": [0.1, -0.5, 0.3, -0.2]}),
                                {"a": ([], {}), "b": ([], {"kill": 1.0})}, tumour="V", t_end=1, points=11)
    html = trial._repr_html_()
    assert html.startswith("<p><b>TrialResult</b>: 8 patient-arms, 0 failed; response a: 25.0%, b: 100.0%")
    assert "<th>endpoint</th>" in html and "<th>fisher_p</th>" in html
    assert np.isclose(trial.rates.query("endpoint == 'response'")["rate"], [0.25, 1.0]).all()


def test_absurd_selection_draws_are_refused(pps):
    with pytest.raises(qsp.InputError, match=r"n_repeats=1000000000, n_final=100, k=5 \(200 plausible patients\) "
                                             r"needs about"):
        vpop.select(pps, vpop.Target.from_summary(TARGET), n_repeats=10**9)
    with pytest.raises(qsp.QSPError, match="n_final= must be a positive integer"):
        vpop.select(pps, vpop.Target.from_summary(TARGET), n_final=0)


def test_a_text_cell_in_observations_is_refused_not_dropped(tmp_path):
    import pandas as pd

    from qsp.vpop import Target

    f = tmp_path / "obs.csv"
    f.write_text("IL6\n1\n2\nn/a?\n4\n5\n6\n")
    with pytest.raises(qsp.QSPError, match="IL6"):
        Target.from_file(f)
    with pytest.raises(qsp.QSPError, match="IL6"):
        Target.from_observations(pd.DataFrame({"IL6": ["1", "2", "x", "4", "5", "6"]}))
    ok = Target.from_observations(pd.DataFrame({"IL6": [1, 2, None, 4, 5, 6]}))
    assert len(ok.observations) == 5  # the empty cell is a missing value, dropped
