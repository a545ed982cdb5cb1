"""SAEM runs are reproducible: the same seed gives the same estimates, on the serial and the processes
backends alike (each subject's draws come from a generator seeded by the master seed, the stage, the
iteration and the subject, never from the order in which chunks finish). Also short runs of the other
code paths on four theophylline subjects: chains, normal and logit parameters, K1 = 0, censored rows."""

from pathlib import Path

import pandas as pd
import pytest

import qsp
from qsp.datasets import read_dataset
from qsp.nlme import PopulationModel, saem

DATA = Path(__file__).resolve().parents[2] / "shared" / "references" / "data" / "nlmixr2data"
MODELS = Path(__file__).resolve().parent / "models"

pytestmark = pytest.mark.skipif(not (DATA / "theo_sd.csv").is_file(), reason="reference data not present")

POP = PopulationModel.from_dict({
    "parameters": {"KA": {"initial": 1.0, "random": True}, "CL": {"initial": 3.0, "random": True},
                   "V": {"initial": 30.0}},
    "observe": {"DV": "CP"}, "error": "combined"})


@pytest.fixture(scope="module")
def problem():
    table = read_dataset(DATA / "theo_sd.csv", evid_style="rxode2", cmt_map={1: "depot", 2: "central"}).to_pandas()
    small = read_dataset(table.loc[table["ID"] <= 4].reset_index(drop=True), cmt_map={1: "depot", 2: "central"})
    return qsp.Model.from_file(MODELS / "one_cpt_oral.ant"), small


def _fit(problem, seed, backend="serial", chains=1):
    model, data = problem
    return saem(model, data, POP, seed=seed, iterations=(6, 4), chains=chains, is_samples=10, backend=backend,
                rtol=1e-6, atol=1e-9)


def test_same_seed_same_estimates_on_every_backend(problem):
    first = _fit(problem, 7)
    again = _fit(problem, 7)
    pd.testing.assert_frame_equal(first.estimates, again.estimates)
    pd.testing.assert_frame_equal(first.trace, again.trace)
    pd.testing.assert_frame_equal(first.ebes, again.ebes)
    assert first.llh == again.llh
    parallel = _fit(problem, 7, qsp.ensemble.ProcessBackend(2))
    pd.testing.assert_frame_equal(first.estimates, parallel.estimates)
    pd.testing.assert_frame_equal(first.trace, parallel.trace)
    assert first.llh == parallel.llh


def test_another_seed_other_draws(problem):
    a, b = _fit(problem, 7), _fit(problem, 8)
    assert not a.trace.drop(columns=["iteration", "phase"]).iloc[-1].equals(
        b.trace.drop(columns=["iteration", "phase"]).iloc[-1])


def test_chains_run(problem):
    res = _fit(problem, 7, chains=2)
    assert res.settings.chains == 2 and len(res.ebes) == 4
    assert res.summary()["chains"] == 2


def test_normal_and_logit_parameters(problem):
    model, data = problem
    pop = PopulationModel.from_dict({
        "parameters": {"KA": {"initial": 1.5, "random": True, "transform": "logit", "low": 0.1, "high": 10.0},
                       "CL": {"initial": 3.0, "random": True, "omega": 0.5},
                       "V": {"initial": 30.0, "random": True, "transform": "normal", "omega": 5.0}},
        "observe": {"DV": "CP"}, "error": "additive"})
    res = saem(model, data, pop, seed=1, iterations=(6, 4), is_samples=10, rtol=1e-6, atol=1e-9)
    est = res.estimates.set_index("parameter")["estimate"]
    assert 0.1 < est["KA"] < 10.0 and est["V"] > 0
    assert (res.ebes["KA"] > 0.1).all() and (res.ebes["KA"] < 10.0).all()
    # a normal parameter's eta is additive: V_i = V + eta_V
    assert res.ebes["V"].to_numpy() == pytest.approx(est["V"] + res.ebes["eta_V"].to_numpy())


def test_smoothing_only_starts_with_a_full_step(problem):
    model, data = problem
    res = saem(model, data, POP, seed=1, iterations=(0, 8), burn=2, is_samples=5, standard_errors=False,
               rtol=1e-6, atol=1e-9)
    assert 15 < res.typical["V"] < 60 and 1 < res.typical["CL"] < 6
    assert res.trace["phase"].tolist() == ["burn"] * 2 + ["smoothing"] * 6


def test_censored_rows_below_lloq(problem):
    model, data = problem
    table = data.to_pandas()
    low = (table["EVID"] == 0) & (table["DV"] < 2.0)
    table["BLQ"] = low.astype(float)
    table["LLOQ"] = 2.0
    censored = read_dataset(table.reset_index(drop=True), cmt_map={1: "depot", 2: "central"})
    pop = PopulationModel.from_dict({"error": "additive", "observe": {"DV": "CP"},
                                     "parameters": {"KA": {"initial": 1.0, "random": True},
                                                    "CL": {"initial": 3.0, "random": True}, "V": {"initial": 30.0}}})
    res = saem(model, censored, pop, seed=1, iterations=(6, 4), is_samples=10, rtol=1e-6, atol=1e-9)
    assert res.problem.measurements["censored"].sum() == int(low.sum()) > 0
    assert res.n_observations == int((table["EVID"] == 0).sum())
    assert pd.Series(res.typical).notna().all()
