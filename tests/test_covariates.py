"""Covariate models: the four effect forms against their formulas, text and JSON round-trips, one-line errors."""

import json

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import covariates as cv

PEOPLE = pd.DataFrame({"WT": [35.0, 70.0, 140.0, 80.0], "AGE": [20.0, 40.0, 60.0, 40.0],
                       "SEX": ["F", "M", "F", "M"]})
TYPICAL = {"CL": 4.0, "V": 70.0, "KA": 1.0}


@pytest.fixture()
def cov():
    return qsp.CovariateModel([
        cv.power("CL", "WT", reference=70, exponent=0.75),
        cv.power("V", "WT", reference=70, exponent=1.0),
        cv.linear("V", "AGE", reference=40, slope=0.01),
        cv.exponential("KA", "AGE", reference=40, coefficient=-0.02),
        cv.categorical("CL", "SEX", {"F": 0.8, "M": 1.0}),
    ])


def test_effects_multiply_per_parameter(cov):
    t = cov.apply(PEOPLE, typical=TYPICAL)
    wt, age = PEOPLE.WT.to_numpy(), PEOPLE.AGE.to_numpy()
    sex = np.where(PEOPLE.SEX == "F", 0.8, 1.0)
    assert list(t.columns) == ["CL", "V", "KA"] and list(t.index) == [0, 1, 2, 3]
    np.testing.assert_allclose(t.CL, 4.0 * (wt / 70) ** 0.75 * sex, rtol=1e-14)
    np.testing.assert_allclose(t.V, 70.0 * (wt / 70) * (1 + 0.01 * (age - 40)), rtol=1e-14)
    np.testing.assert_allclose(t.KA, np.exp(-0.02 * (age - 40)), rtol=1e-14)
    assert cov.parameters == ["CL", "V", "KA"] and cov.covariates == ["WT", "AGE", "SEX"]
    assert cov.categorical_covariates == ["SEX"]


def test_typical_values_from_a_column_a_mapping_or_the_model(cov):
    # a CL column is the individual's value before covariate effects: it wins over typical=
    people = PEOPLE.assign(CL=[1.0, 2.0, 3.0, 4.0])
    t = cov.apply(people, typical=TYPICAL)
    np.testing.assert_allclose(t.CL, [1.0 * 0.5 ** 0.75 * 0.8, 2.0, 3.0 * 2 ** 0.75 * 0.8, 4.0 * (80 / 70) ** 0.75])
    per_row = cov.apply(PEOPLE, typical={**TYPICAL, "V": [10.0, 20.0, 30.0, 40.0]})
    np.testing.assert_allclose(per_row.V, [10.0 * 0.5 * 0.8, 20.0, 30.0 * 2 * 1.2, 40.0 * 80 / 70])
    m = qsp.Model.from_antimony("model m\n CL = 2; V = 10; KA = 0.5\n species A = 0\n A -> ; CL / V * A\nend")
    t = cov.apply(PEOPLE, model=m)
    np.testing.assert_allclose(t.iloc[1], [2.0, 10.0, 0.5])  # the reference individual: the model's values


def test_categorical_levels_coded_as_numbers_or_text():
    cov = qsp.CovariateModel([cv.categorical("CL", "SEX", {0: 1.0, 1: 0.75})])
    t = cov.apply(pd.DataFrame({"SEX": [0, 1, 1.0, "1"]}), typical={"CL": 2.0})
    assert t.CL.tolist() == [2.0, 1.5, 1.5, 1.5]
    with pytest.raises(qsp.InputError, match=r"row 2 has level 2, which is not in the map \(levels: 0, 1\)"):
        cov.apply(pd.DataFrame({"SEX": [0, 1, 2]}), typical={"CL": 2.0})


def test_describe_states_every_assumption(cov):
    d = cov.describe()
    assert list(d.columns) == ["parameter", "covariate", "kind", "reference", "value", "formula"]
    assert d.kind.tolist() == ["power", "power", "linear", "exponential", "categorical"]
    assert d.reference.iloc[:4].tolist() == [70, 70, 40, 40] and np.isnan(d.reference.iloc[4])
    assert d.value.tolist() == [0.75, 1.0, 0.01, -0.02, "F=0.8, M=1"]
    assert d.formula.tolist() == ["CL *= (WT / 70)^0.75", "V *= (WT / 70)^1", "V *= 1 + 0.01 * (AGE - 40)",
                                  "KA *= exp(-0.02 * (AGE - 40))", "CL *= 0.8 if SEX = F, 1 if SEX = M"]


def test_text_form_parses_and_round_trips(cov):
    texts = ["CL~WT:power(70,0.75)", "V~WT:power(70,1)", "V~AGE:linear(40,0.01)", "KA~AGE:exponential(40,-0.02)",
             "CL~SEX:categorical(F=0.8,M=1)"]
    assert qsp.CovariateModel.parse(texts) == cov
    assert cov.to_strings() == texts
    named = qsp.CovariateModel.parse(" CL ~ WT : power(exponent=0.75, reference=70) ")
    assert named.effects[0] == cv.power("CL", "WT", reference=70, exponent=0.75)
    assert qsp.CovariateModel.from_dict(cov.to_dict()) == cov
    assert qsp.CovariateModel.from_dict(json.loads(cov.to_json())) == cov
    assert repr(qsp.CovariateModel.parse("CL~WT:power(70,0.75)")) == "CovariateModel(CL~WT:power(70,0.75))"


def test_files_of_strings_or_objects(cov, tmp_path):
    path = tmp_path / "cov.json"
    cov.to_json(path)
    assert qsp.CovariateModel.from_file(path) == cov
    (tmp_path / "strings.json").write_text(json.dumps(cov.to_strings()))
    assert qsp.CovariateModel.from_file(tmp_path / "strings.json") == cov
    objects = [{"parameter": "CL", "covariate": "WT", "kind": "power", "reference": 70, "exponent": 0.75},
               "CL~SEX:categorical(F=0.8,M=1)",
               {"parameter": "KA", "covariate": "AGE", "kind": "exponential", "reference": 40, "coefficient": -0.02}]
    (tmp_path / "mixed.json").write_text(json.dumps(objects))
    mixed = qsp.CovariateModel.from_file(tmp_path / "mixed.json")
    assert mixed.to_strings() == ["CL~WT:power(70,0.75)", "CL~SEX:categorical(F=0.8,M=1)",
                                  "KA~AGE:exponential(40,-0.02)"]


def test_check_against_a_model_names_close_matches():
    m = qsp.Model.from_antimony("model m\n CL = 2; V = 10\n species A = 0\n A -> ; CL / V * A\nend")
    cov = qsp.CovariateModel.parse(["Cl~WT:power(70,0.75)"])
    with pytest.raises(qsp.UnknownIdError, match=r"'Cl' is not a parameter of model 'm' \(covariate model\); "
                                                 r"did you mean 'CL'\?"):
        cov.check(m)
    with pytest.raises(qsp.UnknownIdError, match="did you mean 'CL'"):
        cov.apply(pd.DataFrame({"WT": [70.0]}), model=m)


@pytest.mark.parametrize("table, typical, message", [
    (pd.DataFrame({"AGE": [1.0]}), TYPICAL, r"covariate column 'WT' is not in the table \(columns: AGE\)"),
    (PEOPLE.assign(WT=[70.0, 0.0, 1.0, 1.0]), TYPICAL, r"WT.*row 1 is 0; a power effect needs values > 0"),
    (PEOPLE.assign(WT=[70.0, np.nan, 1.0, 1.0]), TYPICAL, r"row 1 is nan, not a finite number"),
    (PEOPLE.assign(WT=[70.0, "heavy", 1.0, 1.0]), TYPICAL, r"row 1 is 'heavy', not a finite number"),
    (PEOPLE.assign(SEX=["F", "X", "M", "M"]), TYPICAL, r"row 1 has level 'X', which is not in the map"),
    (PEOPLE.assign(SEX=["F", None, "M", "M"]), TYPICAL, r"row 1 has no value"),
    (PEOPLE.assign(AGE=[40.0, -80.0, 40.0, 40.0]), TYPICAL, r"gives the factor -0.2; a linear effect's factor"),
    (PEOPLE, {"CL": 4.0, "V": 70.0}, r"no typical value for 'KA'"),
    (PEOPLE, {**TYPICAL, "Q": 1.0}, r"typical value given for 'Q', which no covariate effect sets"),
    (PEOPLE, {**TYPICAL, "CL": np.inf}, r"typical value of 'CL': row 0 is not a finite number"),
    (PEOPLE.assign(V=[1.0, np.nan, 1.0, 1.0]), TYPICAL, r"column 'V' \(typical value before covariate effects\): "
                                                        r"row 1 is not a finite number"),
])
def test_bad_tables_are_one_line_input_errors(cov, table, typical, message):
    with pytest.raises(qsp.InputError, match=message) as err:
        cov.apply(table, typical=typical)
    assert "\n" not in str(err.value)


def test_overflowing_factor_is_refused():
    cov = qsp.CovariateModel([cv.exponential("KA", "AGE", reference=40, coefficient=-0.02)])
    with pytest.raises(qsp.InputError, match=r"row 1 \(-100000\) gives a non-finite factor"):
        cov.apply(pd.DataFrame({"AGE": [40.0, -1e5]}), typical={"KA": 1.0})


@pytest.mark.parametrize("make, message", [
    (lambda: qsp.CovariateModel([]), "needs at least one effect"),
    (lambda: qsp.CovariateModel(["CL~WT:power(70,0.75)"]), "must be made by qsp.covariates.power"),
    (lambda: qsp.CovariateModel.parse(["CL~WT:power(70,0.75)", "CL~WT:power(70,1)"]),
     "the effect of 'WT' on 'CL' is given twice"),
    (lambda: qsp.CovariateModel.parse(["CL~WT:power(70,0.75)", "WT~AGE:linear(40,0.01)"]),
     "'WT' is both a covariate and a parameter"),
    (lambda: cv.power("CL", "WT", reference=0, exponent=1), "reference of CL~WT:power must be > 0"),
    (lambda: cv.linear("CL", "AGE", reference=40, slope=np.nan), "slope of CL~AGE:linear must be a finite number"),
    (lambda: cv.categorical("CL", "SEX", {}), "must be a non-empty mapping"),
    (lambda: cv.categorical("CL", "SEX", {"F": -1}), "factor of level 'F' of CL~SEX:categorical must be > 0"),
    (lambda: cv.categorical("CL", "SEX", {1: 0.5, "1": 0.7}), "level '1' of CL~SEX:categorical is given twice"),
    (lambda: cv.parse_effect("CL=WT:power(70,1)"), "is not PARAMETER~COVARIATE:KIND"),
    (lambda: cv.parse_effect("CL~WT:pow(70,1)"), "unknown kind 'pow'; use one of power, linear"),
    (lambda: cv.parse_effect("CL~WT:power(70)"), r"power takes two numbers \(reference, exponent\)"),
    (lambda: cv.parse_effect("CL~WT:power(70,1,2)"), r"power takes \(reference, exponent\); got '2'"),
    (lambda: cv.parse_effect("CL~WT:power(70,slope=1)"), r"got 'slope=1'"),
    (lambda: cv.parse_effect("CL~WT:linear(forty,1)"), "'forty' is not a number"),
    (lambda: cv.parse_effect("CL~SEX:categorical(F)"), "'F' is not LEVEL=FACTOR"),
    (lambda: qsp.CovariateModel.from_dict([{"parameter": "CL", "covariate": "WT", "kind": "power",
                                            "reference": 70}]), "needs the key 'exponent'"),
    (lambda: qsp.CovariateModel.from_dict([{"parameter": "CL", "covariate": "WT", "kind": "power",
                                            "reference": 70, "exponent": 1, "slope": 2}]), "unknown key 'slope'"),
    (lambda: qsp.CovariateModel.from_dict({"CL": "power"}), "is a list of effects"),
])
def test_bad_declarations_are_one_line_input_errors(make, message):
    with pytest.raises(qsp.InputError, match=message) as err:
        make()
    assert "\n" not in str(err.value)


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(qsp.InputError, match="does not exist"):
        qsp.CovariateModel.from_file(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("[1, ")
    with pytest.raises(qsp.InputError, match="cannot read covariate model file"):
        qsp.CovariateModel.from_file(tmp_path / "bad.json")
    (tmp_path / "kind.json").write_text('["CL~WT:quadratic(1,2)"]')
    with pytest.raises(qsp.InputError, match=r"kind.json': covariate effect 'CL~WT:quadratic\(1,2\)': unknown kind"):
        qsp.CovariateModel.from_file(tmp_path / "kind.json")
