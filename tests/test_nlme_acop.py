"""Population fits of nlmixr2data's simulated ACOP 2016 datasets, against the truth they were simulated with.

``Bolus_1CPT`` / ``Oral_1CPT``: 120 subjects, one-compartment model (IV bolus; first-order absorption),
typical V 70 L, CL 4 L/h (KA 1 /h), 30 % log-normal IIV, 20 % proportional residual error (drawn on the
log scale, see tests/test_dataset_nlmixr2.py). Each subject's true parameters are columns of the file;
they are left out of the fit (``ignore_columns``), since columns named like model parameters would set
them per subject.

- ``make test`` runs a reduced Bolus fit: the single-dose part (SD 1 rows, 0-72 h) of the first 40
  subjects, 30 + 30 iterations, one move of each MCMC kernel: typical values within 10 % of the truth,
  IIV SDs within 30 %, the residual error within 15 %, the true typical values inside the 95 % intervals.
- ``make conformance`` (``pytest -m slow``) runs the full datasets on the processes backend, 150 + 100
  iterations, one move of each kernel: Bolus with a proportional and with an exponential error (the
  error as drawn: sd 0.2 on the log scale), Oral with an exponential error: typical values within 5 %,
  IIV SDs within 20 %, residual error within 15 %, the true typical values inside the 95 % intervals.
"""

from pathlib import Path

import pandas as pd
import pytest

import qsp
from qsp.datasets import read_dataset
from qsp.nlme import PopulationModel, saem

DATA = Path(__file__).resolve().parents[2] / "shared" / "references" / "data" / "nlmixr2data"
MODELS = Path(__file__).resolve().parent / "models"
TRUTH = {"CL": 4.0, "V": 70.0, "KA": 1.0, "omega": 0.3, "sigma": 0.2}

pytestmark = pytest.mark.skipif(not (DATA / "Bolus_1CPT.csv").is_file(), reason="reference data not present")


def _population(names, truth_columns, error="proportional") -> PopulationModel:
    start = {"CL": 3.0, "V": 50.0, "KA": 1.5}
    return PopulationModel.from_dict({
        "parameters": {n: {"initial": start[n], "random": True, "omega": 0.5} for n in names},
        "observe": {"DV": "CP"}, "error": error, "ignore_columns": truth_columns})


def _check(fit, names, typical_rel, omega_rel, sigma_rel=0.15):
    est = fit.estimates.set_index("parameter")
    for n in names:
        value, se = est.loc[n, "estimate"], est.loc[n, "se"]
        assert value == pytest.approx(TRUTH[n], rel=typical_rel), n
        assert abs(value - TRUTH[n]) <= 1.96 * se, f"{n}: {TRUTH[n]} outside {value:.4g} +- 1.96 * {se:.3g}"
        assert est.loc[f"omega_{n}", "estimate"] == pytest.approx(TRUTH["omega"], rel=omega_rel), n
    sigma = est.loc[est["kind"] == "residual", "estimate"]                 # sigma_prop, or sigma_add (log scale)
    assert len(sigma) == 1 and sigma.iloc[0] == pytest.approx(TRUTH["sigma"], rel=sigma_rel)


def test_bolus_reduced():
    table = pd.read_csv(DATA / "Bolus_1CPT.csv")
    table = table.loc[(table["ID"] <= 40) & (table["SD"] == 1)].reset_index(drop=True)
    data = read_dataset(table, missing={"SS": [99]}, cmt_map={1: "central"})
    model = qsp.Model.from_file(MODELS / "one_cpt_iv.ant")
    fit = saem(model, data, _population(["CL", "V"], ["V", "CL"]), seed=1, iterations=(30, 30), kernels=(1, 1, 1),
               is_samples=50)
    assert fit.n_subjects == 40 and fit.n_observations == 759
    _check(fit, ["CL", "V"], typical_rel=0.10, omega_rel=0.30)


@pytest.mark.slow
@pytest.mark.timeout(3600)   # a few minutes on 2 free cores; far more on busy ones
@pytest.mark.parametrize("error", ["proportional", "exponential"])
def test_bolus_full(error):
    data = read_dataset(DATA / "Bolus_1CPT.csv", missing={"SS": [99]}, cmt_map={1: "central"})
    model = qsp.Model.from_file(MODELS / "one_cpt_iv.ant")
    fit = saem(model, data, _population(["CL", "V"], ["V", "CL"], error), seed=1, iterations=(150, 100),
               kernels=(1, 1, 1), is_samples=100, backend="processes")
    print(fit.estimates.to_string(), fit.summary(), sep="\n")
    assert fit.n_subjects == 120
    _check(fit, ["CL", "V"], typical_rel=0.05, omega_rel=0.20)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_oral_full():
    data = read_dataset(DATA / "Oral_1CPT.csv", missing={"SS": [99]}, cmt_map={1: "depot", 2: "central"})
    model = qsp.Model.from_file(MODELS / "one_cpt_oral.ant")
    fit = saem(model, data, _population(["KA", "CL", "V"], ["V", "CL", "KA"], "exponential"), seed=1,
               iterations=(150, 100), kernels=(1, 1, 1), is_samples=100, backend="processes")
    print(fit.estimates.to_string(), fit.summary(), sep="\n")
    assert fit.n_subjects == 120
    _check(fit, ["KA", "CL", "V"], typical_rel=0.05, omega_rel=0.20)
