"""Population fit of theophylline (nlmixr2data ``theo_sd``, 12 subjects) by SAEM, and its diagnostics.

One-compartment model with first-order absorption (tests/models/one_cpt_oral.ant), log-normal IIV on
ka, CL and V, additive error: published nlmixr2 estimates ka 1.57 /h, CL 2.72 L/h, V 31.5 L, additive
SD about 0.7 mg/L (../shared/references/data/README.md). The same fit feeds the VPC, the
goodness-of-fit table, the shrinkage and a virtual population run through ``qsp.ensemble.run``.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.datasets import read_dataset
from qsp.nlme import PopulationModel, gof, saem, virtual_population, vpc

DATA = Path(__file__).resolve().parents[2] / "shared" / "references" / "data" / "nlmixr2data"
MODELS = Path(__file__).resolve().parent / "models"
PUBLISHED = {"KA": 1.57, "CL": 2.72, "V": 31.5, "sigma_add": 0.7}

pytestmark = pytest.mark.skipif(not (DATA / "theo_sd.csv").is_file(), reason="reference data not present")


def theo_population(**changes) -> PopulationModel:
    spec = {"parameters": {"KA": {"initial": 1.0, "random": True}, "CL": {"initial": 3.0, "random": True},
                           "V": {"initial": 30.0, "random": True}},
            "observe": {"DV": "CP"}, "error": "additive"}
    spec.update(changes)
    return PopulationModel.from_dict(spec)


@pytest.fixture(scope="module")
def theo():
    return read_dataset(DATA / "theo_sd.csv", evid_style="rxode2", cmt_map={1: "depot", 2: "central"})


@pytest.fixture(scope="module")
def oral():
    return qsp.Model.from_file(MODELS / "one_cpt_oral.ant")


@pytest.fixture(scope="module")
def fit(oral, theo):
    return saem(oral, theo, theo_population(), seed=1, iterations=(100, 60), is_samples=100, rtol=1e-6,
                atol=1e-9)


def test_typical_values_match_the_published_fit(fit):
    est = fit.estimates.set_index("parameter")["estimate"]
    for name in ("KA", "CL", "V"):
        assert est[name] == pytest.approx(PUBLISHED[name], rel=0.10), name
    assert est["sigma_add"] == pytest.approx(PUBLISHED["sigma_add"], rel=0.15)
    table = fit.estimates
    assert list(table.columns) == ["parameter", "estimate", "se", "rse_pct", "kind"]
    assert table["kind"].tolist() == ["fixed"] * 3 + ["omega"] * 3 + ["residual"]
    assert (table["se"] > 0).all() and np.isfinite(fit.llh)
    summary = fit.summary()
    assert summary["n_subjects"] == 12 and summary["n_observations"] == 132
    assert summary["simulations_per_s"] > 0 and summary["wall_s"] > 0


def test_ebes_and_shrinkage(fit):
    ebes = fit.ebes
    assert list(ebes["ID"]) == list(range(1, 13))
    assert {"eta_KA", "eta_CL", "eta_V", "KA", "CL", "V", "eta_CL_mean", "eta_CL_sd"} <= set(ebes.columns)
    # individual values at the modes are the typical values times exp(eta)
    assert np.allclose(ebes["CL"], fit.typical["CL"] * np.exp(ebes["eta_CL"]))
    shrink = fit.shrinkage()
    assert list(shrink["parameter"]) == ["KA", "CL", "V"] and (shrink["shrinkage_pct"] < 60).all()


def test_vpc_gof_and_npde(fit):
    check = vpc(fit, 50, bins=6, seed=2)
    table = check.table
    assert set(table["percentile"]) == {5, 50, 95} and table["bin"].nunique() == 6
    inside = (table["observed"] >= table["sim_low"]) & (table["observed"] <= table["sim_high"])
    assert inside.mean() >= 0.7                      # the model describes the data
    assert check.simulated.shape == (50, 132)
    pc = vpc(fit, prediction_corrected=True, replicates=check.simulated, bins=6)
    assert pc.n == 50 and len(pc.table) == len(table)
    tad = vpc(fit, 10, x="tad", bins=4, seed=2)          # one dose at 0: time after dose is time
    assert np.allclose(tad.observations["x"], check.observations["x"])
    diag = gof(fit, check).table
    assert {"DV", "PRED", "IPRED", "IWRES", "CWRES", "NPDE"} <= set(diag.columns)
    assert abs(np.nanmean(diag["CWRES"])) < 0.3 and 0.6 < np.nanstd(diag["CWRES"]) < 1.4
    assert abs(np.nanmean(diag["NPDE"])) < 0.4
    # IPRED is closer to the data than PRED
    assert np.mean(np.abs(diag["DV"] - diag["IPRED"])) < np.mean(np.abs(diag["DV"] - diag["PRED"]))
    import matplotlib.pyplot as plt

    for fig in (fit.plot_convergence(), fit.plot_gof(check), fit.plot_etas(), fit.plot_individual(),
                check.plot().figure):
        plt.close(fig)


def test_virtual_population_runs_in_an_ensemble(fit, oral):
    vp = virtual_population(fit, 400, seed=3)
    assert list(vp.columns) == ["KA", "CL", "V"] and len(vp) == 400
    gm = np.exp(np.log(vp).mean())
    for name in ("KA", "CL", "V"):
        assert gm[name] == pytest.approx(fit.typical[name], rel=0.15)
    sd = np.log(vp["CL"]).std()
    omega = fit.estimates.set_index("parameter").loc["omega_CL", "estimate"]
    assert sd == pytest.approx(omega, rel=0.15)
    res = qsp.ensemble.run(oral, vp.head(5), regimens={"dose": [qsp.Dose("depot", 320)]}, metrics=["cmax:CP"],
                           t_end=24, points=49)
    assert res.to_pandas()["status"].eq("ok").all()
    again = virtual_population(fit, 400, seed=3)
    pd.testing.assert_frame_equal(vp, again)
    spread = virtual_population(fit, 400, seed=3, uncertainty=True, draws=4, extra=True)
    assert spread["draw"].nunique() == 4 and "eta_CL" in spread.columns


def test_fixed_effect_only_covariate_and_full_omega(oral, theo):
    pop = theo_population(parameters={"KA": {"initial": 1.0, "random": True}, "CL": {"initial": 3.0, "random": True},
                                      "V": {"initial": 30.0}},
                          covariates=["CL~WT:power(70,0.75)"], covariance="full")
    res = saem(oral, theo, pop, seed=2, iterations=(60, 40), is_samples=50, rtol=1e-6, atol=1e-9)
    est = res.estimates.set_index("parameter")
    for name in ("KA", "CL", "V"):
        assert est.loc[name, "estimate"] == pytest.approx(PUBLISHED[name], rel=0.15), name
    assert "omega_V" not in est.index and "corr_KA_CL" in est.index
    assert "eta_V" not in res.ebes.columns and res.ebes["V"].nunique() == 1   # every subject at the typical V
    assert res.estimates["kind"].tolist().count("omega") == 3   # two SDs and their correlation


def test_theo_reads_from_the_spec_options(oral):
    pop = theo_population(cmt={1: "depot", 2: "central"}, evid_style="rxode2")
    res = saem(oral, DATA / "theo_sd.csv", pop, seed=1, iterations=(4, 2), is_samples=5, standard_errors=False,
               rtol=1e-6, atol=1e-9)
    assert res.n_subjects == 12 and res.estimates["se"].isna().all()
