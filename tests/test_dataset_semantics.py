"""NONMEM's dosing rules in the dataset engine and in qsp.Dose, checked against closed forms.

The model is the one-compartment model with first-order absorption of tests/models/nonmem_1001.ant
(CL 1.1 L/h, V 20 L, KA 1.5 /h, CP = central / (V/1000)); k = CL/V.
"""

import io
from pathlib import Path

import numpy as np
import pytest

import qsp
from qsp.datasets import DatasetError, read_dataset, simulate_dataset

MODEL = Path(__file__).resolve().parent / "models" / "nonmem_1001.ant"
CL, V, KA = 1.1, 20.0, 1.5
K = CL / V
CMT = {1: "depot", 2: "central"}


@pytest.fixture(scope="module")
def model():
    return qsp.Model.from_file(MODEL)


def table(text: str):
    return read_dataset(io.StringIO(text), cmt_map=CMT)


def iv(dose, t):
    """CP of an IV bolus ``dose`` mg given at 0, at times ``t`` (h)."""
    t = np.asarray(t, float)
    return np.where(t >= 0, dose / V * np.exp(-K * np.maximum(t, 0)), 0.0) * 1000


def infusion(dose, duration, t):
    """CP of a zero-order infusion of ``dose`` mg over ``duration`` h started at 0."""
    t = np.asarray(t, float)
    r = dose / duration
    during = r / CL * (1 - np.exp(-K * np.clip(t, 0, None)))
    after = r / CL * (1 - np.exp(-K * duration)) * np.exp(-K * (t - duration))
    return np.where(t < 0, 0.0, np.where(t <= duration, during, after)) * 1000


def oral(dose, t):
    t = np.asarray(t, float)
    tt = np.maximum(t, 0)
    return np.where(t >= 0, dose * KA / (V * (KA - K)) * (np.exp(-K * tt) - np.exp(-KA * tt)), 0.0) * 1000


def obs_rows(ts, id_=1):
    return "".join(f"{id_},{t},0,.,2,0,0,0,0\n" for t in ts)


HEAD = "ID,TIME,EVID,AMT,CMT,RATE,II,ADDL,SS\n"


def test_steady_state_bolus_is_the_geometric_series(model):
    ts = [0, 1, 5, 11.5]
    sim = simulate_dataset(model, table(HEAD + "1,0,1,100,2,0,12,0,1\n" + obs_rows(ts)), "CP")
    got = sim.observed["CP"].to_numpy()
    want = sum(iv(100, np.array(ts) + 12 * k) for k in range(0, 400))
    assert np.allclose(got, want, rtol=1e-6)
    assert sim.steady_state["converged"].all()


def test_steady_state_infusion_longer_than_the_interval(model):
    # 100 mg at 2 mg/h lasts 50 h, every 12 h: about four infusions run at once
    ts = [0, 3, 7.5, 11.9, 30, 60]
    sim = simulate_dataset(model, table(HEAD + "1,0,1,100,2,2,12,0,1\n" + obs_rows(ts)), "CP")
    got = sim.observed["CP"].to_numpy()
    ts = np.array(ts)
    # the SS record's train: doses at 0, -12, -24, ... ; no ADDL, so nothing starts after 0
    want = sum(infusion(100, 50, ts + 12 * k) for k in range(0, 600))
    assert np.allclose(got, want, rtol=1e-6)


def test_ss2_adds_the_steady_state_to_the_current_state(model):
    ts = [6, 7, 12, 17.9]
    data = HEAD + "1,0,1,100,2,0,0,0,0\n1,6,1,50,2,0,12,0,2\n" + obs_rows(ts)
    got = simulate_dataset(model, table(data), "CP").observed["CP"].to_numpy()
    ts = np.array(ts)
    want = iv(100, ts) + sum(iv(50, ts - 6 + 12 * k) for k in range(0, 400))
    assert np.allclose(got, want, rtol=1e-6)


def test_rows_at_equal_times_run_in_the_order_written(model):
    data = HEAD + "1,0,1,100,2,0,0,0,0\n1,12,0,.,2,0,0,0,0\n1,12,1,100,2,0,0,0,0\n1,12,0,.,2,0,0,0,0\n"
    got = simulate_dataset(model, table(data), "CP").observed["CP"].to_numpy()
    assert np.allclose(got, [iv(100, 12), iv(100, 12) + iv(100, 0)], rtol=1e-7)


def test_an_additional_dose_comes_before_an_observation_at_its_time(model):
    data = HEAD + "1,0,1,100,2,0,12,1,0\n" + obs_rows([12, 13])
    got = simulate_dataset(model, table(data), "CP").observed["CP"].to_numpy()
    want = iv(100, np.array([12, 13])) + iv(100, np.array([0, 1]))
    assert np.allclose(got, want, rtol=1e-7)


def test_reset_cancels_running_infusions_and_pending_doses(model):
    # infusion 0-40 h, ADDL doses at 24 and 48: the reset at 30 stops all of them
    data = (HEAD + "1,0,1,100,2,2.5,24,2,0\n" + obs_rows([29]) + "1,30,3,.,2,0,0,0,0\n"
            + obs_rows([30, 36, 50]) + "1,60,4,100,2,0,0,0,0\n" + obs_rows([61]))
    got = simulate_dataset(model, table(data), "CP").observed["CP"].to_numpy()
    first = infusion(100, 40, 29) + infusion(100, 40, 29 - 24)
    assert np.allclose(got, [first, 0, 0, 0, iv(100, 1)], rtol=1e-6, atol=1e-9)


def test_time_may_restart_at_a_reset(model):
    data = HEAD + "1,0,1,100,2,0,0,0,0\n" + obs_rows([10]) + "1,0,4,100,1,0,0,0,0\n" + obs_rows([2])
    got = simulate_dataset(model, table(data), "CP").observed["CP"].to_numpy()
    assert np.allclose(got, [iv(100, 10), oral(100, 2)], rtol=1e-6)


def test_time_varying_parameter_column_is_carried_forward(model):
    data = ("ID,TIME,EVID,AMT,CMT,CL\n1,0,1,100,2,.\n1,5,0,.,2,1.1\n1,10,2,.,2,2.2\n1,15,0,.,2,.\n"
            "2,0,1,100,2,3.3\n2,5,0,.,2,.\n")
    got = simulate_dataset(model, table(data), "CP").table
    c10 = 100 / V * np.exp(-K * 10)
    want_15 = c10 * np.exp(-2.2 / V * 5) * 1000
    assert np.isclose(got.loc[3, "CP"], c10 * 1000, rtol=1e-6)
    assert np.isclose(got.loc[4, "CP"], want_15, rtol=1e-6)  # the first missing CL takes the first value
    assert np.isclose(got.loc[2, "CP"], iv(100, 5), rtol=1e-6)
    assert np.isclose(got.loc[6, "CP"], 100 / V * np.exp(-3.3 / V * 5) * 1000, rtol=1e-6)


def test_lag_bioavailability_and_modelled_duration_from_numbers_columns_and_parameters():
    m = qsp.Model.from_antimony(MODEL.read_text().replace("KA = 1.5", "KA = 1.5; TLAG = 2"))
    data = ("ID,TIME,EVID,AMT,CMT,RATE,F\n1,0,1,100,2,-2,0.5\n" + "".join(f"1,{t},0,.,2,0,.\n" for t in (1, 2, 5, 9)))
    got = simulate_dataset(m, table(data), "CP", lag={"central": "TLAG"}, bioavailability={"central": "F"},
                           modelled_duration={"central": 4}).observed["CP"].to_numpy()
    ts = np.array([1, 2, 5, 9]) - 2.0
    assert np.allclose(got, infusion(50, 4, ts), rtol=1e-6, atol=1e-9)


def test_steady_state_constant_infusion(model):
    data = "ID,TIME,EVID,AMT,CMT,RATE,II,SS\n1,0,1,0,2,5,0,1\n1,0,0,.,2,0,0,0\n1,3,0,.,2,0,0,0\n"
    got = simulate_dataset(model, table(data), "CP").observed["CP"].to_numpy()
    css = 5 / CL * 1000
    # the record gives no dose (AMT 0): the steady state is the state at its time, then nothing runs
    assert np.allclose(got, [css, css * np.exp(-K * 3)], rtol=1e-6)


def test_dose_lag_bioavailability_and_steady_state_in_simulate(model):
    res = model.simulate(times=[0, 1, 3, 6], outputs=["CP"],
                         doses=qsp.Dose("central", 100, every=12, count=2, lag=1, bioavailability=0.5))
    assert np.allclose(res["CP"], iv(50, np.array([0, 1, 3, 6]) - 1), rtol=1e-5, atol=1e-9)
    ss = model.simulate(times=[0, 2, 6, 12, 14], outputs=["CP"], rtol=1e-8,
                        doses=qsp.Dose("depot", 100, every=12, count=2, steady_state=True))
    ts = np.array([0, 2, 6, 12, 14])
    want = sum(oral(100, ts + 12 * k) for k in range(0, 300)) + oral(100, ts - 12) * (ts >= 12)
    assert np.allclose(ss["CP"], want, rtol=1e-6)


def test_dose_errors_are_one_line(model):
    with pytest.raises(qsp.DosingError, match="steady_state=True but no 'every'"):
        qsp.Dose("central", 1, steady_state=True)
    with pytest.raises(qsp.DosingError, match="'lag'"):
        qsp.Dose("central", 1, lag=-1)
    with pytest.raises(qsp.DosingError, match="equilibrate"):
        model.simulate(10, doses=qsp.Dose("central", 1, every=12, steady_state=True), equilibrate=100)


def test_bad_dataset_options_are_one_line(model):
    data = table(HEAD + "1,0,1,100,2,-1,0,0,0\n" + obs_rows([1]))
    with pytest.raises(DatasetError, match=r"row 1 \(line 2\), column 'RATE': -1 asks for a modelled rate"):
        simulate_dataset(model, data, "CP")
    with pytest.raises(qsp.UnknownIdError, match="LAGX"):
        simulate_dataset(model, data, "CP", lag={"central": "LAGX"})
    with pytest.raises(qsp.UnknownIdError, match="centrall"):
        simulate_dataset(model, data, "CP", lag={"centrall": 1})
    bad = read_dataset(io.StringIO(HEAD + "1,0,1,100,3,0,0,0,0\n"), cmt_map={1: "depot", 2: "central", 3: "gut"})
    with pytest.raises(qsp.InputError, match=r"row 1 .*'gut' is not a dosed species"):
        simulate_dataset(model, bad, "CP")
    withcl = table("ID,TIME,AMT,CMT,CL\n1,0,100,2,1\n")
    with pytest.raises(qsp.InputError, match="given by params and by dataset columns"):
        simulate_dataset(model, withcl, "CP", params={"CL": 2})


def test_covariate_model_sets_parameters_per_subject(model):
    cov = qsp.CovariateModel.parse(["CL~WT:power(70,0.75)"])
    data = "ID,TIME,EVID,AMT,CMT,WT\n1,0,1,100,2,35\n1,6,0,.,2,.\n2,0,1,100,2,140\n2,6,0,.,2,140\n"
    got = simulate_dataset(model, table(data), "CP", covariate_model=cov).observed["CP"].to_numpy()
    cl = CL * (np.array([35, 140]) / 70) ** 0.75
    assert np.allclose(got, 100 / V * np.exp(-cl / V * 6) * 1000, rtol=1e-6)


def test_an_ensemble_runs_a_regimen_with_a_steady_state_dose(model):
    import pandas as pd

    from qsp import ensemble

    dose = qsp.Dose("central", 100, every=12, count=2, steady_state=True)
    samples = pd.DataFrame({"CL": [1.1, 2.2]})
    res = ensemble.run(model, samples, regimens={"ss": [dose]}, metrics=["value_at:CP:6"], times=[0, 6, 12])
    k = samples["CL"].to_numpy() / V
    want = 100 / V * np.exp(-k * 6) / (1 - np.exp(-k * 12)) * 1000
    assert np.allclose(res.table["value_at:CP:6"], want, rtol=1e-5)
    with pytest.raises(qsp.DosingError, match="cannot be combined with equilibrate"):
        ensemble.run(model, samples, regimens={"ss": [dose]}, metrics=["value_at:CP:6"], times=[0, 6, 12],
                     equilibrate=10)


def test_nocb_applies_a_value_over_the_interval_ending_at_its_row(model):
    data = "ID,TIME,EVID,AMT,CMT,CL\n1,0,1,100,2,1.1\n1,5,0,.,2,1.1\n1,10,0,.,2,2.2\n1,15,0,.,2,2.2\n"
    locf = simulate_dataset(model, table(data), "CP").observed["CP"].to_numpy()
    nocb = simulate_dataset(model, table(data), "CP", covariate_interpolation="nocb").observed["CP"].to_numpy()
    c5 = 100 / V * np.exp(-K * 5)
    assert np.allclose(locf, np.array([c5, c5 * np.exp(-K * 5), c5 * np.exp(-K * 5 - 2.2 / V * 5)]) * 1000)
    assert np.allclose(nocb, np.array([c5, c5 * np.exp(-2.2 / V * 5), c5 * np.exp(-2.2 / V * 10)]) * 1000)
    with pytest.raises(qsp.InputError, match="covariate_interpolation must be one of"):
        simulate_dataset(model, table(data), "CP", covariate_interpolation="linear")


def test_amount_unit_converts_with_the_drug_molecular_weight():
    m = qsp.load_model("trimeric")
    data = read_dataset(io.StringIO("ID,TIME,AMT,CMT\n1,0,10,1\n1,1,.,1\n1,7,.,1\n"), cmt_map={1: "Cp"})
    got = simulate_dataset(m, data, "[Cp]", amount_unit="mg").observed["[Cp]"].to_numpy()
    want = m.simulate(times=[0, 1, 7], outputs=["[Cp]"], rtol=1e-8, doses=qsp.Dose("Cp", 10, unit="mg"))["[Cp]"]
    assert np.allclose(got, want[1:], rtol=1e-6)
    with pytest.raises(qsp.DosingError, match="per kg"):
        simulate_dataset(m, data, "[Cp]", amount_unit="mg/kg")
