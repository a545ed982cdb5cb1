"""The eradication rule of ``tritherapy`` (``cure_on``): every number docs/models/tritherapy.md states for the rule
on and off, and what the rule is (it stops growth once TV_tot < V_cure after t_cure_start; nothing else).

Population: the 200 animals of the model page, S_L = 8.89 exp(0.696 z), z from ``numpy.random.default_rng(1)``.
Responder: TV_tot <= 10 uL on day 57 (50 days after the first treatment; Kosinsky 2018's definition).

Tolerances. Responder rates are counts of 200 animals and are pinned exactly. The simulations run at rtol 1e-8,
where no TV_tot of the 2400 (animal, regimen) pairs on day 57 differs from an rtol 1e-10 run by more than 3e-4
(relative), while the animal nearest the 10 uL threshold in any arm is 5e-4 away from it: no animal can change
side by integration error. Typical-animal volumes are pinned to the rounding of the page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import ensemble

RTOL = 1e-8
EVAL_DAY = 57.0
LONG_DAY = 150.0
GRID = np.round(np.arange(0.0, EVAL_DAY + 0.125, 0.25), 2)  # days; 0.25-day steps to the evaluation day
REGIMENS = ["untreated", "rt_5x2gy", "anti_pdl1", "rt_anti_pdl1_concurrent", "rt_anti_pdl1_sequential",
            "rt_anti_pdl1_sequential_d19", "rt_10gy", "rt_10gy_anti_pdl1", "ddri", "rt_ddri", "tritherapy",
            "tritherapy_prolonged_ddri"]
#: docs/models/tritherapy.md, "The eradication rule": responders (%) on day 57, rule on / rule off
RATES = {"untreated": (0.0, 0.0), "rt_5x2gy": (8.5, 8.5), "anti_pdl1": (12.0, 12.0),
         "rt_anti_pdl1_concurrent": (65.5, 19.0), "rt_anti_pdl1_sequential": (54.5, 46.5),
         "rt_anti_pdl1_sequential_d19": (31.5, 31.5), "rt_10gy": (36.0, 28.0), "rt_10gy_anti_pdl1": (93.0, 8.0),
         "ddri": (0.0, 0.0), "rt_ddri": (21.0, 21.0), "tritherapy": (83.5, 27.5),
         "tritherapy_prolonged_ddri": (67.5, 36.0)}
COMBINATIONS = ["rt_anti_pdl1_concurrent", "rt_anti_pdl1_sequential", "rt_anti_pdl1_sequential_d19", "rt_10gy",
                "rt_10gy_anti_pdl1", "tritherapy", "tritherapy_prolonged_ddri"]


@pytest.fixture(scope="module")
def model():
    return qsp.load_model("tritherapy")


@pytest.fixture(scope="module")
def animals():
    return pd.DataFrame({"S_L": 8.89 * np.exp(0.696 * np.random.default_rng(1).standard_normal(200))})


def _volumes(model, animals, times, cure_on) -> pd.DataFrame:
    """TV_tot (uL): one row per (regimen, animal), one column per time (day)."""
    res = ensemble.run(model, animals, regimens={r: r for r in REGIMENS}, times=times, trajectories=["TV_tot"],
                       params={"cure_on": cure_on}, rtol=RTOL)
    assert res.n_failed == 0
    wide = res.trajectories.pivot(index="task", columns="time", values="TV_tot")
    return res.table.set_index("task")[["regimen", "sample"]].join(wide).set_index(["regimen", "sample"])


@pytest.fixture(scope="module")
def rule_on(model, animals):
    return _volumes(model, animals, [0.0, EVAL_DAY], 1)


@pytest.fixture(scope="module")
def rule_off(model, animals):
    return _volumes(model, animals, [*GRID, LONG_DAY], 0)


def percent(volumes: pd.DataFrame, day: float) -> dict[str, float]:
    return {r: float(v) for r, v in ((volumes[day] <= 10.0).groupby(level="regimen").mean() * 100).items()}


def typical(model, regimen, times, cure_on):
    doses, p = model.regimen(regimen)
    return np.asarray(model.simulate(max(times), times=times, doses=doses, params={**p, "cure_on": cure_on},
                                     outputs=["TV_tot"], rtol=RTOL)["TV_tot"])


# ----------------------------------------------------------------------------------------- what the rule is
def test_the_rule_is_off_by_default_and_the_metadata_responder_turns_it_on(model):
    values = model.parameters["value"]
    assert (values["cure_on"], values["V_cure"], values["t_cure_start"]) == (0.0, 10.0, 7.0)
    rule = model.metadata["responder"]
    assert rule["params"] == {"cure_on": 1}
    assert (rule["output"], rule["threshold"], rule["time"]) == ("TV_tot", 10.0, EVAL_DAY)


def test_the_rule_changes_nothing_until_the_tumour_first_falls_below_v_cure(model):
    """Typical animal, concurrent RT + anti-PD-L1: identical until day 30.39 (first TV_tot < 10 uL); afterwards,
    with the rule on, the tumour only shrinks; without it, it reaches a nadir and regrows."""
    t = np.round(np.arange(0.0, 100.001, 0.01), 2)
    off, on = typical(model, "rt_anti_pdl1_concurrent", t, 0), typical(model, "rt_anti_pdl1_concurrent", t, 1)
    first = t[np.argmax((t > 7) & (off < 10.0))]
    assert first == pytest.approx(30.39, abs=0.005)
    before = t < first
    assert on[before] == pytest.approx(off[before], rel=1e-6)
    after = t > first
    assert np.all(np.diff(on[after]) <= 1e-12)
    assert off[t == 100.0][0] > 20.0 and on[t == 100.0][0] < 0.05


def test_untreated_and_rt_alone_never_reach_v_cure_so_the_rule_does_nothing(model):
    t = np.arange(0.0, 60.001, 0.5)
    for regimen in ("untreated", "rt_5x2gy", "rt_anti_pdl1_sequential_d19"):
        assert typical(model, regimen, t, 1) == pytest.approx(typical(model, regimen, t, 0), rel=1e-9)


# ----------------------------------------------------------------------------------------- population, day 57
def test_population_responders_rule_on_and_off(rule_on, rule_off):
    got_on, got_off = percent(rule_on, EVAL_DAY), percent(rule_off, EVAL_DAY)
    assert got_on == pytest.approx({r: v[0] for r, v in RATES.items()}, abs=1e-9)
    assert got_off == pytest.approx({r: v[1] for r, v in RATES.items()}, abs=1e-9)


def test_which_orderings_survive_without_the_rule(rule_on, rule_off):
    on, off = percent(rule_on, EVAL_DAY), percent(rule_off, EVAL_DAY)
    for rates in (on, off):  # hold either way
        assert rates["tritherapy"] > rates["rt_anti_pdl1_concurrent"]
        assert rates["rt_ddri"] > rates["rt_5x2gy"] and rates["ddri"] == rates["untreated"] == 0.0
        assert rates["rt_anti_pdl1_sequential"] > rates["rt_anti_pdl1_sequential_d19"]
    # reverse without the rule
    assert on["rt_anti_pdl1_concurrent"] > on["rt_anti_pdl1_sequential"]
    assert off["rt_anti_pdl1_concurrent"] < off["rt_anti_pdl1_sequential"]
    assert on["tritherapy"] > on["tritherapy_prolonged_ddri"]
    assert off["tritherapy"] < off["tritherapy_prolonged_ddri"]
    assert on["rt_10gy_anti_pdl1"] > on["rt_10gy"] and off["rt_10gy_anti_pdl1"] < off["rt_10gy"]


def test_rule_on_responder_is_the_best_response_without_the_rule(rule_on, rule_off):
    """Animal by animal: TV_tot(57) <= 10 with the rule on  <=>  without it, TV_tot <= 10 at some time in (7, 57]
    (minimum over the 0.25-day grid)."""
    window = [d for d in GRID if 7.0 < d <= EVAL_DAY]
    reached = rule_off[window].min(axis=1) <= 10.0
    responder = rule_on[EVAL_DAY] <= 10.0
    pd.testing.assert_series_equal(reached.sort_index(), responder.sort_index(), check_names=False)


def test_rule_on_and_off_rates_agree_until_the_first_responders_regrow(rule_off):
    """Up to day 47 no animal that has fallen to 10 uL is above it again, in any of the four compared arms, so the
    rule-off rate equals the rule-on rate on every day up to 47; by day 57 they differ in all four."""
    arms = ["rt_anti_pdl1_concurrent", "rt_anti_pdl1_sequential", "tritherapy", "tritherapy_prolonged_ddri"]
    sub = rule_off.loc[arms]
    for day in [d for d in GRID if 7.0 < d <= 47.0]:
        window = [d for d in GRID if 7.0 < d <= day]
        assert ((sub[day] <= 10.0) == (sub[window].min(axis=1) <= 10.0)).all(), day
    ever = sub[[d for d in GRID if 7.0 < d <= EVAL_DAY]].min(axis=1) <= 10.0
    now = sub[EVAL_DAY] <= 10.0
    assert all(((ever != now).groupby(level="regimen").sum() > 0)[arms])


def test_without_the_rule_the_long_run_does_not_depend_on_the_combination(rule_off):
    """Day 150, rule off: the same 56 animals (28 %) are at or below 10 uL in each of seven combination arms."""
    below = rule_off[LONG_DAY] <= 10.0
    sets = {r: set(below.loc[r][below.loc[r]].index) for r in COMBINATIONS}
    first = sets[COMBINATIONS[0]]
    assert len(first) == 56 and all(s == first for s in sets.values())
    # ... and each of them is at the same volume in every arm: a state that no longer remembers the treatment
    v150 = rule_off[LONG_DAY].unstack("regimen").loc[sorted(first), COMBINATIONS]
    assert (v150.max(axis=1) / v150.min(axis=1) - 1).max() < 0.01
    day150 = percent(rule_off, LONG_DAY)
    assert {r: day150[r] for r in ("rt_5x2gy", "anti_pdl1", "rt_ddri")} == {"rt_5x2gy": 10.0, "anti_pdl1": 12.0,
                                                                          "rt_ddri": 23.0}


# ----------------------------------------------------------------------------------------- typical animal
@pytest.mark.parametrize("regimen, off, on", [
    ("rt_anti_pdl1_concurrent", 13.65, 0.071),
    ("rt_anti_pdl1_sequential", 9.32, 0.185),
    ("rt_anti_pdl1_sequential_d19", 1696.5, 1696.5),
    ("rt_5x2gy", 1764.4, 1764.4),
    ("tritherapy", 14.12, 0.054),
    ("tritherapy_prolonged_ddri", 13.26, 0.111),
])
def test_typical_animal_on_the_evaluation_day(model, regimen, off, on):
    got_off, got_on = typical(model, regimen, [0, EVAL_DAY], 0)[-1], typical(model, regimen, [0, EVAL_DAY], 1)[-1]
    digits = 0.05 if off > 100 else 0.005
    assert got_off == pytest.approx(off, abs=digits)
    assert got_on == pytest.approx(on, abs=0.0005 if on < 1 else digits)


def _crossings(t, a, b, after):
    d = a - b
    i = np.where((t[:-1] >= after) & (np.sign(d[:-1]) != np.sign(d[1:])))[0]
    return [float(t[k] + (t[k + 1] - t[k]) * d[k] / (d[k] - d[k + 1])) for k in i]


def test_typical_animal_ordering_against_the_day(model):
    """Rule off: concurrent is smaller than sequential from day 8 to day 43.74, larger afterwards (to day 150); the
    short DDRi course is smaller than the prolonged one until day 41.60 and again from 60.23 to 123.20. Rule on:
    concurrent < sequential on every day from 8 to 150, and short < prolonged from day 13."""
    t = np.round(np.arange(0.0, 150.001, 0.01), 2)
    runs = {(r, c): typical(model, r, t, c) for r in ("rt_anti_pdl1_concurrent", "rt_anti_pdl1_sequential",
                                                      "tritherapy", "tritherapy_prolonged_ddri") for c in (0, 1)}
    conc_seq = _crossings(t, runs["rt_anti_pdl1_concurrent", 0], runs["rt_anti_pdl1_sequential", 0], 8.0)
    assert conc_seq == pytest.approx([43.74], abs=0.005)
    early = (t >= 8.0) & (t < 43.74)
    assert np.all(runs["rt_anti_pdl1_concurrent", 0][early] < runs["rt_anti_pdl1_sequential", 0][early])
    short_long = _crossings(t, runs["tritherapy", 0], runs["tritherapy_prolonged_ddri", 0], 13.0)
    assert short_long == pytest.approx([41.60, 60.23, 123.20], abs=0.005)
    late = t >= 8.0
    assert np.all(runs["rt_anti_pdl1_concurrent", 1][late] < runs["rt_anti_pdl1_sequential", 1][late])
    late = t >= 13.0
    assert np.all(runs["tritherapy", 1][late] < runs["tritherapy_prolonged_ddri", 1][late])


def test_without_the_rule_every_controlled_arm_settles_at_the_same_volume(model):
    """Typical animal, rule off: 23.45 uL on day 1000 (and 3000) whatever the combination that brought it there."""
    for regimen in ("rt_anti_pdl1_concurrent", "rt_anti_pdl1_sequential", "tritherapy", "tritherapy_prolonged_ddri",
                    "rt_10gy_anti_pdl1"):
        v = typical(model, regimen, [0, 1000, 3000], 0)
        assert v[1:] == pytest.approx([23.45, 23.45], abs=0.005), regimen


@pytest.mark.parametrize("regimen, nadir, day", [
    ("rt_anti_pdl1_concurrent", 2.95, 38.65),
    ("rt_anti_pdl1_sequential", 3.25, 46.96),
    ("tritherapy", 2.67, 38.15),
    ("tritherapy_prolonged_ddri", 3.27, 41.11),
])
def test_typical_animal_nadir_without_the_rule(model, regimen, nadir, day):
    """Best response of the typical animal, rule off: depth (uL) and day of the smallest TV_tot after day 7."""
    t = np.round(np.arange(7.0, 80.001, 0.01), 2)
    v = typical(model, regimen, np.r_[0.0, t], 0)[1:]
    assert v.min() == pytest.approx(nadir, abs=0.005) and t[v.argmin()] == pytest.approx(day, abs=0.011)
