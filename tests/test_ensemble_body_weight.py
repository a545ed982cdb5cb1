"""Per-row body weight and covariate models in the ensemble, against closed forms.

pk1 (tests/conftest.py): V = 10 L, A in umol, k = 0.2 /h. A bolus of D umol/kg puts D * BW umol in A.
PKCL: a central compartment of 1 L holding the amount A, Cp = A / V, elimination CL / V * A, so the
AUC of Cp after a bolus is dose / CL.
"""

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import ensemble

PER_KG = [qsp.Dose("A", 2, unit="umol/kg")]
PKCL = """
model pkcl
  unit substance = 1e-6 mole
  unit time_unit = 3600 second
  unit volume = litre
  compartment central = 1 litre
  species A in central = 0
  CL = 4; V = 70
  Cp := A / V
  elimination: A -> ; CL / V * A * central
end
"""


@pytest.fixture(scope="module")
def pk(pk1_text):
    return qsp.Model.from_antimony(pk1_text)


@pytest.fixture(scope="module")
def pkcl():
    return qsp.Model.from_antimony(PKCL)


def test_per_row_body_weight_scales_per_kg_doses(pk):
    X = pd.DataFrame({"body_weight": [50.0, 100.0, 70.0, 50.0], "k": [0.2, 0.2, 0.1, 0.4]})
    res = ensemble.run(pk, X, regimens={"kg": PER_KG, "flat": [qsp.Dose("A", 100)]},
                       metrics=["initial:A", "value_at:[A]:5"], t_end=10, points=11, rtol=1e-10, atol=1e-14)
    t = res.table
    kg, flat = t[t.regimen == "kg"], t[t.regimen == "flat"]
    assert kg["initial:A"].tolist() == pytest.approx([100.0, 200.0, 140.0, 100.0], rel=1e-12)
    assert kg["initial:A"].iloc[1] == pytest.approx(2 * kg["initial:A"].iloc[0], rel=1e-12)   # 100 kg vs 50 kg
    expected = 2 * X.body_weight / 10 * np.exp(-5 * X.k)                                        # C = D BW / V e^-kt
    assert kg["value_at:[A]:5"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-6)
    assert flat["initial:A"].tolist() == [100.0] * 4                        # body weight only scales per-kg doses
    assert t.body_weight.tolist() == [50.0, 50.0, 100.0, 100.0, 70.0, 70.0, 50.0, 50.0]
    assert list(t.columns[:8]) == ["task", "sample", "regimen", "seed", "status", "message", "body_weight", "k"]


def test_body_weight_from_a_named_column_and_without_per_kg_doses(pk):
    X = pd.DataFrame({"WT": [40.0, 80.0]})
    res = ensemble.run(pk, X, regimens={"kg": PER_KG}, metrics=["initial:A"], body_weight="WT", t_end=1, points=2)
    assert res.table["initial:A"].tolist() == pytest.approx([80.0, 160.0]) and res.table.WT.tolist() == [40.0, 80.0]
    res = ensemble.run(pk, pd.DataFrame({"body_weight": [40.0, 80.0]}), regimens={"mg": [qsp.Dose("A", 5)]},
                       metrics=["initial:A"], t_end=1, points=2)
    assert res.table["initial:A"].tolist() == [5.0, 5.0] and res.table.body_weight.tolist() == [40.0, 80.0]
    one = ensemble.run(pk, None, regimens={"kg": PER_KG}, metrics=["initial:A"], body_weight=30, t_end=1, points=2)
    assert one.table["initial:A"].tolist() == pytest.approx([60.0])


def test_backends_agree_and_chunks_cache_schedules_per_weight(pk):
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"body_weight": rng.choice([50.0, 60.0, 70.0], 40), "k": rng.uniform(0.1, 0.3, 40)})
    kw = dict(regimens={"kg": PER_KG, "twice": [qsp.Dose("A", 1, unit="umol/kg", every=2, count=2)]},
              metrics=["auc:[A]", "initial:A"], t_end=6, points=13, chunk_size=7, seed=2)
    serial = ensemble.run(pk, X, **kw).table
    procs = ensemble.run(pk, X, backend=ensemble.ProcessBackend(2), **kw).table
    pd.testing.assert_frame_equal(serial, procs)
    assert serial[serial.regimen == "kg"]["initial:A"].to_numpy() == pytest.approx(2 * X.body_weight.to_numpy())


def test_covariate_clearance_gives_auc_dose_over_cl(pkcl):
    cov = qsp.CovariateModel.parse(["CL~WT:power(70,0.75)", "CL~SEX:categorical(F=0.8,M=1)"])
    X = pd.DataFrame({"WT": [35.0, 70.0, 140.0, 70.0], "SEX": ["F", "M", "F", "F"]})
    res = ensemble.run(pkcl, X, regimens={"kg": [qsp.Dose("A", 1, unit="umol/kg")]}, metrics=["auc:Cp"],
                       covariate_model=cov, body_weight="WT", t_end=1500, points=15001, rtol=1e-10, atol=1e-14)
    t = res.table
    cl = 4.0 * (X.WT / 70) ** 0.75 * np.where(X.SEX == "F", 0.8, 1.0)
    assert t.CL.to_numpy() == pytest.approx(cl.to_numpy(), rel=1e-14)            # the values used are reported
    assert t["auc:Cp"].to_numpy() == pytest.approx((X.WT / cl).to_numpy(), rel=1e-5)    # dose / CL, dose = 1 * WT
    assert t.SEX.tolist() == ["F", "M", "F", "F"] and list(t.columns[6:9]) == ["WT", "SEX", "CL"]


def test_typical_value_from_the_samples_then_params_then_the_model(pkcl):
    cov = qsp.CovariateModel([qsp.covariates.power("CL", "WT", reference=70, exponent=1.0)])
    X = pd.DataFrame({"WT": [35.0, 140.0]})
    kw = dict(regimens={"mg": [qsp.Dose("A", 10)]}, metrics=["auc:Cp"], covariate_model=cov, t_end=1, points=2)
    assert ensemble.run(pkcl, X, **kw).table.CL.tolist() == [2.0, 8.0]                       # model CL = 4
    assert ensemble.run(pkcl, X, params={"CL": 1.0}, **kw).table.CL.tolist() == [0.5, 2.0]    # params=
    own = X.assign(CL=[10.0, 10.0])                                                           # the row's own
    assert ensemble.run(pkcl, own, params={"CL": 1.0}, **kw).table.CL.tolist() == [5.0, 20.0]


def test_resumed_store_keeps_the_body_weight_column(pk, tmp_path):
    X = pd.DataFrame({"body_weight": np.linspace(40, 110, 12), "k": np.linspace(0.1, 0.3, 12)})
    kw = dict(regimens={"kg": PER_KG}, metrics=["initial:A", "auc:[A]"], t_end=5, points=11, chunk_size=3)
    first = ensemble.run(pk, X, out=tmp_path / "run", **kw)
    parts = sorted((tmp_path / "run").glob("part-*.parquet"))
    assert len(parts) == 4
    parts[1].unlink()                                                           # as if killed before that chunk
    again = ensemble.run(pk, X, out=tmp_path / "run", **kw)
    assert again.n_reused == 9
    pd.testing.assert_frame_equal(again.table, first.table)
    assert again.table["initial:A"].to_numpy() == pytest.approx(2 * X.body_weight.to_numpy())
    with pytest.raises(qsp.QSPError, match="different ensemble"):               # other weights: other results
        ensemble.run(pk, X.assign(body_weight=70.0), out=tmp_path / "run", **kw)
    with pytest.raises(qsp.QSPError, match="different ensemble"):               # the weights under another name
        ensemble.run(pk, X.rename(columns={"body_weight": "WT"}), out=tmp_path / "run", body_weight="WT", **kw)


def test_a_model_id_named_body_weight_is_refused_unless_explicit():
    m = qsp.Model.from_antimony("model m\n unit substance = 1e-6 mole\n species A = 0\n body_weight = 1; k = 0.1\n"
                                " A -> ; k * A * body_weight\nend")
    X = pd.DataFrame({"body_weight": [2.0, 4.0]})
    kw = dict(regimens={"kg": [qsp.Dose("A", 1, unit="umol/kg")]}, metrics=["initial:A"], t_end=1, points=2)
    with pytest.raises(qsp.InputError, match="is an id of model 'm' and also the reserved name") as err:
        ensemble.run(m, X, **kw)
    assert "\n" not in str(err.value)
    both = ensemble.run(m, X, body_weight="body_weight", **kw).table
    assert both["initial:A"].tolist() == pytest.approx([2.0, 4.0])
    only_param = ensemble.run(m, X, body_weight=10, **kw).table
    assert only_param["initial:A"].tolist() == pytest.approx([10.0, 10.0])


@pytest.mark.parametrize("samples, options, error, message", [
    (pd.DataFrame({"body_weight": [70.0, -1.0]}), {}, qsp.InputError,
     r"body weight column 'body_weight': row 1 is -1.0; body weights must be positive numbers of kg"),
    (pd.DataFrame({"body_weight": [70.0, np.nan]}), {}, qsp.InputError, r"row 1 is nan"),
    (pd.DataFrame({"body_weight": [70.0, 0.0]}), {}, qsp.InputError, r"row 1 is 0.0"),
    (pd.DataFrame({"WT": [70.0, np.inf]}), {"body_weight": "WT"}, qsp.InputError, r"column 'WT': row 1 is inf"),
    (pd.DataFrame({"body_weight": [70.0]}), {"body_weight": 70}, qsp.InputError, r"body_weight=70 is also given"),
    (pd.DataFrame({"k": [0.1]}), {"body_weight": "WT"}, qsp.InputError,
     r"body_weight='WT' is not a column of samples \(columns: k\)"),
    (pd.DataFrame({"WT": [70.0], "body_weight": [70.0]}), {"body_weight": "WT"}, qsp.InputError, "names another"),
    (pd.DataFrame({"k": [0.1]}), {"body_weight": True}, qsp.InputError, "positive number of kg or the name"),
    (pd.DataFrame({"WT": [70.0]}), {"covariate_model": "k~WT:power(70,1)"}, qsp.InputError,
     "covariate_model must be a qsp.CovariateModel"),
    (pd.DataFrame({"WT": [70.0]}), {"covariate_model": qsp.CovariateModel.parse("kk~WT:power(70,1)")},
     qsp.UnknownIdError, r"'kk' is not a parameter of model 'pk1' \(covariate model\); did you mean 'k'"),
    (pd.DataFrame({"AGE": [70.0]}), {"covariate_model": qsp.CovariateModel.parse("k~WT:power(70,1)")},
     qsp.InputError, "covariate column 'WT' is not in the table"),
    (pd.DataFrame({"WT": [70.0, -3.0]}), {"covariate_model": qsp.CovariateModel.parse("k~WT:power(70,1)")},
     qsp.InputError, "row 1 is -3; a power effect needs values > 0"),
    (pd.DataFrame({"SEX": ["F"]}), {}, qsp.UnknownIdError, "'SEX' is not a parameter or species"),
    (pd.DataFrame({"initial:A": [70.0]}), {"body_weight": "initial:A"}, qsp.InputError,
     "metric name 'initial:A' is also a column"),
])
def test_bad_body_weights_and_covariates_fail_before_simulating(pk, samples, options, error, message):
    with pytest.raises(error, match=message) as err:
        ensemble.run(pk, samples, regimens={"kg": PER_KG}, metrics=["initial:A"], t_end=1, points=2, **options)
    assert "\n" not in str(err.value)
