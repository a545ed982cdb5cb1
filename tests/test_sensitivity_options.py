"""Distributions, failure policy, time courses, convergence and exports of qsp.sensitivity."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from SALib.analyze import sobol as salib_sobol
from scipy import stats

import qsp
from qsp import sensitivity
from qsp.sensitivity import UNBOUNDED_TAIL, Problem

RANGES = {"u": {"low": 1, "high": 3, "distribution": "uniform"},
          "lu": {"low": 0.1, "high": 10, "distribution": "loguniform"},
          "n": {"distribution": "normal", "mean": 0, "sd": 1},
          "lgn": {"distribution": "lognormal", "median": 2, "sd_log": np.log(2)}}
ISHIGAMI = "model ishigami\n  x1 = 0; x2 = 0; x3 = 0\n  Y := sin(x1) + 7*sin(x2)^2 + 0.1*x3^4*sin(x1)\nend\n"


def test_unit_cube_maps_through_qsp_inverse_cdfs():
    p = Problem(RANGES)
    v = p.values(np.array([[0.5] * 4, [0.0] * 4, [1.0] * 4, [stats.norm.cdf(2)] * 4]))
    assert v.iloc[0].tolist() == pytest.approx([2.0, 1.0, 0.0, 2.0])          # medians
    assert v.iloc[1, :2].tolist() == pytest.approx([1, 0.1]) and v.iloc[2, :2].tolist() == pytest.approx([3, 10])
    assert v.iloc[3, 2:].tolist() == pytest.approx([2.0, 8.0])                # mean + 2 sd (log scale)
    assert v.iloc[1, 2] == pytest.approx(-3.0) and v.iloc[2, 3] == pytest.approx(2.0 * math.exp(3 * math.log(16) / 4))
    # the clipping stated in docs/sensitivity.md: [0.00135, 0.99865], 0.27 % of the mass
    assert (round(UNBOUNDED_TAIL, 5), round(1 - UNBOUNDED_TAIL, 5)) == (0.00135, 0.99865)
    assert round(200 * UNBOUNDED_TAIL, 2) == 0.27


@pytest.mark.parametrize("method,n", [("sobol", 64), ("morris", 10), ("efast", 65), ("delta", 64), ("pawn", 64)])
def test_every_method_accepts_every_distribution(method, n):
    p = Problem(RANGES)
    unit = sensitivity.sample(p, method, n, seed=0)
    assert unit.min() >= 0 and unit.max() <= 1
    v = p.values(unit)
    assert np.isfinite(v.to_numpy()).all()
    assert v["u"].between(1 - 1e-12, 3 + 1e-12).all() and v["lu"].between(0.1 - 1e-12, 10 + 1e-12).all() and v["lgn"].gt(0).all()
    model = qsp.Model.from_antimony("model m\n u = 2; lu = 1; n = 0; lgn = 2\n Y := u + log(lu) + n*lgn\nend\n")
    res = sensitivity.gsa(model, method, parameters=p, n=n, metrics=["final:Y"], t_end=1e-6, points=2,
                          num_resamples=5)
    assert res.n_simulations == len(unit) and res.indices["value"].notna().any()


BLOWUP = "model m\n species x = 1; k = 1\n -> x; k*x^2\nend"  # x -> inf at t = 1/k


def test_failures_raise_by_default_and_impute_on_request():
    model = qsp.Model.from_antimony(BLOWUP)
    kw = dict(parameters={"k": {"low": 0.01, "high": 1.0}}, metrics=["final:x"], t_end=2, points=3, max_steps=2000,
              n=64)
    with pytest.raises(qsp.QSPError, match=r"of 192 simulations failed \(rows .*first message"):
        sensitivity.gsa(model, "sobol", **kw)
    with pytest.warns(qsp.QSPWarning, match="simulations failed"):
        res = sensitivity.gsa(model, "sobol", on_failure="impute_mean", **kw)
    assert res.n_failed > 0 and set(res.failures.columns) == {"row", "message"}
    unit = sensitivity.sample(Problem(kw["parameters"]), "sobol", 64, seed=0)
    k = Problem(kw["parameters"]).values(unit)["k"].to_numpy()
    assert set(res.failures["row"]) == set(np.flatnonzero(k >= 0.5))       # blow-up before t = 2 iff k > 1/2
    assert json.loads(res.to_json())["n_failed"] == res.n_failed


def test_time_course_indices_equal_salib_at_each_time_point(pk1_text):
    pk = qsp.Model.from_antimony(pk1_text)
    p = Problem({"k": {"distribution": "lognormal", "median": 0.2, "sd_log": np.log(2) / 2},
                 "V": {"low": 5, "high": 20, "distribution": "loguniform"}})
    res = sensitivity.gsa(pk, "sobol", parameters=p, timecourse="[A]", regimen=[qsp.Dose("A", 100)], t_end=10,
                          points=41, n=256, seed=4)
    df = res.to_pandas()
    assert sorted(df["time"].unique()) == pytest.approx(np.linspace(0, 10, 41))
    # the same design run as a scalar metric, analysed by SALib itself
    unit = sensitivity.sample(p, "sobol", 256, seed=4)
    runs = qsp.ensemble.run(pk, p.values(unit), regimens={"r": [qsp.Dose("A", 100)]}, metrics=["value_at:[A]:5"],
                            t_end=10, points=41)
    si = salib_sobol.analyze(p.salib(), runs.table[runs.metrics[0]].to_numpy(), calc_second_order=False,
                             seed=1)
    at5 = df[df.time == 5.0].set_index(["parameter", "index"])["value"]
    assert [at5[("k", "S1")], at5[("V", "S1")]] == pytest.approx(list(si["S1"]), rel=1e-6)
    assert [at5[("k", "ST")], at5[("V", "ST")]] == pytest.approx(list(si["ST"]), rel=1e-6)
    # and against the closed form: Y = D/V exp(-k t) -> ln Y is additive in ln V and k, no interaction at t = 5
    assert at5[("k", "ST")] + at5[("V", "ST")] == pytest.approx(1.0, abs=0.15)


def test_sobol_convergence_reuses_nested_prefixes():
    model = qsp.Model.from_antimony(ISHIGAMI)
    ranges = {f"x{i}": {"low": -math.pi, "high": math.pi} for i in range(1, 4)}
    kw = dict(parameters=ranges, metrics=["final:Y"], t_end=1e-6, points=2, seed=5)
    conv = sensitivity.convergence(model, "sobol", [128, 512, 2048], **kw)
    assert conv.n_simulations == 2048 * 5 and conv.ns == [128, 512, 2048]
    full = sensitivity.gsa(model, "sobol", n=512, **kw).to_pandas()
    at512 = conv.to_pandas().query("n == 512").drop(columns="n").reset_index(drop=True)
    pd.testing.assert_frame_equal(at512[["parameter", "index", "value"]], full[["parameter", "index", "value"]])
    err = conv.to_pandas().query("parameter == 'x2' and index == 'ST'").set_index("n")["value"].sub(0.4424).abs()
    assert err[2048] < 0.03


def test_exports_and_plots(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    model = qsp.Model.from_antimony(ISHIGAMI)
    ranges = {f"x{i}": {"low": -math.pi, "high": math.pi} for i in range(1, 4)}
    res = sensitivity.gsa(model, "morris", parameters=ranges, n=20, metrics=["final:Y"], t_end=1e-6, points=2)
    res.to_csv(tmp_path / "m.csv")
    back = pd.read_csv(tmp_path / "m.csv")
    assert list(back.columns) == sensitivity.INDEX_COLUMNS and len(back) == 9
    assert back["value"].to_numpy() == pytest.approx(res.indices["value"].to_numpy())
    data = json.loads(res.to_json(tmp_path / "m.json"))
    assert data["method"] == "morris" and data["n_simulations"] == 80 and len(data["indices"]) == 9
    ax = res.plot()
    assert ax.get_xlabel().startswith("mu*") and len(ax.texts) == 3


def test_bad_inputs_are_one_line_errors():
    model = qsp.Model.from_antimony(ISHIGAMI)
    ranges = {"x1": {"low": -1, "high": 1}}
    with pytest.raises(qsp.QSPError, match="power of 2"):
        sensitivity.gsa(model, "sobol", parameters=ranges, n=1000, metrics=["final:Y"])
    with pytest.raises(qsp.QSPError, match="method must be one of"):
        sensitivity.gsa(model, "sobel", parameters=ranges, metrics=["final:Y"])
    with pytest.raises(qsp.QSPError, match="time-course"):
        sensitivity.gsa(model, "delta", parameters=ranges, timecourse="Y", n=100)
    with pytest.raises(qsp.QSPError, match="no metadata parameter_ranges"):
        sensitivity.gsa(model, "sobol", metrics=["final:Y"])
