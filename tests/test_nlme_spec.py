"""The population model of qsp.nlme: TOML specs, parameter scales, covariate design, one-line errors."""

import math

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.nlme import Parameter, PopulationModel
from qsp.nlme.saem import Settings, _combined

SPEC = """
observe = { DV = "CP" }
cmt = { 1 = "depot", 2 = "central" }
error = "proportional"
covariates = ["CL~WT:power(70,0.75)"]
[parameters.CL]
initial = 3.0
random = true
omega = 0.3
[parameters.V]
initial = 60
[parameters.F]
initial = 0.8
transform = "logit"
random = true
[saem]
iterations = [50, 20]
"""


def test_toml_spec_reads_every_part(tmp_path):
    path = tmp_path / "pop.toml"
    path.write_text(SPEC)
    pop = PopulationModel.from_toml(path)
    assert pop.names == ["CL", "V", "F"]
    assert pop.random.tolist() == [True, False, True]
    assert pop.cmt == {1: "depot", 2: "central"}
    assert pop.error == "proportional" and pop.sigma_names() == ["sigma_prop"]
    assert pop.parameters["V"] == Parameter(60.0)  # fixed effect only, log-normal scale
    assert pop.saem == {"iterations": [50, 20]}
    table = pop.describe()
    assert table.loc[0, "covariates"].startswith("CL")


def test_scales_round_trip():
    pop = PopulationModel({"CL": Parameter(3.0, random=True), "E": Parameter(-2.0, transform="normal"),
                           "F": Parameter(0.25, transform="logit", low=0.0, high=0.5)}, observe={"DV": "CP"})
    theta = np.array([[3.0, -2.0, 0.25], [0.5, 4.0, 0.49]])
    phi = pop.to_phi(theta)
    assert phi[0, 0] == pytest.approx(math.log(3.0)) and phi[0, 2] == pytest.approx(0.0)
    assert np.allclose(pop.from_phi(phi), theta)


def test_covariate_design_multiplies_the_typical_value():
    pop = PopulationModel({"CL": Parameter(3.0, random=True), "E": Parameter(1.0, transform="normal")},
                          observe={"DV": "CP"}, covariates=["CL~WT:power(70,0.75)", "E~WT:linear(70,0.01)"])
    c, o = pop.design(pd.DataFrame({"WT": [35.0, 70.0]}))
    assert o[:, 0] == pytest.approx([0.75 * math.log(0.5), 0.0])  # log-normal: an offset of log(factor)
    assert c[:, 1] == pytest.approx([0.65, 1.0])                   # normal: a factor on the typical value


@pytest.mark.parametrize("spec, message", [
    ({"parameters": {"CL": {"initial": 1}}, "observe": {"DV": "CP"}}, "no parameter has a random effect"),
    ({"parameters": {"CL": {"initial": -1, "random": True}}, "observe": {"DV": "CP"}}, "initial > 0"),
    ({"parameters": {"CL": {"random": True}}, "observe": {"DV": "CP"}}, "needs an initial value"),
    ({"parameters": {"CL": {"initial": 1, "random": True, "iiv": 1}}, "observe": {"DV": "CP"}}, "unknown key 'iiv'"),
    ({"parameters": {"CL": {"initial": 1, "random": True}}, "observe": {"DV": "CP"}, "error": "exp"},
     "error must be one of"),
    ({"parameters": {"CL": {"initial": 1, "random": True}}, "observe": {"DV": "CP"}, "saem": {"k": 1}},
     "unknown SAEM setting"),
    ({"parameters": {"CL": {"initial": 1, "random": True}}, "observe": {"DV": "CP"},
      "covariates": ["V~WT:power(70,1)"]}, "not an estimated parameter"),
    ({"parameters": {"CL": {"initial": 1, "random": True}}}, "observe must map"),
])
def test_bad_specs_are_one_line_errors(spec, message):
    with pytest.raises(qsp.InputError, match=message) as info:
        PopulationModel.from_dict(spec)
    assert "\n" not in str(info.value)


def test_bad_settings_are_refused():
    with pytest.raises(qsp.InputError, match="iterations"):
        Settings(iterations=(10,)).check()
    with pytest.raises(qsp.InputError, match="kernels"):
        Settings(kernels=(0, 0, 0)).check()
    with pytest.raises(qsp.InputError, match="annealing"):
        Settings(annealing=1.5).check()


def test_combined_error_maximum_likelihood():
    rng = np.random.default_rng(3)
    f = np.exp(rng.uniform(0, 5, 20000))
    y = f + np.sqrt(2.0 ** 2 + (0.1 * f) ** 2) * rng.standard_normal(len(f))
    a, b = _combined(y, f)
    assert a == pytest.approx(2.0, rel=0.05) and b == pytest.approx(0.1, rel=0.05)


def test_missing_spec_file_is_one_line(tmp_path):
    with pytest.raises(qsp.InputError, match="does not exist"):
        PopulationModel.from_toml(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("observe = {")
    with pytest.raises(qsp.InputError, match="not valid TOML"):
        PopulationModel.from_toml(bad)
