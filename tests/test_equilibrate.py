"""Pre-equilibration: the untreated model runs first, without the regimen's parameters and without
time-triggered events; the dosed run starts from the state it reaches."""

import numpy as np
import pytest

import qsp

CLOCK_EVENTS = """
model m
  x = 0
  x' = 1
  y = 0
  k = 1
  E5: at (time >= 5), t0=false: y = y + 10 * k
  species A = 1
  J: A -> ; 0.1 * A
end
"""


def test_time_events_do_not_fire_during_the_pre_run():
    m = qsp.Model.from_antimony(CLOCK_EVENTS)
    plain = m.simulate(10, times=[0, 4, 6, 10], outputs=["y", "x", "A"])
    eq = m.simulate(10, times=[0, 4, 6, 10], outputs=["y", "x", "A"], equilibrate=30, rtol=1e-10, atol=1e-14)
    assert plain["y"].tolist() == [0, 0, 10, 10]
    assert eq["y"].tolist() == [0, 0, 10, 10]       # fired once, in the dosed run, at t = 5
    np.testing.assert_allclose(eq["x"], 30 + np.array([0, 4, 6, 10]), rtol=1e-9)  # the state is carried over
    np.testing.assert_allclose(eq["A"], np.exp(-0.1 * (30 + eq.time)), rtol=1e-5)
    # the gate is internal: not a parameter of the model, and the model behaves as written without it
    assert not any(p.startswith("qsp_") for p in m.parameters.index)
    assert m.simulate(10, times=[0, 4, 6, 10], outputs=["y"])["y"].tolist() == [0, 0, 10, 10]


def test_regimen_parameters_wait_for_the_dosed_run():
    m = qsp.Model.from_antimony(CLOCK_EVENTS)
    m.metadata = {"regimens": {"double": {"params": {"k": 2}}}}
    eq = m.simulate(10, times=[0, 6], outputs=["y"], regimen="double", equilibrate=30)
    assert eq["y"].tolist() == [0, 20]


@pytest.fixture(scope="module")
def tritherapy():
    return qsp.load_model("tritherapy")


def test_tritherapy_pre_run_is_untreated(tritherapy):
    m = tritherapy
    untreated = m.simulate(30, points=31, outputs=["TV_tot"], regimen="untreated")
    eq = m.simulate(60, points=61, outputs=["TV_tot", "TVd"], regimen="tritherapy", equilibrate=30)
    # TV(0) after a 30-day untreated pre-run is the untreated tumour at day 30 (about 1667 uL)
    assert eq["TV_tot"][0] == pytest.approx(untreated["TV_tot"][-1], rel=1e-4)
    assert eq["TV_tot"][0] == pytest.approx(1667, rel=1e-3)
    # the truth: the untreated state at day 30 given by hand as the initial state of the treated run
    rules = m.rules
    rate_vars = list(rules[rules["type"] == "rate"]["variable"])
    state_ids = sorted(set(m._floating) | set(rate_vars))
    base = m.simulate(30, points=2, outputs=state_ids)
    species = {s: float(base[s][-1]) for s in state_ids if s in m._floating}
    params = {s: float(base[s][-1]) for s in state_ids if s not in m._floating}
    by_hand = m.simulate(60, points=61, outputs=["TV_tot", "TVd"], regimen="tritherapy", initial=species,
                         params=params)
    np.testing.assert_allclose(eq.values, by_hand.values, rtol=1e-4, atol=1e-3)


def test_ensemble_equilibrate_matches_simulate(tritherapy):
    from qsp import ensemble
    import pandas as pd

    res = ensemble.run(tritherapy, pd.DataFrame({"r": [0.25]}) if "r" in tritherapy._parameters
                       else pd.DataFrame(index=[0]), regimens={"tri": "tritherapy"},
                       metrics=["value_at:TVd:12"], t_end=60, equilibrate=30, backend="serial")
    direct = tritherapy.simulate(60, times=[0, 12, 60], outputs=["TVd"], regimen="tritherapy", equilibrate=30,
                                 params={"r": 0.25} if "r" in tritherapy._parameters else None)
    assert res.table.filter(like="TVd").iloc[0, 0] == pytest.approx(direct["TVd"][1], rel=1e-4)


def test_ensemble_pre_run_holds_back_regimen_parameters_but_not_fixed_ones():
    from qsp import ensemble
    import pandas as pd

    m = qsp.Model.from_antimony("model m\n species A = 0\n g = 0\n J: -> A; g\nend")
    m.metadata = {"regimens": {"feed": {"params": {"g": 1}}}}
    # the regimen's g acts only in the dosed run: A(10) = 10; a fixed g acts in the pre-run too: 30 + 10
    res = ensemble.run(m, pd.DataFrame(index=[0]), regimens={"feed": "feed"}, metrics=["final:A"], t_end=10,
                       equilibrate=30, backend="serial", rtol=1e-10, atol=1e-12)
    assert res.table["final:A"].iloc[0] == pytest.approx(10, rel=1e-6)
    res = ensemble.run(m, pd.DataFrame(index=[0]), params={"g": 1}, metrics=["final:A"], t_end=10,
                       equilibrate=30, backend="serial", rtol=1e-10, atol=1e-12)
    assert res.table["final:A"].iloc[0] == pytest.approx(40, rel=1e-6)
    direct = m.simulate(10, points=2, outputs=["A"], regimen="feed", equilibrate=30, rtol=1e-10, atol=1e-12)
    assert direct["A"][-1] == pytest.approx(10, rel=1e-6)
