"""Dose-response surfaces from simulation: one ensemble run, same values as Model.simulate, failures kept."""

import warnings

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import QSPError, QSPWarning, metrics
from qsp.synergy import Treatment, dose_grid, moocs, parse_grid, simulate_surface

from .counting_backend import CountingBackend

PEMBRO = Treatment("A1", "mg/kg", time=3, every=3, count=5)
BEV = Treatment("A2", "mg/kg", time=0, every=3, count=6)

#: Exponential growth with log-kill, both drugs given as parameter levels: V = V0 exp((lam - k1 u1 - k2 u2) t),
#: so TGI(T) = 1 - exp(-(k1 u1 + k2 u2) T) exactly; Bliss, Loewe and LSD indices are all 1 (no interaction).
LOGKILL = """
model logkill
  V0 = 10; lam = 0.2; k1 = 0.05; k2 = 0.02
  u1 = 0; u2 = 0
  V = V0
  V' = (lam - k1 * u1 - k2 * u2) * V
end
"""

#: Finite-time blow-up when both drugs are high: X' = A + B + A*B*X^2 (A, B decay at rate 1).
BLOWUP = """
model blowup
  compartment c = 1
  species A in c = 0
  species B in c = 0
  elimA: A -> ; A
  elimB: B -> ; B
  X = 0
  X' = A + B + A * B * X^2
end
"""




@pytest.fixture(scope="module")
def pembro_bev():
    return qsp.load_model("pembro_bev")


def direct_tgi(model, d1, d2):
    def final(a, b):
        doses = PEMBRO.part(a)[0] + BEV.part(b)[0]
        return model.simulate(35, points=141, outputs=["W"], doses=doses, rtol=1e-8, atol=1e-12)["W"][-1]

    ctrl = final(0, 0)
    return (ctrl - final(d1, d2)) / ctrl


def test_surface_is_one_ensemble_run_and_matches_model_simulate(pembro_bev):
    d1, d2 = np.array([1.0, 4.0, 10.0]), np.array([0.5, 1.0])
    backend = CountingBackend()
    s = simulate_surface(pembro_bev, PEMBRO, BEV, d1, d2, response="tgi:W:35", extra_metrics=["auc:[C1]"],
                         mono_points=6, backend=backend)
    n_tasks = 1 + d1.size * d2.size + s.mono1.size + s.mono2.size
    assert backend.calls == 1 and backend.tasks == n_tasks == len(s.table)
    assert (s.table["status"] == "ok").all() and s.n_failed == 0
    assert s.effect.shape == (1, 3, 2)
    for i, j in [(0, 0), (2, 1), (1, 0)]:
        assert s.effect[0, i, j] == pytest.approx(direct_tgi(pembro_bev, d1[i], d2[j]), rel=1e-9, abs=1e-12)
    assert s.effect[0, 2, 1] == pytest.approx(0.9127, abs=5e-5)  # the experimental dose
    k = int(np.flatnonzero(s.mono1 == 10.0)[0])
    assert s.mono1_effect[0, k] == pytest.approx(0.6742, abs=5e-5)
    k = int(np.flatnonzero(s.mono2 == 1.0)[0])
    assert s.mono2_effect[0, k] == pytest.approx(0.3084, abs=5e-5)
    # the extra metric is the same AUC as on a direct simulation
    res = pembro_bev.simulate(35, points=141, outputs=["[C1]"], doses=PEMBRO.part(4.0)[0] + BEV.part(1.0)[0],
                              rtol=1e-8, atol=1e-12)
    (auc,) = s.extras.values()  # the one extra metric
    assert auc[0, 1, 1] == pytest.approx(metrics.auc(res.time, res["[C1]"]), rel=1e-9)
    tidy = s.to_pandas()
    assert len(tidy) == 6 and list(tidy.columns[:6]) == ["sample", "i", "j", "d1", "d2", "effect"]


def test_parameter_treatments_on_an_analytic_model():
    """Parameter-driven levels; TGI against the closed form, and the no-interaction indices equal 1."""
    m = qsp.Model.from_antimony(LOGKILL)
    u1, u2 = dose_grid(0.5, 4, 5), dose_grid(0.5, 8, 4, scale="log")
    s = simulate_surface(m, Treatment("u1", parameter=True), Treatment("u2", parameter=True), u1, u2,
                         response="tgi:V:10", t_end=10, points=11, mono_points=150)
    U1, U2 = np.meshgrid(u1, u2, indexing="ij")
    np.testing.assert_allclose(s.effect[0], 1 - np.exp(-(0.05 * U1 + 0.02 * U2) * 10), rtol=1e-6)
    r = moocs(s).table
    np.testing.assert_allclose(r["bliss"], 1.0, atol=1e-6)
    np.testing.assert_allclose(r["loewe"], 1.0, atol=2e-3)
    np.testing.assert_allclose(r["lsd"], 1.0, atol=2e-3)
    assert r.attrs == {} and not r["potency_undefined"].any()


def test_failed_simulations_are_recorded_not_dropped():
    m = qsp.Model.from_antimony(BLOWUP)
    with pytest.warns(QSPWarning, match="surface simulations failed"):
        s = simulate_surface(m, Treatment("A"), Treatment("B"), [0.5, 1.0, 4.0], [0.5, 1.0, 4.0],
                             response="value_at:X:2", t_end=2, points=21, mono_points=5)
    failed = s.table[s.table["status"] == "failed"]
    assert s.n_failed == len(failed) == 5
    assert set(failed["regimen"]) == {"g0_2", "g1_2", "g2_0", "g2_1", "g2_2"}
    assert failed["message"].str.contains("SimulationError").all()
    assert len(s.table) == 1 + 9 + s.mono1.size + s.mono2.size  # nothing dropped
    assert np.isnan(s.effect[0, 2, :]).all() and np.isnan(s.effect[0, :, 2]).all()
    assert np.isfinite(s.effect[0, :2, :2]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = moocs(s).table
    # failed points take no part in the Pareto step
    bad = r["d1"].eq(4.0) | r["d2"].eq(4.0)
    assert not r.loc[bad, "feasible"].any() and r.loc[bad, "count"].eq(0).all()


def test_virtual_patients_simulate_one_surface_each(pembro_bev):
    X = pd.DataFrame({"k3": [1e-4, 0.0]})
    s = simulate_surface(pembro_bev, PEMBRO, BEV, [10.0], [1.0], samples=X, mono_points=4)
    assert s.effect.shape == (2, 1, 1) and s.n_samples == 2
    assert s.effect[0, 0, 0] == pytest.approx(0.9127, abs=5e-5)
    assert s.effect[1, 0, 0] < s.effect[0, 0, 0]  # no interaction term: less inhibition


def test_treatment_schedules_and_grids():
    t = Treatment("A_ip", "mg/kg", times=(7, 9, 11), every=7, count=3)
    doses, params = t.part(10)
    assert params == {} and sorted(d.time for d in doses) == [7, 9, 11]
    assert all(d.every == 7 and d.count == 3 and d.amount == 10 for d in doses)
    assert t.part(0) == ([], {})
    shifted = t.with_schedule(time=8)
    assert shifted.times == (8, 10, 12)
    p = Treatment("RT1_dose+RT2_dose", parameter=True)
    assert p.part(2.0) == ([], {"RT1_dose": 2.0, "RT2_dose": 2.0}) and p.label == "RT1_dose+RT2_dose"
    a, b = parse_grid("0.4:10.9:3,0.1:10:3:log")
    np.testing.assert_allclose(a, [0.4, 5.65, 10.9])
    np.testing.assert_allclose(b, [0.1, 1.0, 10.0])
    assert dose_grid(1, 2, 2, zero=True).tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("bad, match", [
    ("0.4:10.9:3", "two axes"), ("a:1:3,0:1:3", "numbers"), ("1:2:3:cubic,0:1:3", "MIN:MAX:N"),
    ("2:1:3,0:1:3", "MIN <= MAX"), ("-1:1:5,0:1:3", "0 <= MIN"), ("0:1:3:log,0:1:3", "log axis needs MIN > 0"),
    ("0:1:0,0:1:3", "N must be >= 1"),
])
def test_bad_grids_are_refused(bad, match):
    with pytest.raises(QSPError, match=match):
        parse_grid(bad)


def test_bad_surface_input_is_refused(pembro_bev):
    with pytest.raises(QSPError, match="Treatment"):
        simulate_surface(pembro_bev, "A1", BEV, [1.0], [1.0])
    with pytest.raises(QSPError, match="tgi:OUTPUT:TIME"):
        simulate_surface(pembro_bev, PEMBRO, BEV, [1.0], [1.0], response="tgi:W")
    with pytest.raises(QSPError, match="d1"):
        simulate_surface(pembro_bev, PEMBRO, BEV, [-1.0], [1.0])
    with pytest.raises(QSPError):
        simulate_surface(pembro_bev, Treatment("nope"), BEV, [1.0], [1.0], mono_points=3)
