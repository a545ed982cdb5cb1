"""Global sensitivity against closed forms, through the whole pipeline (Antimony -> ensemble -> SALib).

Ishigami (a = 7, b = 0.1, x_i ~ U(-pi, pi)) and the Sobol G-function are written as models whose
output is an assignment rule of the parameters; x4 is a parameter the output does not use.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import qsp
from qsp import sensitivity

ISHIGAMI = """
model ishigami
  x1 = 0; x2 = 0; x3 = 0; x4 = 0; a = 7; b = 0.1
  Y := sin(x1) + a*sin(x2)^2 + b*x3^4*sin(x1)
end
"""
PI = math.pi
ISHIGAMI_RANGES = {f"x{i}": {"low": -PI, "high": PI, "distribution": "uniform"} for i in range(1, 5)}
# Closed form: V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2; V1 = (1 + b pi^4/5)^2 / 2; V2 = a^2/8;
# V13 = b^2 pi^8 (1/18 - 1/50).
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0, "x4": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437, "x4": 0.0}
FAST = dict(metrics=["final:Y"], t_end=1e-6, points=2)

G_A = [0.0, 1.0, 4.5, 9.0]
G_FUNCTION = "model gfun\n  x1 = 0.5; x2 = 0.5; x3 = 0.5; x4 = 0.5\n  G := " + " * ".join(
    f"(abs(4*x{i + 1} - 2) + {a})/(1 + {a})" for i, a in enumerate(G_A)) + "\nend\n"


def g_truth():
    """S1_i = V_i / V and ST_i = V_i prod_{j != i} (1 + V_j) / V with V_i = 1 / (3 (1 + a_i)^2)."""
    vi = np.array([1 / (3 * (1 + a) ** 2) for a in G_A])
    v = np.prod(1 + vi) - 1
    st = np.array([vi[i] * np.prod(np.delete(1 + vi, i)) for i in range(len(vi))]) / v
    return vi / v, st


@pytest.fixture(scope="module")
def ishigami():
    return qsp.Model.from_antimony(ISHIGAMI)


def test_ishigami_closed_form_constants():
    a, b = 7.0, 0.1
    v1, v2 = 0.5 * (1 + b * PI**4 / 5) ** 2, a**2 / 8
    v13 = b**2 * PI**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    assert [round(v1 / v, 4), round(v2 / v, 4), round((v1 + v13) / v, 4), round(v13 / v, 4)] == \
        [0.3139, 0.4424, 0.5576, 0.2437]


def test_sobol_ishigami_within_ci_with_processes_backend(ishigami):
    res = sensitivity.gsa(ishigami, "sobol", parameters=ISHIGAMI_RANGES, n=1024, seed=3,
                          backend=qsp.ensemble.ProcessBackend(2), **FAST)
    assert res.n_simulations == 1024 * 6 and res.n_failed == 0
    df = res.to_pandas().set_index(["parameter", "index"])
    for p in ISHIGAMI_S1:
        for idx, truth in (("S1", ISHIGAMI_S1[p]), ("ST", ISHIGAMI_ST[p])):
            value, conf = df.loc[(p, idx), ["value", "conf"]]
            assert abs(value - truth) <= max(conf, 1e-12), (p, idx, value, conf)
            assert abs(value - truth) < 0.05, (p, idx, value)
    # the unused parameter: exactly zero (its column never changes the output)
    assert df.loc[("x4", "S1"), "value"] == 0 and df.loc[("x4", "ST"), "value"] == 0
    # the table of docs/sensitivity.md
    shown = {("x1", "S1"): (0.301, 0.063), ("x2", "S1"): (0.453, 0.056), ("x3", "S1"): (0.006, 0.057),
             ("x1", "ST"): (0.569, 0.080), ("x2", "ST"): (0.451, 0.039), ("x3", "ST"): (0.248, 0.023)}
    for key, (value, conf) in shown.items():
        assert tuple(df.loc[key, ["value", "conf"]]) == pytest.approx((value, conf), abs=5e-4), key


def test_sobol_second_order_ishigami(ishigami):
    res = sensitivity.gsa(ishigami, "sobol", parameters=ISHIGAMI_RANGES, n=2048, seed=1, second_order=True, **FAST)
    s2 = res.indices[res.indices["index"] == "S2"].set_index(["parameter", "parameter2"])["value"]
    assert len(s2) == 6
    assert s2[("x1", "x3")] == pytest.approx(0.2437, abs=0.06)
    for pair in [("x1", "x2"), ("x2", "x3"), ("x1", "x4"), ("x2", "x4"), ("x3", "x4")]:
        assert abs(s2[pair]) < 0.06, pair


def test_sobol_g_function():
    model = qsp.Model.from_antimony(G_FUNCTION)
    ranges = {f"x{i}": {"low": 0.0, "high": 1.0} for i in range(1, 5)}
    res = sensitivity.gsa(model, "sobol", parameters=ranges, n=1024, seed=2, metrics=["final:G"], t_end=1e-6,
                          points=2)
    s1, st = g_truth()
    assert np.round(s1, 4).tolist() == [0.7165, 0.1791, 0.0237, 0.0072]
    assert np.round(st, 4).tolist() == [0.7874, 0.2423, 0.0343, 0.0105]
    # the table of docs/sensitivity.md
    assert [res.value(p, "S1") for p in ranges] == pytest.approx([0.708, 0.178, 0.025, 0.015], abs=5e-4)
    assert [res.value(p, "ST") for p in ranges] == pytest.approx([0.788, 0.241, 0.034, 0.010], abs=5e-4)
    for i, p in enumerate(ranges):
        for idx, truth in (("S1", s1[i]), ("ST", st[i])):
            value = res.value(p, idx)
            assert abs(value - truth) < 0.04, (p, idx, value, truth)


def test_morris_ranks_and_zero_for_unused_parameter(ishigami):
    res = sensitivity.gsa(ishigami, "morris", parameters=ISHIGAMI_RANGES, n=200, seed=0, **FAST)
    assert res.n_simulations == 200 * 5
    mu_star = {p: res.value(p, "mu_star") for p in ISHIGAMI_S1}
    assert mu_star["x4"] == 0 and res.value("x4", "sigma") == 0
    assert min(mu_star["x1"], mu_star["x2"], mu_star["x3"]) > 5
    # x2 enters through sin(x2)^2, symmetric: its signed effects cancel, mu << mu*
    assert abs(res.value("x2", "mu")) < 0.3 * mu_star["x2"]


def test_efast_ishigami(ishigami):
    res = sensitivity.gsa(ishigami, "efast", parameters=ISHIGAMI_RANGES, n=1025, seed=0, **FAST)
    for p in ("x1", "x2", "x3"):
        assert res.value(p, "S1") == pytest.approx(ISHIGAMI_S1[p], abs=0.03)
        assert res.value(p, "ST") == pytest.approx(ISHIGAMI_ST[p], abs=0.04)
    assert res.value("x4", "S1") < 0.01
    # the values of docs/sensitivity.md
    assert [res.value(p, "S1") for p in ("x1", "x2", "x3")] == pytest.approx([0.308, 0.443, 0.025], abs=5e-4)
    assert [res.value(p, "ST") for p in ("x1", "x2", "x3")] == pytest.approx([0.555, 0.449, 0.244], abs=5e-4)


def test_moment_independent_methods_rank_the_unused_parameter_last(ishigami):
    delta = sensitivity.gsa(ishigami, "delta", parameters=ISHIGAMI_RANGES, n=1000, seed=0, num_resamples=10,
                            **FAST)
    d = {p: delta.value(p, "delta") for p in ISHIGAMI_S1}
    assert d["x4"] < 0.06 and d["x4"] < 0.5 * min(d["x1"], d["x2"], d["x3"])
    pawn = sensitivity.gsa(ishigami, "pawn", parameters=ISHIGAMI_RANGES, n=1000, seed=0, **FAST)
    med = {p: pawn.value(p, "median") for p in ISHIGAMI_S1}
    assert med["x4"] == min(med.values()) and med["x2"] == max(med.values())
