"""PetabObjective on small problems with known answers: steady states (time inf, pre-equilibration),
priors, residuals, Laplace noise and placeholders, export, pickling to a fresh process, and the
one-line errors of problems qsp refuses."""

from __future__ import annotations

import math
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import qsp
from qsp.fit import noise
from qsp.fit.petab_problem import PetabObjective
from qsp.sbml import antimony_to_sbml

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]

TURNOVER = """
model turnover
  compartment cell = 1
  species R in cell = 1
  ksyn = 2; kdeg = 0.5; stim = 1
  J1: -> R; ksyn * stim
  J2: R -> ; kdeg * R
end
"""

OSCILLATOR = """
model osc
  compartment cell = 1
  X' = w * Y
  Y' = -w * X
  X = 1; Y = 0; w = 1
end
"""


def write_problem(d: Path, antimony: str, conditions: dict, measurements: dict, observables: dict,
                  parameters: dict) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.xml").write_text(antimony_to_sbml(antimony))
    for name, table in (("conditions", conditions), ("measurements", measurements),
                        ("observables", observables), ("parameters", parameters)):
        pd.DataFrame(table).to_csv(d / f"{name}.tsv", sep="\t", index=False)
    config = {"format_version": 1, "parameter_file": "parameters.tsv",
              "problems": [{"sbml_files": ["model.xml"], "condition_files": ["conditions.tsv"],
                            "measurement_files": ["measurements.tsv"], "observable_files": ["observables.tsv"]}]}
    (d / "problem.yaml").write_text(yaml.safe_dump(config))
    return d / "problem.yaml"


def _params(ids, nominal, estimate, scale="log10", **extra):
    n = len(ids)
    return {"parameterId": ids, "parameterScale": [scale] * n, "lowerBound": [1e-3] * n, "upperBound": [1e3] * n,
            "nominalValue": nominal, "estimate": estimate, **extra}


TIMES = [0.0, 1.0, 5.0, np.inf, np.inf]
MEASURED = [4.1, 7.0, 11.0, 12.2, 3.9]


@pytest.fixture(scope="module")
def turnover(tmp_path_factory):
    """R' = ksyn*stim - kdeg*R: pre-equilibrated at stim 1 (R = 4), then stim 3 (R -> 12); log-normal noise."""
    return write_problem(
        tmp_path_factory.mktemp("turnover"), TURNOVER, {"conditionId": ["base", "high"], "stim": [1, 3]},
        {"observableId": ["obsR"] * 5, "preequilibrationConditionId": ["base"] * 4 + [""],
         "simulationConditionId": ["high"] * 4 + ["base"], "time": TIMES, "measurement": MEASURED},
        {"observableId": ["obsR"], "observableFormula": ["scale * R"], "noiseFormula": ["0.5"],
         "observableTransformation": ["log"], "noiseDistribution": ["normal"]},
        _params(["ksyn", "kdeg", "scale"], [2, 0.5, 1.0], [1, 1, 0]))


def _analytic(ksyn=2.0, kdeg=0.5):
    r0, r1 = ksyn / kdeg, 3 * ksyn / kdeg
    return np.array([r0, r1 - (r1 - r0) * math.exp(-kdeg), r1 - (r1 - r0) * math.exp(-5 * kdeg), r1, r0])


def test_steady_states_and_preequilibration(turnover):
    obj = PetabObjective.from_yaml(turnover)
    assert obj.space.ids == ("ksyn", "kdeg") and obj.space.scales == ("log10", "log10")
    sim = obj.simulate()
    np.testing.assert_allclose(sim["simulation"], _analytic(), rtol=1e-7)
    expected = noise.nllh_terms(np.array(MEASURED), _analytic(), 0.5, "lognormal").sum()
    assert obj.llh() == pytest.approx(-expected, abs=1e-6)
    x = obj.point({"ksyn": 3.0, "kdeg": 0.4})
    np.testing.assert_allclose(obj.simulate(x)["simulation"], _analytic(3.0, 0.4), rtol=1e-7)
    assert obj.nllh(x) == pytest.approx(noise.nllh_terms(np.array(MEASURED), _analytic(3.0, 0.4), 0.5,
                                                         "lognormal").sum(), abs=1e-6)


def test_residuals_are_a_least_squares_form(turnover):
    obj = PetabObjective.from_yaml(turnover)
    assert obj.least_squares
    gaps = []
    for x in (obj.space.nominal, obj.point({"ksyn": 3.0}), obj.point({"kdeg": 0.2})):
        r = obj.residuals(x)
        assert r.shape == (5,)
        gaps.append(obj.nllh(x) - 0.5 * float(r @ r))
    assert np.ptp(gaps) < 1e-9


def test_estimated_noise_and_priors(tmp_path):
    prior = {"objectivePriorType": ["normal", "parameterScaleNormal", ""],
             "objectivePriorParameters": ["2;0.5", "-0.3;0.2", ""]}
    path = write_problem(
        tmp_path, TURNOVER, {"conditionId": ["base"]},
        {"observableId": ["obsR"] * 3, "simulationConditionId": ["base"] * 3, "time": [0.0, 2.0, 8.0],
         "measurement": [1.1, 2.9, 3.8], "noiseParameters": ["sd"] * 3},
        {"observableId": ["obsR"], "observableFormula": ["R"], "noiseFormula": ["noiseParameter1_obsR"]},
        _params(["ksyn", "kdeg", "sd"], [2, 0.5, 0.3], [1, 1, 1], **prior))
    obj = PetabObjective.from_yaml(path)
    assert obj.with_prior and not obj.least_squares and obj.residuals(obj.space.nominal) is None
    x = obj.point({"ksyn": 2.5, "kdeg": 0.6})
    prior_terms = -(math.log(1 / (0.5 * math.sqrt(2 * math.pi))) - 0.5 * ((2.5 - 2) / 0.5) ** 2) \
        - (math.log(1 / (0.2 * math.sqrt(2 * math.pi))) - 0.5 * ((math.log10(0.6) + 0.3) / 0.2) ** 2)
    assert obj.nllh(x) == pytest.approx(-obj.llh(x) + prior_terms, abs=1e-9)


def test_laplace_noise_and_placeholders_match_petab(tmp_path):
    import petab.v1 as petab

    path = write_problem(
        tmp_path, TURNOVER, {"conditionId": ["base", "high"], "stim": [1, 3]},
        {"observableId": ["obsR"] * 4, "simulationConditionId": ["base", "base", "high", "high"],
         "time": [1.0, 4.0, 1.0, 4.0], "measurement": [2.0, 3.5, 5.0, 9.0],
         "observableParameters": ["offset;2", "offset;2", "offset;3", "offset;3"],
         "noiseParameters": [0.4, 0.4, 0.8, 0.8]},
        {"observableId": ["obsR"],
         "observableFormula": ["observableParameter1_obsR + R * observableParameter2_obsR / 2"],
         "noiseFormula": ["noiseParameter1_obsR * (1 + 0 * time)"], "noiseDistribution": ["laplace"]},
        _params(["ksyn", "kdeg", "offset"], [2, 0.5, 0.25], [1, 1, 0]))
    obj = PetabObjective.from_yaml(path)
    assert not obj.least_squares and obj.residuals(obj.space.nominal) is None
    table = obj.simulate().drop(columns=["measurement", "sigma", "residual"])
    p = petab.Problem.from_yaml(str(path))
    assert obj.llh() == pytest.approx(petab.calculate_llh(p.measurement_df, table, p.observable_df,
                                                          p.parameter_df), abs=1e-9)
    # R(0) = 1 (no pre-equilibration): R(t) = 4 - 3 exp(-t/2) at stim 1, 12 - 11 exp(-t/2) at stim 3
    expected = [0.25 + (4 - 3 * math.exp(-0.5)), 0.25 + (4 - 3 * math.exp(-2)),
                0.25 + (12 - 11 * math.exp(-0.5)) * 1.5, 0.25 + (12 - 11 * math.exp(-2)) * 1.5]
    np.testing.assert_allclose(table["simulation"], expected, rtol=1e-7)


def test_to_petab_writes_new_nominal_values(turnover, tmp_path):
    import petab.v1 as petab

    obj = PetabObjective.from_yaml(turnover)
    x = obj.point({"ksyn": 3.0, "kdeg": 0.4})
    written = obj.to_petab(tmp_path / "out", x)
    assert not petab.lint_problem(petab.Problem.from_yaml(written))
    again = PetabObjective.from_yaml(written)
    np.testing.assert_allclose(again.space.nominal, x, rtol=1e-12)
    assert again.llh() == pytest.approx(obj.llh(x), abs=1e-9)
    fixed = obj.with_nominal({"scale": 2.0})
    assert fixed.simulate()["simulation"].to_numpy() == pytest.approx(2 * _analytic(), rel=1e-7)
    assert obj.llh() != pytest.approx(fixed.llh())  # the original is unchanged
    with pytest.raises(qsp.UnknownIdError, match="did you mean 'kdeg'"):
        obj.with_nominal({"kdge": 1.0})
    with pytest.raises(qsp.UnknownIdError):
        obj.point({"scale": 1.0})  # fixed, not estimated
    with pytest.raises(qsp.InputError, match="one value per estimated parameter"):
        obj.nllh(np.zeros(3))


def _nllh_in_worker(data: bytes) -> float:
    obj = pickle.loads(data)
    return obj.nllh(obj.space.nominal)


def test_pickled_objective_runs_in_a_fresh_process(turnover):
    obj = PetabObjective.from_yaml(turnover)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        value = pool.submit(_nllh_in_worker, pickle.dumps(obj)).result(timeout=120)
    assert value == pytest.approx(obj.nllh(obj.space.nominal), rel=1e-12)


def test_preequilibration_without_steady_state_fails_clearly(tmp_path):
    path = write_problem(
        tmp_path, OSCILLATOR, {"conditionId": ["c"]},
        {"observableId": ["o"], "preequilibrationConditionId": ["c"], "simulationConditionId": ["c"],
         "time": [1.0], "measurement": [0.5]},
        {"observableId": ["o"], "observableFormula": ["X"], "noiseFormula": ["1"]},
        _params(["w"], [1.0], [1], scale="lin"))
    obj = PetabObjective.from_yaml(path)
    assert obj.nllh(obj.space.nominal) == math.inf
    assert "reached no steady state" in obj.last_error
    with pytest.raises(qsp.SimulationError, match="pre-equilibration of condition 'c' reached no steady state") \
            as exc:
        obj.llh()
    assert "\n" not in str(exc.value)


def test_refused_problems_say_why_in_one_line(tmp_path):
    algebraic = TURNOVER.replace("end", "  0 = B - 2 * R\n  B = 2\nend")
    path = write_problem(
        tmp_path / "alg", algebraic, {"conditionId": ["c"]},
        {"observableId": ["o"], "simulationConditionId": ["c"], "time": [1.0], "measurement": [0.5]},
        {"observableId": ["o"], "observableFormula": ["R"], "noiseFormula": ["1"]},
        _params(["ksyn", "kdeg"], [2, 0.5], [1, 1]))
    with pytest.raises(qsp.UnsupportedModelError, match="algebraic rule"):
        PetabObjective.from_yaml(path)
    bad = write_problem(
        tmp_path / "bad", TURNOVER, {"conditionId": ["c"]},
        {"observableId": ["other"], "simulationConditionId": ["c"], "time": [1.0], "measurement": [0.5]},
        {"observableId": ["o"], "observableFormula": ["R"], "noiseFormula": ["1"]},
        _params(["ksyn", "kdeg"], [2, 0.5], [1, 1]))
    with pytest.raises(qsp.InputError, match="invalid PEtab problem .*'other'"):
        PetabObjective.from_yaml(bad)
    with pytest.raises(qsp.InputError, match="does not exist"):
        PetabObjective.from_yaml(tmp_path / "nowhere.yaml")


def test_time_zero_only_groups_and_unsorted_times(tmp_path):
    path = write_problem(
        tmp_path, TURNOVER, {"conditionId": ["base", "high"], "stim": [1, 3]},
        {"observableId": ["obsR"] * 5, "preequilibrationConditionId": ["", "base", "", "", ""],
         "simulationConditionId": ["base", "high", "high", "high", "high"],
         "time": [0.0, 0.0, np.inf, 2.0, 1.0], "measurement": [1.0, 4.0, 12.0, 9.0, 6.0]},
        {"observableId": ["obsR"], "observableFormula": ["R"], "noiseFormula": ["1"]},
        _params(["ksyn", "kdeg"], [2, 0.5], [1, 1], scale="lin"))
    sim = PetabObjective.from_yaml(path).simulate()["simulation"].to_numpy()
    np.testing.assert_allclose(sim, [1.0, 4.0, 12.0, 12 - 11 * math.exp(-1), 12 - 11 * math.exp(-0.5)], rtol=1e-7)


def test_cli_failure_is_one_line(tmp_path, capfd):
    from tests.cli_checks import one_line, run_cli

    path = write_problem(
        tmp_path, OSCILLATOR, {"conditionId": ["c"]},
        {"observableId": ["o"], "preequilibrationConditionId": ["c"], "simulationConditionId": ["c"],
         "time": [1.0], "measurement": [0.5]},
        {"observableId": ["o"], "observableFormula": ["X"], "noiseFormula": ["1"]},
        _params(["w"], [1.0], [1], scale="lin"))
    rc, err = run_cli(capfd, "petab", "llh", path, "--json")
    assert rc == 1 and "reached no steady state" in one_line(err)
