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
