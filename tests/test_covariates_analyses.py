"""Per-row body weight and covariate models in the analyses: sensitivity, virtual-population trials, synergy."""

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import sensitivity, vpop
from qsp.synergy import Treatment, simulate_surface

#: V(t) = 100 exp(-kill D t), D = the bolus in umol (d umol/kg x body weight), so at t = 1 the best change
#: is 100 (exp(-kill D) - 1)
TUMOUR_KG = """model tumour_kg
  unit substance = 1e-6 mole
  species V = 100; species D = 0
  kill = 0.01
  V' = -kill * D * V
end"""
#: two drugs given as boluses that stay: E = x / (1 + x) with x = A1 + A2 (umol)
TWO_DRUGS = """model two_drugs
  unit substance = 1e-6 mole
  species A1 = 0; species A2 = 0
  E := (A1 + A2) / (1 + A1 + A2)
end"""


def test_gsa_samples_body_weight_and_covariate_factors(pk1_text):
    model = qsp.Model.from_antimony(pk1_text)
    cov = qsp.CovariateModel.parse("k~WT:power(70,1)")
    ranges = {"body_weight": {"low": 40, "high": 100}, "WT": {"low": 40, "high": 100}}
    res = sensitivity.gsa(model, "sobol", parameters=ranges, metrics=["initial:A", "value_at:A:5"], n=64,
                          regimen=[qsp.Dose("A", 1, unit="umol/kg")], t_end=5, points=6, covariate_model=cov)
    t = res.to_pandas()
    st = t[t["index"] == "ST"].set_index(["output", "parameter"])["value"]
    s1 = t[t["index"] == "S1"].set_index(["output", "parameter"])["value"]
    # initial:A = 1 umol/kg x body weight: WT (through k) plays no part; body weight explains it all
    assert st["initial:A", "WT"] == pytest.approx(0.0, abs=1e-12)
    assert s1["initial:A", "body_weight"] == pytest.approx(1.0, abs=0.15)
    # A(5) = BW exp(-5 k(WT)): both matter
    assert st["value_at:A:5", "WT"] > 0.2 and st["value_at:A:5", "body_weight"] > 0.05
    assert res.n_simulations == 64 * 4 and res.n_failed == 0


def test_trial_uses_each_patients_body_weight_and_covariates():
    model = qsp.Model.from_antimony(TUMOUR_KG)
    patients = pd.DataFrame({"body_weight": [20.0, 40.0, 60.0, 40.0], "SEX": ["F", "M", "M", "F"],
                             "kill": [0.01, 0.01, 0.02, 0.005]})
    cov = qsp.CovariateModel.parse("kill~SEX:categorical(F=2,M=1)")
    arms = {"control": ([], {}), "kg": ([qsp.Dose("D", 1, unit="umol/kg")], {})}
    trial = vpop.simulate_trial(model, patients, arms, tumour="V", t_end=1, points=2, covariate_model=cov,
                                metrics=["initial:D"])
    p = trial.patients[trial.patients.regimen == "kg"]
    kill = patients.kill * np.where(patients.SEX == "F", 2.0, 1.0)
    assert p["initial:D"].tolist() == pytest.approx(patients.body_weight.tolist())
    expected = 100 * (np.exp(-kill * patients.body_weight) - 1)       # kill x D: 0.4, 0.4, 1.2, 0.4
    assert p["best_percent_change"].to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-4)
    assert p["category"].tolist() == ["PR", "PR", "PR", "PR"]
    assert p.kill.tolist() == pytest.approx(kill.tolist()) and p.SEX.tolist() == ["F", "M", "M", "F"]
    assert p.body_weight.tolist() == [20.0, 40.0, 60.0, 40.0]
    control = trial.patients[trial.patients.regimen == "control"]
    assert control["best_percent_change"].abs().max() < 1e-6
    # a table of covariates only: the model's kill is the typical value, fixed= overrides it
    only = vpop.simulate_trial(model, patients[["body_weight", "SEX"]], {"kg": arms["kg"]}, tumour="V", t_end=1,
                               points=2, covariate_model=cov, fixed={"kill": 0.02})
    assert only.patients.kill.tolist() == pytest.approx([0.04, 0.02, 0.02, 0.04])
    by_name = vpop.simulate_trial(model, patients.rename(columns={"body_weight": "WT"}), {"kg": arms["kg"]},
                                  tumour="V", t_end=1, points=2, body_weight="WT", metrics=["initial:D"])
    assert by_name.patients["initial:D"].tolist() == pytest.approx(patients.body_weight.tolist())
    with pytest.raises(qsp.QSPError, match="covariate column 'AGE' is not in the virtual-population table"):
        vpop.simulate_trial(model, patients, arms, tumour="V", t_end=1, points=2,
                            covariate_model=qsp.CovariateModel.parse("kill~AGE:linear(40,0.01)"))


def test_synergy_surface_under_per_row_body_weight():
    model = qsp.Model.from_antimony(TWO_DRUGS)
    t1, t2 = Treatment("A1", "umol/kg"), Treatment("A2", "umol/kg")
    d1, d2 = np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.25])
    samples = pd.DataFrame({"body_weight": [1.0, 2.0, 4.0]})
    surface = simulate_surface(model, t1, t2, d1, d2, response="value_at:E:1", samples=samples, mono_points=5,
                               t_end=1, points=2)
    x = samples.body_weight.to_numpy()[:, None, None] * (d1[None, :, None] + d2[None, None, :])
    np.testing.assert_allclose(surface.effect, x / (1 + x), rtol=1e-6)
    assert surface.samples.body_weight.tolist() == [1.0, 2.0, 4.0]
    cov = qsp.CovariateModel.parse("E~SEX:categorical(F=1)")
    with pytest.raises(qsp.InputError, match="assignment rule"):     # the covariate model reaches the ensemble
        simulate_surface(model, t1, t2, d1, d2, response="value_at:E:1", samples=samples.assign(SEX="F"),
                         mono_points=5, t_end=1, points=2, covariate_model=cov)
