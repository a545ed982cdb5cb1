"""Metrics on analytic curves."""

import numpy as np
import pytest

from qsp import QSPError, metrics

K = 0.3
T = np.linspace(0, 10, 2001)
Y = 5 * np.exp(-K * T)


def test_auc_linear_and_log_down():
    exact = 5 / K * (1 - np.exp(-K * 10))
    assert metrics.auc(T, Y) == pytest.approx(exact, rel=1e-5)
    coarse = np.linspace(0, 10, 6)
    yc = 5 * np.exp(-K * coarse)
    assert metrics.auc(coarse, yc, method="log-down") == pytest.approx(exact, rel=1e-12)  # exact for exponentials
    assert abs(metrics.auc(coarse, yc) - exact) > 1e-3  # linear trapezoid overestimates
    assert metrics.auc(T, Y, t_start=2, t_end=4) == pytest.approx(5 / K * (np.exp(-0.6) - np.exp(-1.2)), rel=1e-5)


def test_cmax_tmax_cmin_nadir():
    y = np.sin(T)
    assert metrics.cmax(T, y) == pytest.approx(1, abs=1e-5)
    assert metrics.tmax(T, y) == pytest.approx(np.pi / 2, abs=5e-3)
    assert metrics.cmin(T, y) == pytest.approx(-1, abs=1e-5)
    assert metrics.nadir(T, y) == metrics.cmin(T, y)
    assert metrics.time_of_nadir(T, y) == pytest.approx(3 * np.pi / 2, abs=5e-3)


def test_value_at_and_trough():
    assert metrics.value_at(T, Y, 3.3) == pytest.approx(5 * np.exp(-K * 3.3), rel=1e-5)
    assert metrics.trough([0, 1, 2, 3], [5, 4, 9, 8], 2) == 4
    with pytest.raises(QSPError):
        metrics.value_at(T, Y, 11)


def test_time_above_threshold():
    # 5 exp(-0.3 t) > 2  <=>  t < ln(2.5)/0.3
    assert metrics.time_above(T, Y, 2) == pytest.approx(np.log(2.5) / K, abs=1e-5)
    y = np.sin(T)
    # sin > 0.5 on (pi/6, 5pi/6) and (13pi/6, 17pi/6) within [0, 10]
    assert metrics.time_above(T, y, 0.5) == pytest.approx(2 * (2 * np.pi / 3), abs=1e-4)


def test_percent_change():
    pc = metrics.percent_change(T, Y)
    assert pc[0] == 0
    assert pc[-1] == pytest.approx(100 * (np.exp(-3) - 1))
    assert metrics.best_percent_change(T, Y) == pytest.approx(pc[-1])
    with pytest.raises(QSPError, match="baseline"):
        metrics.percent_change([0, 1], [0, 1])


def test_bad_inputs():
    with pytest.raises(QSPError):
        metrics.auc([0, 1], [1])
    with pytest.raises(QSPError):
        metrics.auc([1, 0], [1, 1])
    with pytest.raises(QSPError):
        metrics.auc(T, Y, method="cubic")
