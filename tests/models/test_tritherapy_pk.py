"""DDRi pharmacokinetics of ``tritherapy`` against the one-compartment oral closed form.

The compartment ``ddri_central`` (0.1 L) is the volume of distribution V, and the bioavailability F_DDRi (0.5)
acts once, on absorption, so that

    C(t) = F D ka / (V (ka - ke)) (exp(-ke t) - exp(-ka t)),   AUC = F D / (V ke),   V/F = 0.2 L.

If F were also folded into the volume (V read as V/F), every concentration would scale with F^2 instead of F.
Numbers in the docstrings are those docs/models/tritherapy.md states.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import simpson
from scipy.optimize import brentq

import qsp

KA, KE, V, F = 24.0, 8.3, 0.1, 0.5  # 1/day, 1/day, L, -
EC50 = 1000.0  # nM; Hill coefficient 2


def dose_nmol(mg_per_kg: float) -> float:
    """mg/kg -> nmol for a 0.02 kg mouse and 412.5 g/mol."""
    return mg_per_kg * 0.02 * 1e-3 / 412.5 * 1e9


def closed_form(t, mg_per_kg: float, f: float = F) -> np.ndarray:
    """Plasma concentration (nM) after one oral dose at t = 0 (t in days)."""
    t = np.asarray(t, dtype=float)
    return f * dose_nmol(mg_per_kg) * KA / (V * (KA - KE)) * (np.exp(-KE * t) - np.exp(-KA * t))


def hours_above(level_nm: float, mg_per_kg: float) -> float:
    """Hours the closed-form concentration stays above ``level_nm`` (the two crossings found by root finding)."""
    t_max = math.log(KA / KE) / (KA - KE)
    g = lambda t: float(closed_form(t, mg_per_kg)) - level_nm  # noqa: E731
    return 24.0 * (brentq(g, t_max, 5.0, xtol=1e-14) - brentq(g, 0.0, t_max, xtol=1e-14))


@pytest.fixture(scope="module")
def model():
    return qsp.load_model("tritherapy")


def simulate(model, mg_per_kg, t, **params):
    res = model.simulate(float(t[-1]), times=t, doses=qsp.Dose("DDRi_gut", mg_per_kg, unit="mg/kg"), params=params,
                         outputs=["C_DDRi", "E_DDRi"], rtol=1e-10, atol=1e-12)
    return np.asarray(res["C_DDRi"]), np.asarray(res["E_DDRi"])


def test_the_volume_is_v_and_the_apparent_oral_volume_is_v_over_f(model):
    values = model.parameters["value"]
    assert model.compartments.loc["ddri_central", "value"] == V and values["F_DDRi"] == F
    res = model.simulate(1, times=[0, 1], outputs=["V_app_DDRi"], params={"F_DDRi": 0.25})
    assert res["V_app_DDRi"] == pytest.approx([0.4, 0.4], rel=1e-12)
    assert model.simulate(1, times=[0, 1], outputs=["V_app_DDRi"])["V_app_DDRi"][-1] == pytest.approx(0.2, rel=1e-12)


@pytest.mark.parametrize("f", [0.25, 0.5, 1.0])
def test_concentration_matches_the_closed_form_with_f_applied_once(model, f):
    t = np.linspace(0, 1, 97)
    c, e = simulate(model, 75, t, F_DDRi=f)
    expected = closed_form(t, 75, f)
    assert c == pytest.approx(expected, rel=1e-6, abs=1e-9)
    hill = (expected / EC50) ** 2
    assert e == pytest.approx(hill / (1 + hill), rel=1e-6, abs=1e-12)


def test_exposure_is_proportional_to_f_and_auc_is_f_d_over_v_ke(model):
    t = np.linspace(0, 4, 40001)  # exp(-8.3 * 4) leaves 4e-15 of the AUC beyond day 4
    aucs = {f: simpson(simulate(model, 75, t, F_DDRi=f)[0], x=t) for f in (0.25, 0.5, 1.0)}
    for f, auc in aucs.items():
        assert auc == pytest.approx(f * dose_nmol(75) / (V * KE), rel=1e-6)
    assert aucs[1.0] / aucs[0.5] == pytest.approx(2.0, rel=1e-9)  # F enters linearly, not squared


def test_peak_and_effect_windows_of_75_mg_per_kg(model):
    """75 mg/kg: C_max 10.4 uM at 1.6 h; E_DDRi > 0.5 (C > EC50) for 9.6 h and > 0.9 (C > 3 EC50) for 6.2 h."""
    t = np.arange(0.0, 1.0, 1.0 / 8640.0)  # 10-second grid
    c, e = simulate(model, 75, t)
    assert c.max() / 1000 == pytest.approx(10.4, abs=0.05)
    assert t[c.argmax()] * 24 == pytest.approx(math.log(KA / KE) / (KA - KE) * 24, abs=10 / 3600)
    assert t[c.argmax()] * 24 == pytest.approx(1.6, abs=0.05)
    dt_h = 24.0 / 8640.0
    for level, e_min, hours in ((EC50, 0.5, 9.6), (3 * EC50, 0.9, 6.2)):
        assert hours_above(level, 75) == pytest.approx(hours, abs=0.05)
        assert (e > e_min).sum() * dt_h == pytest.approx(hours_above(level, 75), abs=2 * dt_h)


@pytest.mark.parametrize("mg_per_kg, hours", [(25, 6.2), (50, 8.3), (100, 10.4)])
def test_effect_window_grows_with_the_dose(model, mg_per_kg, hours):
    """E_DDRi > 0.5 for 6.2, 8.3 and 10.4 h after 25, 50 and 100 mg/kg (linear PK: log-like growth of the window)."""
    t = np.arange(0.0, 1.0, 1.0 / 8640.0)
    e = simulate(model, mg_per_kg, t)[1]
    assert hours_above(EC50, mg_per_kg) == pytest.approx(hours, abs=0.05)
    assert (e > 0.5).sum() * 24.0 / 8640.0 == pytest.approx(hours_above(EC50, mg_per_kg), abs=2 * 24.0 / 8640.0)
