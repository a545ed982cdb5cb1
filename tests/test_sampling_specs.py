"""Distribution specs of parameter ranges: what each key means, what is refused, and that samples follow them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

import qsp
from qsp.catalog import check_metadata
from qsp.ensemble import sampling

N = 200_000


def below(x: np.ndarray, value: float) -> float:
    return float(np.mean(x < value))


def within_sampling_error(frac: float, p: float, n: int = N) -> bool:
    """Empirical CDF at a stated quantile within 4 binomial standard errors of its probability."""
    return abs(frac - p) <= 4 * math.sqrt(p * (1 - p) / n)


# ------------------------------------------------------------------------------------------ meaning of the keys
@pytest.mark.parametrize("method", ["random", "lhs"])
def test_lognormal_by_percentiles_reproduces_them(method):
    x = sampling.sample_parameters({"S": {"distribution": "lognormal", "p10": 1.77, "p90": 22.63}}, N, seed=3,
                                   method=method)["S"].to_numpy()
    assert within_sampling_error(below(x, 1.77), 0.10) and within_sampling_error(below(x, 22.63), 0.90)
    spec = sampling.check_spec("S", {"distribution": "lognormal", "p10": 1.77, "p90": 22.63})
    assert spec["median"] == pytest.approx(math.sqrt(1.77 * 22.63)) and round(spec["sd_log"], 2) == 0.99


def test_lognormal_by_median_and_sd_log():
    x = sampling.sample_parameters({"S": {"distribution": "lognormal", "median": 8.89, "sd_log": 0.696}}, N,
                                   seed=4)["S"].to_numpy()
    p10, p90 = 8.89 * math.exp(-0.696 * stats.norm.ppf(0.9)), 8.89 * math.exp(0.696 * stats.norm.ppf(0.9))
    assert (round(p10, 2), round(p90, 1)) == (3.64, 21.7)
    assert within_sampling_error(below(x, p10), 0.10) and within_sampling_error(below(x, p90), 0.90)
    assert within_sampling_error(below(x, 8.89), 0.50)
    assert np.std(np.log(x)) == pytest.approx(0.696, rel=0.01)


def test_other_percentiles_and_median_as_p50():
    a = sampling.check_spec("a", {"distribution": "lognormal", "median": 2.0, "p97.5": 8.0})
    assert a["median"] == pytest.approx(2.0) and a["sd_log"] == pytest.approx(math.log(4) / stats.norm.ppf(0.975))
    b = sampling.check_spec("b", {"distribution": "lognormal", "p61": 0.8, "p94": 2.68})
    x = sampling.ppf(b, np.array([0.61, 0.94]))
    assert x == pytest.approx([0.8, 2.68])


def test_normal_by_mean_sd_and_by_percentiles():
    x = sampling.sample_parameters({"v": {"distribution": "normal", "mean": 4.0, "sd": 1.0}}, N, seed=5)["v"]
    assert x.mean() == pytest.approx(4.0, abs=0.01) and x.std() == pytest.approx(1.0, rel=0.01)
    spec = sampling.check_spec("v", {"distribution": "normal", "p5": 1.0, "p95": 7.0})
    assert spec["mean"] == pytest.approx(4.0) and spec["sd"] == pytest.approx(3.0 / stats.norm.ppf(0.95))
    y = sampling.sample_parameters({"v": spec}, N, seed=6)["v"].to_numpy()
    assert within_sampling_error(below(y, 1.0), 0.05) and within_sampling_error(below(y, 7.0), 0.95)


def test_uniform_and_loguniform_keep_low_high():
    ranges = {"u": {"low": 1, "high": 3}, "lu": {"low": 0.1, "high": 10, "distribution": "loguniform"}}
    assert sampling.check_ranges(ranges) == {"u": {"distribution": "uniform", "low": 1.0, "high": 3.0},
                                             "lu": {"distribution": "loguniform", "low": 0.1, "high": 10.0}}
    x = sampling.sample_parameters(ranges, N, seed=7)
    assert x.u.between(1, 3).all() and within_sampling_error(below(x.u.to_numpy(), 1.5), 0.25)
    assert x.lu.between(0.1, 10).all() and within_sampling_error(below(x.lu.to_numpy(), 1.0), 0.5)


def test_canonical_form_is_a_valid_spec_and_descriptions_are_allowed():
    spec = {"distribution": "lognormal", "p10": 1.0, "p90": 9.0, "description": "from a table"}
    canon = sampling.check_spec("k", spec)
    assert set(canon) == {"distribution", "median", "sd_log"}
    assert sampling.check_spec("k", canon) == canon
    assert sampling.describe(canon) == "lognormal(median=3, sd_log=0.8573)"


def test_bounds_of_unbounded_distributions_are_mean_pm_3_sd():
    spec = sampling.check_spec("k", {"distribution": "lognormal", "median": 2.0, "sd_log": 0.5})
    lo, hi = sampling.bounds(spec)
    assert (lo, hi) == pytest.approx((2.0 * math.exp(-1.5), 2.0 * math.exp(1.5)))
    assert sampling.bounds({"distribution": "normal", "mean": 1.0, "sd": 2.0}) == pytest.approx((-5.0, 7.0))
    assert sampling.bounds({"distribution": "uniform", "low": 1.0, "high": 2.0}) == (1.0, 2.0)
    box = sampling.as_bounds({"a": {"distribution": "lognormal", "median": 2.0, "sd_log": 0.5},
                              "b": {"low": 0.0, "high": 1.0}})
    assert box["a"]["scale"] == "log" and box["b"] == {"low": 0.0, "high": 1.0, "scale": "linear"}
    with pytest.raises(qsp.QSPError, match="tail"):
        sampling.bounds(spec, tail=0.7)


def test_sensitivity_problem_maps_the_new_specs():
    from qsp.sensitivity import UNBOUNDED_TAIL, Problem

    p = Problem({"k": {"distribution": "lognormal", "median": 2.0, "sd_log": 0.5}})
    assert sampling.TAIL == UNBOUNDED_TAIL  # sensitivity designs and sampling.bounds cut the same tails
    v = p.values(np.array([[0.5], [0.0], [1.0]]))["k"].to_numpy()
    assert v == pytest.approx([2.0, *sampling.bounds(p.ranges["k"], UNBOUNDED_TAIL)])


# ------------------------------------------------------------------------------------------ refusals
BAD = [
    ({"distribution": "lognormal", "low": 1.77, "high": 22.63},
     "parameter 'x': key 'low' does not apply to a lognormal"),
    ({"distribution": "normal", "low": 1, "high": 2}, "key 'low' does not apply to a normal"),
    ({"distribution": "lognormal", "median": 2.0}, "key 'sd_log' is missing"),
    ({"distribution": "normal", "sd": 2.0}, "key 'mean' is missing"),
    ({"distribution": "uniform", "low": 1.0}, "key 'high' is missing"),
    ({"distribution": "lognormal", "median": 2, "sd_log": 0.5, "p90": 5}, "key 'p90' over-determines"),
    ({"distribution": "lognormal", "sd_log": 0.5, "p90": 5}, "key 'sd_log' cannot be combined with percentiles"),
    ({"distribution": "normal", "mean": 0, "p90": 5}, "key 'mean' cannot be combined with percentiles"),
    ({"distribution": "lognormal", "p10": 1, "p50": 2, "p90": 5}, "exactly two percentiles. Got p10, p50, p90"),
    ({"distribution": "lognormal", "p90": 5}, "exactly two percentiles. Got p90"),
    ({"distribution": "lognormal", "median": 2, "p50": 3}, "name the same percentile"),
    ({"distribution": "lognormal", "p10": 5, "p90": 1}, "'p10' (5) must be below 'p90' (1)"),
    ({"distribution": "lognormal", "p0": 1, "p90": 5}, "'p0' must name a percent between 0 and 100"),
    ({"distribution": "lognormal", "p10": -1, "p90": 5}, "lognormal percentiles must be > 0"),
    ({"distribution": "lognormal", "median": -1, "sd_log": 0.5}, "'median' must be > 0"),
    ({"distribution": "normal", "mean": 1, "sd": 0}, "'sd' must be > 0"),
    ({"distribution": "uniform", "low": 2, "high": 1}, "need low < high"),
    ({"distribution": "loguniform", "low": 0, "high": 1}, "loguniform needs low > 0"),
    ({"distribution": "lognormal", "median": "2", "sd_log": 0.5}, "'median' must be a number"),
    ({"distribution": "normal", "mean": float("nan"), "sd": 1}, "'mean' must be finite"),
    ({"distribution": "gamma", "low": 1, "high": 2}, "distribution must be one of"),
    ({"low": 1, "high": 2, "sigma": 3}, "key 'sigma' does not apply to a uniform"),
    ({"median": 2, "sd_log": 0.5}, "key 'median' does not apply to a uniform"),
    ([1, 2], "its range must be a table"),
]


@pytest.mark.parametrize("spec, message", BAD, ids=[m for _, m in BAD])
def test_bad_specs_are_refused_in_one_line(spec, message):
    with pytest.raises(qsp.InputError) as exc:
        sampling.sample_parameters({"x": spec}, 5)
    assert message in str(exc.value) and "\n" not in str(exc.value) and "'x'" in str(exc.value)


def test_toml_spec_is_checked_on_read(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('n = 20000\nseed = 2\n[parameters.S_L]\ndistribution = "lognormal"\np10 = 1.77\np90 = 22.63\n'
                    '[parameters.r]\nlow = 0.3\nhigh = 0.5\n[parameters.q]\ndistribution = "normal"\n'
                    '"p2.5" = 1.0\n"p97.5" = 3.0\n')
    spec = sampling.read_spec(good)
    assert spec["parameters"]["q"]["mean"] == pytest.approx(2.0)
    x = sampling.samples_from_spec(spec)
    assert within_sampling_error(below(x.S_L.to_numpy(), 22.63), 0.90, 20000)
    bad = tmp_path / "bad.toml"
    bad.write_text('[parameters.S_L]\ndistribution = "lognormal"\nlow = 1.77\nhigh = 22.63\n')
    with pytest.raises(qsp.InputError, match=r"^spec file '.*bad.toml': parameter 'S_L': key 'low' does not apply"):
        sampling.read_spec(bad)


# ------------------------------------------------------------------------------------------ shipped metadata
@pytest.mark.parametrize("name", qsp.list_models())
def test_shipped_ranges_validate_and_sample(name):
    meta = qsp.load_model(name).metadata
    ranges = sampling.check_ranges(meta["parameter_ranges"])
    x = sampling.sample_parameters(ranges, 2000, seed=1, method="lhs")
    for pid, spec in ranges.items():
        lo, hi = sampling.bounds(spec, tail=1e-6)
        assert x[pid].between(lo, hi).all(), pid


def test_tritherapy_s_l_is_kosinsky_population_distribution():
    spec = sampling.check_ranges(qsp.load_model("tritherapy").metadata["parameter_ranges"])["S_L"]
    assert spec == {"distribution": "lognormal", "median": 8.89, "sd_log": 0.696}


def test_bad_metadata_is_refused_on_load(tmp_path):
    meta = {"parameter_ranges": {"S_L": {"distribution": "lognormal", "low": 1.77, "high": 22.63}}}
    with pytest.raises(qsp.ModelError, match=r"^m.json: parameter_ranges: parameter 'S_L': key 'low'"):
        check_metadata(meta, where="m.json")
    sets = [({"a": {"params": {"k": 1}, "provenance": ["x"]}}, "parameter set 'a' has no 'description'"),
            ({"a": {"description": "d", "params": {"k": "1"}, "provenance": ["x"]}}, "value of 'k' must be a finite"),
            ({"a": {"description": "d", "params": {"k": 1}, "provenance": []}}, "'provenance' must be a non-empty"),
            ({"a": {"description": "d", "provenance": ["x"]}}, "parameter set 'a' has no 'params'")]
    for psets, message in sets:
        with pytest.raises(qsp.ModelError, match=message):
            check_metadata({"parameter_sets": psets}, where="m.json")
    check_metadata(json.loads(json.dumps({"parameter_sets": {"a": {"description": "d", "params": {"k": 1.5},
                                                                   "provenance": ["x"], "notes": {"k": "why"}}}})))


# (model, parameter) -> fold either way around the default value that the range description states
FOLDS = {("cd3_crs", "k_act"): 5, ("cd3_crs", "k_des"): 5, ("cd3_crs", "EC50_tum"): 5, ("cd3_crs", "EC50_hlt"): 5,
         ("cd3_crs", "T_tum0"): 10, ("cd3_crs", "T_hlt0"): 10, ("cd3_crs", "p_IL6"): 3,
         ("pembro_bev", "k21"): 2, ("pembro_bev", "k22"): 2, ("pembro_bev", "k3"): 10,
         ("trimeric", "B0"): 10, ("trimeric", "k_T"): 3, ("trimeric", "kintAB"): 3,
         ("tritherapy", "S_R"): 2, ("tritherapy", "Kpdl"): 2}


@pytest.mark.parametrize("name, pid", sorted(FOLDS))
def test_stated_folds_around_the_defaults(name, pid):
    m = qsp.load_model(name)
    spec = sampling.check_ranges(m.metadata["parameter_ranges"])[pid]
    value = m.parameters.loc[pid, "value"]
    assert (spec["low"], spec["high"]) == pytest.approx((value / FOLDS[name, pid], value * FOLDS[name, pid]))


def test_stated_widths_of_the_other_ranges():
    tri = sampling.check_ranges(qsp.load_model("tritherapy").metadata["parameter_ranges"])
    assert (tri["kLN"]["low"], tri["kLN"]["high"]) == pytest.approx((279 * math.exp(-0.32), 279 * math.exp(0.32)),
                                                                    abs=0.05)  # -/+4 RSE (8 %) in log
    assert (tri["alpha"]["low"], tri["alpha"]["high"]) == pytest.approx((0.146 * 0.73, 0.146 * 1.27))  # 3 RSE (9 %)
    assert (tri["r"]["low"], tri["r"]["high"]) == pytest.approx((0.4 * 0.75, 0.4 * 1.25))
    tm = sampling.check_ranges(qsp.load_model("trimeric").metadata["parameter_ranges"])
    assert [round(math.log(2) / tm["kdegA"][k], 2) for k in ("high", "low")] == [0.46, 3.47]
    cd3 = sampling.check_ranges(qsp.load_model("cd3_crs").metadata["parameter_ranges"])
    assert (cd3["thalf_rec"]["low"], cd3["thalf_rec"]["high"]) == (24.0, 4 * 168.0)  # 1 day to 4 weeks
