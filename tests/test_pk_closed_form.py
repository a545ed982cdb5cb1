"""One-compartment PK against closed-form solutions (relative error < 1e-5)."""

import numpy as np
import pytest

import qsp

V, K = 10.0, 0.2  # L, 1/h
TIGHT = dict(rtol=1e-10, atol=1e-14)


def bolus(t, dose, t0=0.0):
    """Concentration after an IV bolus of `dose` (umol) at t0."""
    return np.where(t >= t0, dose / V * np.exp(-K * (t - t0)), 0.0)


def infusion(t, dose, t0, dur):
    """Concentration of a zero-order infusion of `dose` over `dur` starting at t0."""
    rate = dose / dur
    tau = np.clip(t - t0, 0, None)
    on = np.minimum(tau, dur)
    return np.where(t >= t0, rate / (K * V) * (1 - np.exp(-K * on)) * np.exp(-K * (tau - on)), 0.0)


def rel_err(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))


def test_single_bolus(pk1):
    t = np.linspace(0, 24, 97)
    res = pk1.simulate(times=t, outputs=["[A]"], doses=[qsp.Dose("A", 100)], **TIGHT)
    assert rel_err(res["[A]"], bolus(t, 100)) < 1e-5


def test_repeated_bolus_superposition(pk1):
    t = np.linspace(0, 72, 289)
    res = pk1.simulate(times=t, outputs=["[A]"], doses=[qsp.Dose("A", 50, every=8, count=9)], **TIGHT)
    exact = sum(bolus(t, 50, 8 * i) for i in range(9))
    assert rel_err(res["[A]"], exact) < 1e-5


def test_infusion(pk1):
    t = np.linspace(0, 24, 241)
    res = pk1.simulate(times=t, outputs=["[A]"], doses=[qsp.Dose("A", 120, time=1, duration=3)], **TIGHT)
    assert rel_err(res["[A]"][t > 0], infusion(t, 120, 1, 3)[t > 0]) < 1e-5
    assert np.all(res["[A]"][t <= 1] == 0)


def test_infusion_overlapping_boluses_and_infusions(pk1):
    t = np.linspace(0, 48, 481)
    doses = [qsp.Dose("A", 100, time=0, duration=10, every=6, count=3),  # overlapping infusions
             qsp.Dose("A", 30, time=2, every=12, count=4)]                 # boluses during them
    res = pk1.simulate(times=t, outputs=["[A]"], doses=doses, **TIGHT)
    exact = sum(infusion(t, 100, 6 * i, 10) for i in range(3)) + sum(bolus(t, 30, 2 + 12 * i) for i in range(4))
    mask = exact > 0
    assert rel_err(res["[A]"][mask], exact[mask]) < 1e-5


def test_value_at_dose_instant_is_post_dose(pk1):
    res = pk1.simulate(times=[0, 12, 24], outputs=["A"], doses=[qsp.Dose("A", 100, every=12, count=3)], **TIGHT)
    pre12 = 100 * np.exp(-K * 12)
    assert res["A"][0] == pytest.approx(100)                       # dose at t=0 included
    assert res["A"][1] == pytest.approx(pre12 + 100, rel=1e-8)      # post-dose at t=12
    assert res["A"][2] == pytest.approx((pre12 + 100) * np.exp(-K * 12) + 100, rel=1e-8)


def test_dose_at_t_end_is_reported_post_dose(pk1):
    res = pk1.simulate(times=[0, 5], outputs=["A"], doses=[qsp.Dose("A", 10, time=5)], **TIGHT)
    assert res["A"][-1] == pytest.approx(10)


def test_exact_output_times(pk1):
    times = [0, 0.1234, 1.5, 7.77, 10]
    res = pk1.simulate(times=times, outputs=["A"], doses=[qsp.Dose("A", 1, time=0.5)])
    assert res.time.tolist() == times


def test_t_start_after_zero(pk1):
    res = pk1.simulate(10, t_start=2, points=9, outputs=["[A]"], doses=[qsp.Dose("A", 100, time=2)], **TIGHT)
    assert rel_err(res["[A]"], bolus(res.time, 100, 2)) < 1e-5


def test_equilibrate_starts_from_steady_state():
    # zero-order input 2/h, first-order loss 0.5/h: steady state A = 4; then a bolus of 10 on top
    m = qsp.Model.from_antimony("model m\n species A = 0; kin = 2; k = 0.5\n => A; kin\n A => ; k*A\nend")
    res = m.simulate(times=[0, 1], outputs=["A"], doses=[qsp.Dose("A", 10)], equilibrate=100, **TIGHT)
    assert res["A"][0] == pytest.approx(14, rel=1e-8)
    assert res["A"][1] == pytest.approx(4 + 10 * np.exp(-0.5), rel=1e-7)
    with pytest.raises(qsp.QSPError, match="equilibrate"):
        m.simulate(1, equilibrate=-1)
