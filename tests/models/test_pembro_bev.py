"""Checks of the shipped ``pembro_bev`` model (pembrolizumab + bevacizumab, NSCLC xenografts).

Reference numbers: docs/models/pembro_bev.md ("Reproduced numbers"), taken from the MOOCS-DS reference note
(shared/references/moocs-ds.md, section 4.1): a re-implementation of the Gevertz & Kareva 2023 code that matches
the authors' stored outputs to 6 decimals. Every expected value below is written out, not computed by qsp.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

import qsp
from qsp import metrics

ROOT = Path(__file__).resolve().parents[2]
XML = ROOT / "sbml_models" / "pembro_bev.xml"
ANT = ROOT / "sbml_models" / "pembro_bev.ant"
META = ROOT / "sbml_models" / "pembro_bev.json"

TOL = {"rtol": 1e-10, "atol": 1e-12}
A549 = {"k21": 1e-4, "k22": 8e-4, "k3": 2e-5, "x1_0": 43.62606232}
GRID_H1299 = (np.linspace(0.408, 10.88, 30), np.linspace(0.1372, 3.457, 30))
GRID_A549 = (np.linspace(3.275, 87.2, 30), np.linspace(0.1892, 4.762, 30))


@pytest.fixture(scope="module")
def model():
    return qsp.load_model("pembro_bev")


def final_volume(model, d1, d2, params=None, t_end=35.0):
    """W(t_end) with pembrolizumab d1 mg/kg q3d x5 from day 3 and bevacizumab d2 mg/kg q3d x6 from day 0."""
    doses = []
    if d1 > 0:
        doses.append(qsp.Dose("A1", d1, unit="mg/kg", time=3, every=3, count=5))
    if d2 > 0:
        doses.append(qsp.Dose("A2", d2, unit="mg/kg", time=0, every=3, count=6))
    res = model.simulate(t_end, points=3, outputs=["W"], doses=doses, params=params or {}, **TOL)
    return float(res["W"][-1])


def tgi(model, d1, d2, params=None):
    ctrl = final_volume(model, 0, 0, params)
    return (ctrl - final_volume(model, d1, d2, params)) / ctrl


# ------------------------------------------------------------------------------------------ metadata
def test_metadata_regimens_and_ranges(model):
    meta = json.loads(META.read_text())
    assert [d["target"] for d in meta["drugs"]] == ["A1", "A2"]
    assert {d["unit"] for d in meta["drugs"]} == {"mg/kg"}
    for name in meta["regimens"]:
        doses, _ = model.regimen(name)
        assert all(d.target in ("A1", "A2") for d in doses)
    values = model.parameters["value"]
    for pid, rng in meta["parameter_ranges"].items():
        assert rng["low"] <= values[pid] <= rng["high"], pid
    for sel in meta["outputs"].values():
        model.simulate(1, points=2, outputs=[sel])


# ------------------------------------------------------------------------------------------ physical sanity
def test_dose_in_mg_per_kg_enters_the_depot_in_ug_per_ml(model):
    """D mg/kg into a depot of V mL/kg is D*1000/V ug/mL; with absorption off the depot keeps it."""
    res = model.simulate(1, points=3, outputs=["[A1]", "[A2]"], params={"ka1": 0.0, "ka2": 0.0},
                         doses=[qsp.Dose("A1", 10, unit="mg/kg"), qsp.Dose("A2", 1, unit="mg/kg")], **TOL)
    np.testing.assert_allclose(res["[A1]"], 10 * 1000 / 70, rtol=1e-10)
    np.testing.assert_allclose(res["[A2]"], 1 * 1000 / 119, rtol=1e-10)


def test_bevacizumab_follows_the_bateman_function(model):
    """One-compartment PK with first-order absorption: C2 = D ka / (ka - k) (e^-kt - e^-ka t), k = CL/V."""
    t = np.linspace(0, 20, 41)
    res = model.simulate(20, times=t, outputs=["[C2]"], doses=[qsp.Dose("A2", 1, unit="mg/kg")], **TOL)
    d, ka, k = 1000 / 119, 1.3, 13.6 / 119
    expected = d * ka / (ka - k) * (np.exp(-k * t) - np.exp(-ka * t))
    np.testing.assert_allclose(res["[C2]"], expected, rtol=1e-7, atol=1e-10)


def test_pembrolizumab_exposure_equals_dose_over_clearance(model):
    """Linear PK: AUC(0-inf) of C1 after D mg/kg is D*1000/CL (ug/mL*day), whatever the distribution."""
    res = model.simulate(600, points=6001, outputs=["[C1]", "[P1]"], doses=[qsp.Dose("A1", 10, unit="mg/kg")],
                         **TOL)
    assert metrics.auc(res.time, res["[C1]"]) == pytest.approx(10 * 1000 / 20, rel=2e-4)
    assert res["[C1]"].min() >= -1e-9 and res["[P1]"].min() >= -1e-9  # integrator noise at atol scale


def test_untreated_growth_is_logistic_and_bounded(model):
    """No drug: kill = 0, the damaged chain stays empty and x1 is the logistic curve."""
    t = np.linspace(0, 35, 36)
    res = model.simulate(35, times=t, outputs=["W", "x1", "x2", "kill"], **TOL)
    lam, K, x0 = 0.11, 1e5, 36.86513265
    logistic = K * x0 * np.exp(lam * t) / (K + x0 * (np.exp(lam * t) - 1))
    np.testing.assert_allclose(res["x1"], logistic, rtol=1e-7)
    np.testing.assert_allclose(res["W"], res["x1"], rtol=1e-12)
    assert np.all(res["x2"] == 0) and np.all(res["kill"] == 0)
    assert np.all(np.diff(res["W"]) > 0) and res["W"][-1] < K


def test_experimental_regimen_states_non_negative_and_volume_conserved(model):
    doses, params = model.regimen("experimental")
    res = model.simulate(35, points=141, outputs=["x1", "x2", "x3", "x4", "W", "[C1]", "[C2]"], doses=doses,
                         params=params, **TOL)
    for s in ("x1", "x2", "x3", "x4", "[C1]", "[C2]"):
        assert res[s].min() >= -1e-9, s
    np.testing.assert_allclose(res["W"], res["x1"] + res["x2"] + res["x3"] + res["x4"], rtol=1e-12)
    assert res["W"][-1] < final_volume(model, 0, 0)


# ------------------------------------------------------------------------------------------ reproduced numbers
def test_h1299_control_volume_and_experimental_tgi(model):
    ctrl = final_volume(model, 0, 0)
    assert ctrl == pytest.approx(1703.52, abs=0.005)
    assert tgi(model, 10, 1) == pytest.approx(0.9127, abs=5e-5)
    assert tgi(model, 10, 0) == pytest.approx(0.6742, abs=5e-5)
    assert tgi(model, 0, 1) == pytest.approx(0.3084, abs=5e-5)


def test_h1299_grid_values(model):
    g1, g2 = GRID_H1299
    assert tgi(model, g1[0], g2[0]) == pytest.approx(0.109163, rel=1e-5)
    assert tgi(model, g1[-1], g2[-1]) == pytest.approx(0.949482, rel=1e-5)
    assert (g1[10], g2[5]) == pytest.approx((4.019, 0.7096), abs=1e-4)
    assert tgi(model, g1[10], g2[5]) == pytest.approx(0.726038, rel=1e-5)


def test_a549_numbers(model):
    assert final_volume(model, 0, 0, A549) == pytest.approx(2009.80, abs=0.005)
    assert tgi(model, 10, 1, A549) == pytest.approx(0.5753, abs=5e-5)
    assert tgi(model, 10, 0, A549) == pytest.approx(0.1440, abs=5e-5)
    assert tgi(model, 0, 1, A549) == pytest.approx(0.2357, abs=5e-5)
    g1, g2 = GRID_A549
    assert tgi(model, g1[0], g2[0], A549) == pytest.approx(0.123412, rel=1e-5)
    assert tgi(model, g1[-1], g2[-1], A549) == pytest.approx(0.955921, rel=1e-5)
    # the regimens in the metadata carry the same cell line
    doses, params = model.regimen("experimental_a549")
    w = model.simulate(35, points=3, outputs=["W"], doses=doses, params=params, **TOL)["W"][-1]
    assert 1 - w / final_volume(model, 0, 0, A549) == pytest.approx(0.5753, abs=5e-5)


@pytest.mark.parametrize("params, ec1, ec2", [({}, 5.8428, 1.9144), (A549, 46.841, 2.6377)])
def test_monotherapy_ec50s(model, params, ec1, ec2):
    """Exact roots of TGI = 0.5 of each drug alone (the reference's 'exact root' EC50s)."""
    e1 = brentq(lambda d: tgi(model, d, 0, params) - 0.5, 0.1, 200, xtol=1e-8)
    e2 = brentq(lambda d: tgi(model, 0, d, params) - 0.5, 0.01, 50, xtol=1e-8)
    assert e1 == pytest.approx(ec1, abs=0.6 * 10 ** -(len(str(ec1).split(".")[1])))
    assert e2 == pytest.approx(ec2, abs=0.6 * 10 ** -(len(str(ec2).split(".")[1])))
    assert math.isfinite(e1) and math.isfinite(e2)
