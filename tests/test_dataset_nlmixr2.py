"""nlmixr2data's classic datasets read and simulated, checked against what is known about them.

Files: ../shared/references/data/nlmixr2data/ (see that folder's README).

- ``Bolus_1CPT`` / ``Oral_1CPT`` (ACOP 2016, simulated; AMT in ug, DV in ug/L, time in h): every
  subject's true V, CL (and KA) are columns of the file, so simulating with them (dataset columns
  named like model parameters) leaves only the residual error. The error is 20 % proportional and
  was drawn on the log scale, DV = CP * exp(eps): log(DV / CP) is symmetric (skewness ~0) while
  DV / CP - 1 is skewed (~0.6), as a normal proportional error would not be. The steady-state dose
  at 216 h (SS 1, II 24) resets the subject and starts from the periodic steady state.
- ``theo_sd`` (12 subjects, one oral dose in mg, DV mg/L): simulated with the published typical
  values (ka 1.57 /h, CL 2.72 L/h, V 31.5 L) and each subject's own dose, the prediction is the
  closed-form one and sits in the middle of the data (median observed Cmax near the predicted one).
  The published additive SD (~0.7 mg/L) is not checked: DV minus the population prediction also
  holds the between-subject variability, so its spread says nothing about the residual error.
- ``theo_md`` (the same subjects, 7 daily doses): simulates without failures, matches superposition,
  and the typical subject's troughs rise by the accumulation the closed form predicts.
- ``warfarin`` (PK ``cp`` and PD ``pca`` observations in one DV column) and ``pheno_sd`` load.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.datasets import read_dataset, simulate_dataset

DATA = Path(__file__).resolve().parents[2] / "shared" / "references" / "data" / "nlmixr2data"
MODELS = Path(__file__).resolve().parent / "models"
ORAL = {1: "depot", 2: "central"}
THEO = {"KA": 1.57, "CL": 2.72, "V": 31.5}  # published typical values: /h, L/h, L


def _data(name: str) -> Path:
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"reference data not found at {path}")
    return path


def _closed_form(t, doses, cl: float, v: float, ka: float | None = None, ss=None) -> np.ndarray:
    """CP (amount / L) of a one-compartment model at times ``t`` (h) after boluses ``(time, amount)``
    into the central compartment (``ka`` None) or into a depot absorbed at ``ka`` (/h). With
    ``ss = (time, amount, interval)``: from that time on, the steady state of that dose every
    interval, the earlier history reset (NONMEM's SS 1)."""
    k = cl / v
    terms = [(1 / v, k)] if ka is None else [(ka / (v * (ka - k)), k), (-ka / (v * (ka - k)), ka)]
    t = np.asarray(t, dtype=float)
    out = np.zeros_like(t)
    before = t < ss[0] if ss else np.ones(t.shape, dtype=bool)
    for td, amt in doses:
        on = before & (t >= td)
        for a, r in terms:
            out[on] += amt * a * np.exp(-r * (t[on] - td))
    if ss:
        ts, amt, ii = ss
        for a, r in terms:
            out[~before] += amt * a * np.exp(-r * (t[~before] - ts)) / (1 - np.exp(-r * ii))
    return out


def _skew(x: np.ndarray) -> float:
    d = x - x.mean()
    return float(np.mean(d ** 3) / np.mean(d ** 2) ** 1.5)


# ---------------------------------------------------------------------- ACOP 2016: Bolus_1CPT, Oral_1CPT
ACOP = {"Bolus_1CPT.csv": ("one_cpt_iv.ant", {1: "central"}, ["V", "CL"]),
        "Oral_1CPT.csv": ("one_cpt_oral.ant", ORAL, ["V", "CL", "KA"])}
TYPICAL = {"V": 70.0, "CL": 4.0, "KA": 1.0}


@pytest.fixture(scope="module", params=list(ACOP))
def acop(request):
    path = _data(request.param)
    model_file, cmt_map, true = ACOP[request.param]
    model = qsp.Model.from_file(MODELS / model_file)
    ds = read_dataset(path, cmt_map=cmt_map, missing={"SS": [99]})
    sim = simulate_dataset(model, ds, "CP")
    return request.param, true, sim


def test_acop_true_parameters_are_the_typical_values(acop):
    _, true, sim = acop
    subjects = sim.table.groupby("ID", sort=False).first()
    assert len(subjects) == 120
    assert subjects["DOSE"].value_counts().to_dict() == {10000: 30, 30000: 30, 60000: 30, 120000: 30}
    logs = np.log(subjects[true])
    geo = np.exp(logs.mean())
    for p in true:  # measured: V 68.6 / 68.4, CL 3.99 / 4.10, KA 1.003
        assert abs(geo[p] / TYPICAL[p] - 1) < 0.05, (p, geo[p])
    # 30 % between-subject variability; the SD of 120 log values has a standard error of ~0.02
    sd = logs.std()
    assert ((sd > 0.22) & (sd < 0.38)).all(), sd.to_dict()


def test_acop_simulation_is_the_closed_form_with_each_subjects_parameters(acop):
    name, true, sim = acop
    assert sim.failures.empty
    t = sim.table
    out = t["EVID"].isin((0, 2))
    worst = 0.0
    for _, g in t.groupby("ID", sort=False):
        doses = g[(g["EVID"] == 1) & (g["SS"] == 0)]
        ss = g[(g["EVID"] == 1) & (g["SS"] == 1)]
        assert len(doses) == 7 and len(ss) == 1
        first = g.iloc[0]
        rows = g[out.loc[g.index]]
        want = _closed_form(rows["TIME"], zip(doses["TIME"], doses["AMT"]), first["CL"], first["V"],
                            first["KA"] if "KA" in true else None,
                            ss=(ss["TIME"].iloc[0], ss["AMT"].iloc[0], ss["II"].iloc[0]))
        worst = max(worst, float(np.max(np.abs(rows["CP"] - want) / want)))
    assert worst < 1e-5, worst  # the steady state is converged to 1e-6 (100 x rtol)


def test_acop_residual_error_is_20_percent_log_normal(acop):
    _, _, sim = acop
    t = sim.table
    obs = t[(t["EVID"] == 0) & (t["DV"] > 0)]
    assert len(obs) > 6900
    log_ratio = np.log(obs["DV"] / obs["CP"]).to_numpy()
    # measured: mean 0.002 / 0.003, SD 0.202 / 0.198, skewness -0.03 / -0.02 (Bolus / Oral)
    assert abs(log_ratio.mean()) < 0.03
    assert 0.17 < log_ratio.std() < 0.23
    assert abs(_skew(log_ratio)) < 0.1  # standard error of the skewness here: ~0.03
    assert _skew(np.exp(log_ratio) - 1) > 0.4  # measured 0.61 / 0.59: not a normal proportional error
    # EVID 2 rows are samples whose DV (recorded to 0.1) would read 0: they get outputs, all small
    other = t[t["EVID"] == 2]
    assert len(other) and (other["CP"] < 0.2).all()


def test_acop_steady_state_dose_converges(acop):
    _, _, sim = acop
    ss = sim.steady_state
    assert len(ss) == 120
    assert (ss["TIME"] == 216).all()
    assert ss["converged"].all()


# ---------------------------------------------------------------------- theophylline
@pytest.fixture(scope="module")
def oral_model():
    return qsp.Model.from_file(MODELS / "one_cpt_oral.ant")


@pytest.fixture(scope="module")
def theo_sd(oral_model):
    ds = read_dataset(_data("theo_sd.csv"), cmt_map=ORAL, evid_style="rxode2")
    return ds, simulate_dataset(oral_model, ds, "CP", params=THEO)


def _check_superposition(sim) -> None:
    t = sim.table
    for _, g in t.groupby("ID", sort=False):
        doses = g[g["EVID"] == 1]
        obs = g[g["EVID"] == 0]
        want = _closed_form(obs["TIME"], zip(doses["TIME"], doses["AMT"]), THEO["CL"], THEO["V"], THEO["KA"])
        assert np.allclose(obs["CP"], want, rtol=1e-6, atol=1e-9)


def test_theo_sd_reads_and_predicts_the_closed_form(theo_sd):
    ds, sim = theo_sd
    assert len(ds.subjects) == 12
    doses = ds.doses
    assert len(doses) == 12 and (doses["CMT"] == "depot").all()
    assert doses["AMT"].between(260, 330).all()  # mg: about 4.6 mg/kg (3.1-5.9) in every subject
    assert sim.failures.empty
    _check_superposition(sim)


def test_theo_sd_typical_prediction_sits_in_the_data(theo_sd):
    _, sim = theo_sd
    obs = sim.table[(sim.table["EVID"] == 0) & (sim.table["TIME"] > 0)]
    observed = obs.groupby("ID")["DV"].max().median()   # measured 8.47 mg/L
    predicted = obs.groupby("ID")["CP"].max().median()  # measured 8.57 mg/L (each subject's own dose)
    assert abs(observed / predicted - 1) < 0.3, (observed, predicted)
    above = float((obs["DV"] > obs["CP"]).mean())  # measured 0.38 of 120 observations
    assert 0.25 < above < 0.75, above


def test_theo_md_simulates_multiple_doses(oral_model):
    ds = read_dataset(_data("theo_md.csv"), cmt_map=ORAL, evid_style="rxode2")
    assert len(ds.subjects) == 12
    doses = ds.doses
    assert (doses.groupby("ID").size() == 7).all()
    assert np.array_equal(np.sort(doses["TIME"].unique()), 24.0 * np.arange(7))
    sim = simulate_dataset(oral_model, ds, "CP", params=THEO)
    assert sim.failures.empty
    assert sim.table.loc[sim.table["EVID"] == 0, "CP"].notna().all()
    _check_superposition(sim)


def test_theo_md_typical_troughs_accumulate_as_the_closed_form(oral_model):
    """The typical subject on subject 1's regimen (7 x 320 mg q24h), sampled before each next dose."""
    raw = pd.read_csv(_data("theo_md.csv"))
    doses = raw[(raw["ID"] == 1) & (raw["EVID"] != 0)]
    troughs = 24.0 * np.arange(1, 8)
    rows = [{"ID": 1, "TIME": t, "EVID": 0, "AMT": 0.0, "CMT": 2} for t in troughs]
    rows += [{"ID": 1, "TIME": t, "EVID": 101, "AMT": a, "CMT": 1} for t, a in zip(doses["TIME"], doses["AMT"])]
    frame = pd.DataFrame(rows).sort_values("TIME", kind="stable")  # at equal times the sample comes first
    sim = simulate_dataset(oral_model, read_dataset(frame, cmt_map=ORAL, evid_style="rxode2"), "CP", params=THEO)
    got = sim.table.loc[sim.table["EVID"] == 0, "CP"].to_numpy()
    want = _closed_form(troughs, zip(doses["TIME"], doses["AMT"]), THEO["CL"], THEO["V"], THEO["KA"])
    assert np.allclose(got, want, rtol=1e-6)
    assert np.all(np.diff(got) > 0)
    # after n doses the trough is the first one times (1 - r^n) / (1 - r), r = exp(-CL/V * 24 h)
    # (the absorption term, exp(-ka * 24 h) ~ 4e-17, is negligible); measured: 1.35 -> 1.55 mg/L
    r = np.exp(-THEO["CL"] / THEO["V"] * 24.0)
    n = np.arange(1, 8)
    assert np.allclose(got / got[0], (1 - r ** n) / (1 - r), rtol=1e-6)


# ---------------------------------------------------------------------- warfarin, phenobarbital
def test_warfarin_loads_with_pk_and_pd_observations():
    ds = read_dataset(_data("warfarin.csv"))
    assert len(ds.subjects) == 32
    assert len(ds.doses) == 32  # one oral dose each (mg)
    obs = ds.observations
    assert obs["DVID"].value_counts().to_dict() == {"cp": 251, "pca": 232}
    assert ds.covariates == {"wt": "constant", "age": "constant", "sex": "constant"}


def test_pheno_sd_loads():
    ds = read_dataset(_data("pheno_sd.csv"))
    assert len(ds.subjects) == 59
    assert len(ds.doses) == 589  # repeated IV doses (mg)
    assert len(ds.observations) == 155
    assert ds.covariates == {"WT": "constant", "APGR": "constant"}
