"""Local coefficients against the one-compartment bolus closed form C(t) = D/V exp(-k t)."""

from __future__ import annotations

import numpy as np
import pytest

import qsp
from qsp import sensitivity

DOSE = [qsp.Dose("A", 100)]


@pytest.fixture(scope="module")
def pk(pk1_text):
    return qsp.Model.from_antimony(pk1_text)


def test_metric_coefficients_match_closed_form(pk):
    res = sensitivity.local(pk, ["k", "V"], metrics=["value_at:[A]:3", "value_at:[A]:7.5"], regimen=DOSE,
                            t_end=10, points=101)
    assert res.n_simulations == 5
    k = 0.2
    for t, out in zip((3.0, 7.5), res.outputs):  # outputs in the order the metrics were given
        assert res.value("k", "S", out) == pytest.approx(-k * t, abs=1e-4)
        assert res.value("V", "S", out) == pytest.approx(-1.0, abs=1e-4)
        # raw derivative dC/dk = -t C
        assert res.value("k", "dYdp", out) == pytest.approx(-t * 100 / 10 * np.exp(-k * t), rel=1e-4)


def test_time_course_coefficients_per_time_point(pk):
    res = sensitivity.local(pk, ["k", "V"], timecourse="[A]", regimen=DOSE, t_end=10, points=21,
                            backend="processes")
    df = res.to_pandas()
    sk = df[(df.parameter == "k") & (df["index"] == "S")]
    assert len(sk) == 21
    np.testing.assert_allclose(sk["value"], -0.2 * sk["time"], atol=1e-4)
    sv = df[(df.parameter == "V") & (df["index"] == "S")]
    np.testing.assert_allclose(sv["value"], -1.0, atol=1e-4)


def test_zero_base_value_and_bad_step_are_refused(pk):
    with pytest.raises(qsp.QSPError, match="non-zero"):
        sensitivity.local(pk, ["k"], at={"k": 0.0}, metrics=["auc:[A]"], regimen=DOSE, t_end=10)
    with pytest.raises(qsp.QSPError, match="rel_step"):
        sensitivity.local(pk, ["k"], rel_step=2.0, metrics=["auc:[A]"], regimen=DOSE, t_end=10)


def test_pre_equilibration_gives_steady_state_coefficients():
    """x' = k_in - k_out x from x = 0: after pre-equilibration x = k_in / k_out, so S(k_in) = 1, S(k_out) = -1;
    without it x stays near 0 over the short window and S(k_in) is ~1 but S(k_out) ~0."""
    m = qsp.Model.from_antimony("model turnover\n  J: -> x; k_in - k_out*x\n  x = 0; k_in = 2; k_out = 0.5\nend")
    common = dict(metrics=["final:x"], t_end=1e-3, points=2)
    eq = sensitivity.local(m, ["k_in", "k_out"], equilibrate=200, **common)
    assert eq.value("k_in", "S") == pytest.approx(1.0, abs=1e-4)
    assert eq.value("k_out", "S") == pytest.approx(-1.0, abs=1e-4)
    cold = sensitivity.local(m, ["k_in", "k_out"], **common)
    assert abs(cold.value("k_out", "S")) < 1e-3
    g = sensitivity.gsa(m, "sobol", parameters={"k_in": {"low": 1, "high": 3}, "k_out": {"low": 0.4, "high": 0.6}},
                        metrics=["final:x"], n=256, equilibrate=200, t_end=1e-3, points=2, seed=2)
    st = g.to_pandas().query("index == 'ST'").set_index("parameter")["value"]
    assert st["k_in"] > 0.3 and st["k_out"] > 0.1  # both matter only at steady state
