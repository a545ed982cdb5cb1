"""Prediction bands from parameter sets: a callable's quantiles, and an ODE model's band from posterior draws
and from profile points, which must hold the true curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.errors import InputError
from qsp.fit.bands import PredictionBand, model_prediction_band, prediction_band
from qsp.fit.objective import ParameterSpace
from qsp.fit.profile import profile
from qsp.fit.sample import sample

from .uncertainty_objectives import DECAY, DecayObjective, decay_curve, decay_data, fit

GRID = np.linspace(0.0, 12.0, 25)


def test_prediction_band_of_a_callable_is_the_quantiles():
    def simulate(x):
        t = np.array([0.0, 1.0, 2.0])
        return pd.DataFrame({"time": np.r_[t, t], "output": ["a"] * 3 + ["b"] * 3,
                             "value": np.r_[x[0] * t, np.full(3, x[0])]})

    sets = np.arange(101.0)[:, None]
    band = prediction_band(simulate, sets)
    assert list(band.columns) == ["time", "output", "n", "n_sets", "q2.5", "q50", "q97.5"]
    row = band[(band["output"] == "a") & (band["time"] == 2.0)].iloc[0]
    assert (row["q2.5"], row["q50"], row["q97.5"]) == pytest.approx((5.0, 100.0, 195.0))
    assert (band["n"] == 101).all()
    b = band[band["output"] == "b"]
    assert np.allclose(b["q50"], 50.0)
    with pytest.raises(InputError, match="time, output and value"):
        prediction_band(lambda x: pd.DataFrame({"t": [0]}), sets)
    with pytest.raises(InputError, match="quantiles"):
        prediction_band(simulate, sets, quantiles=(2.0,))


def test_nan_values_are_left_out_of_the_quantiles():
    def simulate(x):
        return pd.DataFrame({"time": [0.0], "output": ["y"], "value": [np.nan if x[0] < 0 else x[0]]})

    band = prediction_band(simulate, np.array([[-1.0], [1.0], [3.0]]), quantiles=(0.5,))
    assert band["n"].iloc[0] == 2 and band["q50"].iloc[0] == 2.0


@pytest.fixture(scope="module")
def decay_fit():
    obj = DecayObjective(decay_data(11))
    return obj, fit(obj, np.log10([0.2, 15.0]))


def test_posterior_band_of_the_ode_model_contains_the_true_curve(decay_fit):
    import matplotlib

    matplotlib.use("Agg")
    obj, x_hat = decay_fit
    post = sample(obj, x_hat, n_samples=2000, chains=4, seed=0)
    assert (post.summary["rhat"] < 1.05).all()
    model = qsp.Model.from_antimony(DECAY)
    band = model_prediction_band(model, obj.space, post.draws(thin=10), GRID, "[A]")
    assert band.n_failed == 0 and band.settings["parameters"] == ["k", "V"]
    t = band.table
    assert len(t) == len(GRID) and (t["n"] == 400).all()
    assert (t["q2.5"] < t["q50"]).all() and (t["q50"] < t["q97.5"]).all()
    inside = band.contains("[A]", GRID, decay_curve(GRID))
    print(f"true curve inside the 95 % posterior band at {inside.sum()}/{len(GRID)} times; "
          f"median relative width {np.median((t['q97.5'] - t['q2.5']) / t['q50']):.3f}")
    assert inside.all()
    # the median curve is close to the fitted curve
    k, V = 10.0 ** x_hat
    assert np.allclose(t["q50"], decay_curve(GRID, k=k, V=V), rtol=0.03)
    assert band.plot().get_xlabel() == "time"


def test_band_from_profile_points_and_left_out_parameters(decay_fit):
    obj, x_hat = decay_fit
    res = profile(obj, x_hat)
    pts = res.points()
    # a noise parameter that is not a model id is left out; a renamed one is mapped
    space = ParameterSpace(("kel", "V", "sigma"), ("log10", "log10", "lin"), np.array([-3.0, -1.0, 0.01]),
                           np.array([1.0, 3.0, 1.0]))
    pts3 = np.column_stack([pts, np.full(len(pts), 0.25)])
    model = qsp.Model.from_antimony(DECAY)
    band = model_prediction_band(model, space, pts3, GRID, ["[A]"], parameter_map={"kel": "k"},
                                 quantiles=(0.0, 0.5, 1.0))  # profile points are not draws: their envelope
    assert band.settings["left_out"] == ["sigma"] and band.settings["parameters"] == ["k", "V"]
    assert band.contains("[A]", GRID, decay_curve(GRID)).all()
    dosed = model_prediction_band(model, obj.space, pts[:3], GRID, "[A]", doses=qsp.Dose("A", 50.0, time=6.0))
    assert (dosed.table.set_index("time").loc[7.0, "q50"] > band.table.set_index("time").loc[7.0, "q50"])
    with pytest.raises(InputError, match="none of the parameters"):
        model_prediction_band(model, ParameterSpace(("sigma",), ("lin",), np.array([0.0]), np.array([1.0])),
                              [[0.5]], GRID, "[A]")
    with pytest.raises(InputError, match="one value per estimated parameter"):
        model_prediction_band(model, obj.space, [[0.1]], GRID, "[A]")
    with pytest.raises(InputError, match="not both"):
        model_prediction_band(model, obj.space, pts[:1], GRID, "[A]", doses=[], regimen="x")
    assert isinstance(PredictionBand(band.table), PredictionBand)
