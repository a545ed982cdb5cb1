"""Overrides that initial assignments read: re-evaluated in Python must equal libRoadRunner regenerating."""

from __future__ import annotations

import numpy as np
import pytest

import qsp

CHAIN = """
function hill(x, k, n)
  x^n / (k^n + x^n)
end

model chain
  compartment C = V0 * 2
  V0 = 1.5
  k = 0.4
  x = 2 * k
  R := k * 3 + time
  z = R + 1
  y = x + hill(z, 2, 2) + piecewise(1, k > 0.5, 0) + log(10, 100) + root(2, 16) + exp(0) * pi / pi
  species S in C, P in C
  S = x / 10
  substanceOnly species Q in C
  Q = y * 2
  P = 1
  J1: S -> P; k * S
  J2: Q -> ; 0.1 * Q
end
"""


def _pair(text):
    fast = qsp.Model.from_antimony(text)
    slow = qsp.Model.from_antimony(text)
    slow._ia_plan = None  # libRoadRunner regenerates the model for init() changes instead
    assert fast._ia_plan is not None
    return fast, slow


@pytest.mark.parametrize(("params", "initial"), [({"k": 0.7}, {}), ({"V0": 3.0}, {}), ({"k": 0.2, "V0": 0.5}, {}),
                                                 ({"C": 4.0}, {}), ({"k": 0.6}, {"[S]": 0.3})])
def test_chain_of_assignments_matches_regeneration(params, initial):
    fast, slow = _pair(CHAIN)
    outputs = ["S", "[S]", "P", "Q", "x", "y", "z", "C"]
    a = fast.simulate(5, points=11, outputs=outputs, params=params, initial=initial)
    b = slow.simulate(5, points=11, outputs=outputs, params=params, initial=initial)
    for o in outputs:
        np.testing.assert_allclose(a[o], b[o], rtol=1e-10, atol=1e-14, err_msg=o)
    base = fast.simulate(5, points=11, outputs=outputs)  # nothing leaks into the next call
    ref = qsp.Model.from_antimony(CHAIN).simulate(5, points=11, outputs=outputs)
    for o in outputs:
        np.testing.assert_allclose(base[o], ref[o], rtol=1e-12, err_msg=o)


def test_overriding_an_assigned_value_wins_over_its_assignment():
    m = qsp.Model.from_antimony(CHAIN)
    res = m.simulate(1, points=2, outputs=["y", "Q", "x"], params={"k": 0.9, "y": 5.0})
    assert res["y"][0] == 5.0 and res["Q"][0] == pytest.approx(10.0) and res["x"][0] == pytest.approx(1.8)


def test_shipped_model_baselines_match_regeneration():
    fast = qsp.load_model("trimeric")
    slow = qsp.load_model("trimeric")
    slow._ia_plan = None
    doses, params = fast.regimen("q1w_3mg")
    for over in ({"B0": 0.02}, {"A0": 3.0, "KD1": 0.2}, {"B0": 0.1, "A0": 0.5}):
        a = fast.simulate(28, points=57, doses=doses, params={**params, **over}, outputs=["pct_trimer", "B", "[A]"])
        b = slow.simulate(28, points=57, doses=doses, params={**params, **over}, outputs=["pct_trimer", "B", "[A]"])
        for o in ("pct_trimer", "B", "[A]"):
            np.testing.assert_allclose(a[o], b[o], rtol=1e-8, atol=1e-14, err_msg=f"{over} {o}")


def test_unsupported_math_keeps_the_regenerating_path():
    m = qsp.Model.from_antimony("model m\n  k = 1\n  x = rateOf(k) + k\n  species S = x\n  S -> ; S\nend")
    assert m._ia_plan is None
    assert m.simulate(1, points=2, outputs=["S"], params={"k": 3.0})["S"][0] == pytest.approx(3.0)


EVENTS = """
model ev
  x = 0; y = 0; t_on = T_ON
  E1: at (time >= t_on), t0=false: x = x + 10
  E0: at (time >= 0), t0=false: y = y + 1
  species S = 1; S -> ; 0.1 * S
end
"""


@pytest.mark.parametrize(("compiled", "override", "fires_at_start"), [(5, 0, True), (0, 5, False), (5, 3, False)])
def test_override_that_flips_a_trigger_at_the_start(compiled, override, fires_at_start):
    m = qsp.Model.from_antimony(EVENTS.replace("T_ON", str(compiled)))
    for _ in range(2):  # fresh instance, then a used one
        res = m.simulate(8, points=9, outputs=["x", "y"], params={"t_on": override})
        expected = np.where(res.time >= override, 10.0, 0.0)
        if fires_at_start:
            assert res["x"][0] == 10.0
        np.testing.assert_array_equal(res["x"], expected)
        np.testing.assert_array_equal(res["y"], 1.0)  # the t = 0 event fires once, never twice
    plain = m.simulate(8, points=9, outputs=["x"])  # the override does not leak
    np.testing.assert_array_equal(plain["x"], np.where(plain.time >= compiled, 10.0, 0.0))


def test_trigger_override_that_flips_nothing_stays_on_the_fast_path():
    m = qsp.Model.from_antimony(EVENTS.replace("T_ON", "5"))
    res = m.simulate(8, points=9, outputs=["x"], params={"t_on": 2.5})
    np.testing.assert_array_equal(res["x"], np.where(res.time >= 2.5, 10.0, 0.0))
    assert not m._dirty  # no init() change, no regeneration
    # libRoadRunner settles start events at t = 0 whatever t_start: an override must give what compiling
    # the model with that value gives, here an event already true at t_start = 3 that does not fire
    late = m.simulate(8, t_start=3, points=6, outputs=["x"], params={"t_on": 2.5})
    compiled = qsp.Model.from_antimony(EVENTS.replace("T_ON", "2.5")).simulate(8, t_start=3, points=6, outputs=["x"])
    np.testing.assert_array_equal(late["x"], compiled["x"])


def test_refused_override_on_the_regenerating_path_is_one_clear_error():
    m = qsp.Model.from_antimony(CHAIN)
    m._ia_plan = None  # as for math qsp cannot evaluate
    with pytest.raises(qsp.InputError, match="cannot override 'y'"):
        m.simulate(1, points=2, outputs=["Q"], params={"y": 5.0})


def test_resized_compartment_keeps_a_concentration_set_by_an_initial_assignment():
    m = qsp.Model.from_antimony("compartment c = 1\nspecies A in c\nA0 = 2\nA = A0\nJ: A -> ; 0*A\n")
    res = m.simulate(times=[0, 1], outputs=["[A]", "A"], params={"c": 3})
    assert res["[A]"][0] == pytest.approx(2.0) and res["A"][0] == pytest.approx(6.0)


RATE_RULE = """
model growth
  x1_0 = 50
  lambda = 0.1
  x1' = lambda * x1
  x1 = x1_0 * 2
  w := x1 / 10
end
"""


@pytest.mark.parametrize("params", [{"x1_0": 80.0}, {"x1_0": 20.0, "lambda": 0.2}])
def test_initial_assignment_to_a_rate_rule_variable_without_regenerating(params):
    fast, slow = _pair(RATE_RULE)
    a = fast.simulate(10, points=11, outputs=["x1", "w"], params=params)
    b = slow.simulate(10, points=11, outputs=["x1", "w"], params=params)
    np.testing.assert_allclose(a["x1"], b["x1"], rtol=1e-10)
    lam = params.get("lambda", 0.1)
    np.testing.assert_allclose(a["x1"], 2 * params["x1_0"] * np.exp(lam * np.linspace(0, 10, 11)), rtol=1e-4)
    np.testing.assert_allclose(a["w"], a["x1"] / 10, rtol=1e-12)
