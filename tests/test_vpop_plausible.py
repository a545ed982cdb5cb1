"""Plausible patients on a model whose outputs are closed-form functions of its parameters."""

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import vpop

ANALYTIC = """model analytic
  p1 = 1; p2 = 1; p3 = 1
  Y1 := p1 * p2
  Y2 := p1 / p3
  species x = 0
end"""

PARAMS = {"p1": {"low": 0.1, "high": 10.0}, "p2": {"low": 0.1, "high": 10.0}, "p3": {"low": 0.5, "high": 2.0}}
OUTPUTS = {"Y1": {"metric": "final:Y1", "low": 2.0, "high": 3.0},
           "Y2": {"metric": "final:Y2", "low": 0.5, "high": 4.0, "scale": "log"}}


@pytest.fixture(scope="module")
def problem():
    return vpop.PlausibleProblem(qsp.Model.from_antimony(ANALYTIC), PARAMS, OUTPUTS, t_end=1, points=2)


def test_flat_bottom_is_zero_inside_and_quadratic_outside():
    g = vpop.flat_bottom([[2.5], [2.0], [3.0], [4.0], [np.nan]], [2.0], [3.0])
    # outside: ((4 - 2.5) / 0.5)^2 - 1 = 8
    assert g.tolist()[:4] == [0.0, 0.0, 0.0, pytest.approx(8.0)] and np.isinf(g[4])
    glog = vpop.flat_bottom([[100.0]], [1.0], [10.0], ["log"])  # log10: centre 0.5, half 0.5 -> (1.5/0.5)^2 - 1
    assert glog[0] == pytest.approx(8.0)


def test_bounds_map_log_and_linear_and_never_leave_the_box():
    b = vpop.ParameterBounds.from_mapping({"a": {"low": 1.0, "high": 100.0}, "c": {"low": -1.0, "high": 1.0}})
    assert b.scales == ("log", "linear")
    x = b.to_values(np.array([[0.5, 0.5], [-3.0, 7.0]]))
    assert x[0] == pytest.approx([10.0, 0.0]) and x[1].tolist() == [1.0, 1.0]
    assert b.to_unit(x[:1])[0] == pytest.approx([0.5, 0.5])
    with pytest.raises(qsp.QSPError, match="log scale needs low > 0"):
        vpop.ParameterBounds.from_mapping({"a": {"low": 0.0, "high": 1.0, "scale": "log"}})


@pytest.mark.parametrize("method", ["sample", "optimize", "mh"])
def test_generators_return_only_plausible_points_inside_the_bounds(problem, method):
    pps = vpop.generate(problem, 150, method=method, seed=3, max_simulations=20000)
    t = pps.table
    assert len(pps) == 150
    for pid, spec in PARAMS.items():
        assert t[pid].between(spec["low"], spec["high"]).all()
    # outputs recomputed from the closed forms, and all inside their bounds
    assert t["Y1"].to_numpy() == pytest.approx((t.p1 * t.p2).to_numpy(), rel=1e-9)
    assert t["Y2"].to_numpy() == pytest.approx((t.p1 / t.p3).to_numpy(), rel=1e-9)
    assert t["Y1"].between(2.0, 3.0).all() and t["Y2"].between(0.5, 4.0).all()
    assert pps.n_simulations >= 150 and pps.yield_ == pytest.approx(150 / pps.n_simulations)
    assert pps.seconds_per_pp > 0 and not t.duplicated(["p1", "p2", "p3"]).any()


def _acceptance_probability() -> float:
    """P(every output in bounds) for uniform draws of the log10 box, as a one-dimensional integral.

    With a = log10 p1 ~ U(-1, 1), b = log10 p2 ~ U(-1, 1), c = log10 p3 ~ U(log10 0.5, log10 2):
    Y1 in [2, 3] <=> b in [log10 2 - a, log10 3 - a]; Y2 in [0.5, 4] <=> c in [a - log10 4, a - log10 0.5].
    """
    from scipy.integrate import quad

    def overlap(lo, hi, a_lo, a_hi):
        return max(0.0, min(hi, a_hi) - max(lo, a_lo))

    lg = np.log10
    c_lo, c_hi = lg(0.5), lg(2.0)

    def integrand(a):
        pb = overlap(lg(2) - a, lg(3) - a, -1.0, 1.0) / 2.0
        pc = overlap(a - lg(4), a - lg(0.5), c_lo, c_hi) / (c_hi - c_lo)
        return pb * pc / 2.0

    return quad(integrand, -1.0, 1.0, points=[lg(2), lg(3), c_lo + lg(4), c_hi + lg(4), c_lo + lg(0.5)],
                limit=200)[0]


def test_sample_and_accept_yield_per_attempt_is_the_acceptance_probability(problem):
    p = _acceptance_probability()  # 0.0397
    pps = vpop.generate(problem, 400, method="sample", seed=7, batch_size=500, max_simulations=40000)
    assert len(pps) == 400 and pps.n_attempts <= pps.n_simulations
    # n_attempts is negative binomial: relative sd of the yield about sqrt((1 - p) / 400) = 4.9 %
    assert pps.attempt_yield == pytest.approx(p, rel=0.2)
    # draws simulated after the 400th success in the last batch count as cost, not as attempts
    assert pps.n_simulations % 500 == 0 and pps.n_simulations - pps.n_attempts < 500
    s = pps.summary()
    assert s["attempt_yield"] == pytest.approx(400 / pps.n_attempts) and s["yield"] == pytest.approx(pps.yield_)
    assert s["seconds_per_pp"] == pytest.approx(pps.wall_seconds / 400)


def test_optimisation_and_mh_report_attempts(problem):
    opt = vpop.generate(problem, 60, method="optimize", seed=2, max_iter=5, max_simulations=20000)
    info = opt.info
    assert info["successful_starts"] == 60 and opt.n_attempts == 60 + info["abandoned_starts"]
    assert info["abandoned_starts"] > 0  # five moves are not always enough to reach a 4 % region
    assert opt.attempt_yield == pytest.approx(60 / opt.n_attempts) and 0 < opt.attempt_yield < 1
    mh = vpop.generate(problem, 60, method="mh", seed=2, n_chains=16)
    assert 60 <= mh.n_attempts <= mh.n_simulations < mh.n_attempts + 16
    assert mh.attempt_yield == pytest.approx(60 / mh.n_attempts) and 0 < mh.info["acceptance"] <= 1


def test_mh_scored_by_a_target_density_follows_the_target(problem):
    target = vpop.Target.from_summary({"Y1": {"distribution": "lognormal", "median": 2.05, "sd_log": 0.03}})
    flat = vpop.generate(problem, 300, method="mh", seed=4)
    scored = vpop.generate(problem, 300, method="mh", seed=4, target=target)
    # flat: PPs spread over [2, 3] (median of Y1 well above 2.2); scored: pulled onto the target near 2.05
    assert flat.table["Y1"].median() > 2.2 and scored.table["Y1"].median() < 2.15
    assert scored.table["Y1"].between(2.0, 3.0).all()
    with pytest.raises(qsp.QSPError, match="use method='mh'"):
        vpop.generate(problem, 10, method="sample", target=target)
    other = vpop.Target.from_summary({"Z": {"mean": 0, "sd": 1}})
    with pytest.raises(qsp.QSPError, match="'Z' is not an output"):
        vpop.generate(problem, 10, method="mh", target=other)
    with pytest.raises(qsp.QSPError, match="unknown option 'n_chain' for method 'mh'"):
        vpop.generate(problem, 10, method="mh", n_chain=4)


def test_optimisation_beats_sampling_on_a_narrow_region(problem):
    narrow = vpop.PlausibleProblem(problem.model, PARAMS, {"Y1": {"metric": "final:Y1", "low": 4.0, "high": 4.1},
                                                           "Y2": {"metric": "final:Y2", "low": 1.9, "high": 2.0}},
                                   t_end=1, points=2)
    opt = vpop.generate(narrow, 40, method="optimize", seed=1, max_simulations=20000)
    smp = vpop.generate(narrow, 40, method="sample", seed=1, max_simulations=20000)
    assert len(opt) == 40 and opt.yield_ > smp.yield_
    assert opt.table["Y1"].between(4.0, 4.1).all() and opt.table["Y2"].between(1.9, 2.0).all()


def test_failed_simulations_are_counted_never_returned():
    blowup = qsp.Model.from_antimony("model m\n species x = 1; k = 1\n -> x; k*x^2\nend")  # finite only for k < 1
    prob = vpop.PlausibleProblem(blowup, {"k": {"low": 0.01, "high": 3.0}},
                                 {"x1": {"metric": "final:x", "low": 1.0, "high": 1e6}}, t_end=1, points=11)
    pps = vpop.generate(prob, 30, method="sample", seed=0, max_simulations=2000)
    assert pps.n_failed > 0 and (pps.table["k"] < 1).all()
    assert pps.table["x1"].to_numpy() == pytest.approx(1 / (1 - pps.table["k"].to_numpy()), rel=1e-4)


def test_bad_input_names_the_value(problem):
    with pytest.raises(qsp.QSPError, match="method must be one of"):
        vpop.generate(problem, 10, method="ga")
    with pytest.raises(qsp.QSPError, match="n .* positive integer"):
        vpop.generate(problem, 0)
    with pytest.raises(qsp.QSPError, match="both varied and fixed"):
        vpop.PlausibleProblem(problem.model, PARAMS, OUTPUTS, fixed={"p1": 2.0})


def test_results_round_trip(problem, tmp_path):
    pps = vpop.generate(problem, 20, method="sample", seed=0)
    pps.to_parquet(tmp_path / "pps.parquet")
    back = pd.read_parquet(tmp_path / "pps.parquet")
    pd.testing.assert_frame_equal(back, pps.table, check_like=True)
    assert back.attrs["qsp.vpop"]["parameters"] == ["p1", "p2", "p3"]
    import json

    js = json.loads(pps.to_json())
    assert js["n_pp"] == 20 and len(js["rows"]) == 20
