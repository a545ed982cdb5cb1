"""Non-compartmental analysis against closed forms, simulated profiles and bad input."""

import json
import math

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.nca import fit_terminal, nca

D, V, K = 100.0, 10.0, 0.2          # dose (mg), volume (L), elimination rate (1/h)
KA, F = 3.0, 0.8                    # absorption rate (1/h), bioavailability


def bolus_table(times, n_subjects=1):
    c = D / V * np.exp(-K * times)
    return pd.DataFrame({"ID": np.repeat(np.arange(1, n_subjects + 1), len(times)),
                         "TIME": np.tile(times, n_subjects), "DV": np.tile(c, n_subjects)})


ORAL_TIMES = np.concatenate([np.linspace(0, 2, 101)[:-1], np.arange(2, 97, 2.0)])  # h


def bateman(t):
    return F * D * KA / (V * (KA - K)) * (np.exp(-K * t) - np.exp(-KA * t))


def test_iv_bolus_closed_form():
    t = np.linspace(0, 48, 193)
    res = nca(bolus_table(t), dose=D, route="iv", time_unit="h", conc_unit="mg/L", dose_unit="mg")
    row = res.table.loc[1]
    assert row["lambda_z"] == pytest.approx(K, abs=1e-6)
    assert row["lambda_z_n"] == len(t) - 1          # every point after Cmax: the fit is exact
    assert row["half_life"] == pytest.approx(math.log(2) / K, rel=1e-9)
    # log-down trapezoid is exact for a mono-exponential decline
    assert row["AUCinf"] == pytest.approx(D / (V * K), rel=1e-9)
    assert row["AUClast"] == pytest.approx(D / (V * K) * (1 - math.exp(-K * 48)), rel=1e-9)
    assert row["MRTinf"] == pytest.approx(1 / K, rel=1e-9)
    assert row["CL"] == pytest.approx(V * K, rel=1e-9)
    assert row["Vz"] == pytest.approx(V, rel=1e-9)
    assert row["Vss"] == pytest.approx(V, rel=1e-9)
    assert row["C0"] == pytest.approx(D / V, rel=1e-12)
    assert row["Cmax"] == pytest.approx(D / V) and row["Tmax"] == 0
    assert row["note"] == ""
    assert res.table.attrs["units"]["CL"] == "mg/(mg/L*h)"
    assert res.table.attrs["units"]["AUCinf"] == "mg/L*h"


def test_iv_bolus_linear_trapezoid_within_bound():
    t = np.linspace(0, 48, 481)
    row = nca(bolus_table(t), dose=D, route="iv", auc_method="linear").table.loc[1]
    exact = D / (V * K)
    err = abs(row["AUCinf"] - exact) / exact
    # linear trapezoid overestimates a convex decline by about (k dt)^2 / 12
    assert 0 < (row["AUCinf"] - exact) / exact < 1e-3
    assert err == pytest.approx((K * 0.1) ** 2 / 12, rel=0.05)


def test_iv_bolus_back_extrapolates_c0():
    t = np.array([0.5, 1, 2, 4, 8, 12, 24])
    df = pd.DataFrame({"ID": "a", "TIME": t, "DV": D / V * np.exp(-K * t)})
    row = nca(df, dose=D, route="iv").table.loc["a"]
    assert row["C0"] == pytest.approx(D / V, rel=1e-12)
    assert "C0 back-extrapolated from the first two points" in row["note"]
    assert row["AUCinf"] == pytest.approx(D / (V * K), rel=1e-9)
    assert row["Vz"] == pytest.approx(V, rel=1e-9)


def test_oral_bateman_closed_form():
    df = pd.DataFrame({"ID": 7, "TIME": ORAL_TIMES, "DV": bateman(ORAL_TIMES)})
    res = nca(df, dose=D, route="extravascular")
    row = res.table.loc[7]
    # the 1e-4 margin lets the fit reach back to points where absorption still adds < 0.2 %
    assert row["lambda_z"] == pytest.approx(K, rel=2e-3)
    exact = nca(df, dose=D, adj_r2_tolerance=0.0).table.loc[7]
    assert exact["lambda_z"] == pytest.approx(K, rel=1e-6)
    assert exact["lambda_z_t_start"] >= 4           # absorption has died out over the fit
    assert row["AUCinf"] == pytest.approx(F * D / (V * K), rel=1e-3)
    assert row["CL/F"] == pytest.approx(V * K / F, rel=1e-3)
    assert row["Vz/F"] == pytest.approx(V / F, rel=3e-3)           # carries the error of lambda_z
    assert exact["Vz/F"] == pytest.approx(V / F, rel=1e-3)
    # MRT of the Bateman function is 1/ka + 1/ke
    assert row["MRTinf"] == pytest.approx(1 / KA + 1 / K, rel=1e-3)
    tmax = math.log(KA / K) / (KA - K)
    assert row["Tmax"] == pytest.approx(tmax, abs=0.05)


def test_adjusted_r2_picks_terminal_phase_of_biexponential():
    t = np.array([0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48])
    alpha, beta = 2.0, 0.1
    c = 50 * np.exp(-alpha * t) + 5 * np.exp(-beta * t)
    fit = fit_terminal(t, c)
    assert fit.lambda_z == pytest.approx(beta, rel=5e-3)
    assert fit.t_start >= 2 and fit.t_end == 48
    assert fit.n_points < len(t) - 1                # the distribution phase is left out
    assert fit.adj_r2 > 0.9999
    # the chosen fit has the most points among those within 1e-4 of the best adjusted R^2
    assert fit.predict(np.array([48.0]))[0] == pytest.approx(c[-1], rel=1e-2)
    assert fit_terminal(t, c, tolerance=0.0).lambda_z == pytest.approx(beta, rel=1e-6)


def test_fit_prefers_more_points_when_adjusted_r2_ties():
    t = np.arange(1.0, 11.0)
    fit = fit_terminal(t, np.exp(-0.3 * t) * 4)     # Cmax at t = 1 left out: 9 points, all exact
    assert fit.n_points == 9 and fit.t_start == 2
    fit_c = fit_terminal(t, np.exp(-0.3 * t) * 4, include_cmax=True)
    assert fit_c.n_points == 10 and fit_c.lambda_z == pytest.approx(0.3, rel=1e-12)


def test_lambda_z_not_estimable_gives_nan_and_note():
    df = pd.DataFrame({"ID": [1] * 4 + [2] * 6,
                       "TIME": [0, 1, 2, 4] + [0, 1, 2, 4, 8, 12],
                       "DV": [0, 5, 3, 1] + [0, 2, 4, 3, 2, 1]})
    res = nca(df, dose={1: 10, 2: 20})
    bad, good = res.table.loc[1], res.table.loc[2]
    assert np.isnan(bad["lambda_z"]) and np.isnan(bad["AUCinf"]) and np.isnan(bad["CL/F"])
    assert bad["lambda_z_n"] == 0
    assert "2 positive points after Cmax, 3 needed" in bad["note"]
    assert bad["AUClast"] > 0 and bad["Cmax"] == 5
    assert np.isfinite(good["lambda_z"]) and good["note"] == "" and good["dose"] == 20
    with pytest.raises(qsp.InputError, match="subject 1: column 'DV'"):
        nca(df, strict=True)
    assert res.summary().loc["lambda_z", "n"] == 1


def test_linear_and_log_down_agree_on_rising_segments():
    t = np.array([0, 1, 2, 3, 4, 6, 8])
    c = np.array([0, 1, 2, 3, 2, 1, 0.5])
    lin = nca(pd.DataFrame({"ID": 1, "TIME": t, "DV": c}), auc_method="linear").table.loc[1]
    log = nca(pd.DataFrame({"ID": 1, "TIME": t, "DV": c})).table.loc[1]
    assert lin["AUClast"] == pytest.approx(4.5 + 2.5 + 3 + 1.5)
    log_part = 1 / math.log(1.5) + 2 / math.log(2) + 1 / math.log(2)
    assert log["AUClast"] == pytest.approx(4.5 + log_part)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.assign(TIME=[0, 2, 1, 4, 8]), r"subject 1: column 'TIME' must increase strictly \(1 after 2\)"),
    (lambda d: d.assign(DV=[0, 5, -1, 2, 1]), r"subject 1: column 'DV' has a negative concentration"),
    (lambda d: d.drop(columns="DV"), r"column 'DV' missing"),
    (lambda d: d.assign(TIME=[-1, 1, 2, 4, 8]), r"subject 1: column 'TIME' has a negative time"),
])
def test_bad_input_is_one_line_input_error(change, message):
    df = pd.DataFrame({"ID": 1, "TIME": [0, 1, 2, 4, 8], "DV": [0, 5, 3, 2, 1]})
    with pytest.raises(qsp.InputError, match=message) as err:
        nca(change(df))
    assert "\n" not in str(err.value)


def test_bad_options_and_dose_column():
    df = pd.DataFrame({"ID": [1, 1, 1, 1], "TIME": [0, 1, 2, 4], "DV": [0, 5, 3, 1], "AMT": [10, 10, 20, 10]})
    with pytest.raises(qsp.InputError, match="route"):
        nca(df, route="oral")
    with pytest.raises(qsp.InputError, match="subject 1: column 'AMT' must hold one dose"):
        nca(df, dose="AMT")
    with pytest.raises(qsp.InputError, match="subject 1: no dose"):
        nca(df, dose={2: 1.0})


def test_custom_columns_several_subjects_and_outputs(tmp_path):
    t = np.linspace(0, 24, 49)
    df = bolus_table(t, 3).rename(columns={"ID": "subj", "TIME": "t", "DV": "conc"})
    df["conc"] *= np.repeat([1.0, 2.0, 0.5], len(t))
    df["amt"] = np.repeat([D, 2 * D, D / 2], len(t))
    res = nca(df, id_col="subj", time_col="t", conc_col="conc", dose="amt", route="iv")
    assert list(res.table.index) == [1, 2, 3]
    np.testing.assert_allclose(res.table["CL"], V * K, rtol=1e-9)
    np.testing.assert_allclose(res.table["AUCinf"], [D / (V * K), 2 * D / (V * K), D / (2 * V * K)], rtol=1e-9)
    s = res.summary()
    assert s.loc["CL", "n"] == 3 and s.loc["CL", "mean"] == pytest.approx(V * K, rel=1e-9)
    assert s.loc["AUCinf", "geo_mean"] == pytest.approx(D / (V * K), rel=1e-9)
    res.to_csv(tmp_path / "nca.csv")
    back = pd.read_csv(tmp_path / "nca.csv", index_col=0)
    np.testing.assert_allclose(back["AUCinf"], res.table["AUCinf"], rtol=1e-12)
    doc = json.loads(res.to_json(tmp_path / "nca.json"))
    assert doc["route"] == "iv" and doc["subjects"][1]["subject"] == 2
    assert json.loads((tmp_path / "nca.json").read_text()) == doc
    html = res._repr_html_()
    assert "<b>NCAResult</b>" in html and "3 profiles" in html and "AUCinf" in html
    ax = res.plot()
    assert ax.get_yscale() == "log" and len(ax.lines) == 6


def test_simulated_iv_bolus_pipeline(pk1):
    t = np.linspace(0, 48, 193)
    sim = pk1.simulate(times=t, outputs=["[A]"], doses=[qsp.Dose("A", D)], rtol=1e-10, atol=1e-14)
    res = nca(sim, dose=D, route="iv", dose_unit="umol")
    row = res.table.loc[1]
    assert row["lambda_z"] == pytest.approx(K, rel=1e-5)
    assert row["AUCinf"] == pytest.approx(D / (V * K), rel=1e-5)
    assert row["CL"] == pytest.approx(V * K, rel=1e-5)
    assert row["Vz"] == pytest.approx(V, rel=1e-5)
    assert res.time_unit == sim.time_unit


ORAL = f"""
model oral1
  compartment V = {V}
  compartment gut = 1
  species Ad in gut = 0
  species C in V = 0
  ka = {KA}
  k = {K}
  absorption: Ad -> C; ka * Ad * gut
  elimination: C -> ; k * C * V
end
"""


def test_simulated_oral_pipeline():
    m = qsp.Model.from_antimony(ORAL)
    t = ORAL_TIMES
    sim = m.simulate(times=t, outputs=["[C]"], doses=[qsp.Dose("Ad", F * D)], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sim["[C]"], bateman(t), rtol=1e-5, atol=1e-9)
    row = nca(sim, dose=D, adj_r2_tolerance=0.0).table.loc[1]
    assert row["lambda_z"] == pytest.approx(K, rel=1e-5)
    assert row["AUCinf"] == pytest.approx(F * D / (V * K), rel=1e-3)
    assert row["CL/F"] == pytest.approx(V * K / F, rel=1e-3)


def test_ensemble_trajectories_one_profile_per_task():
    from qsp.ensemble.result import EnsembleResult

    t = np.linspace(0, 24, 49)
    traj = pd.DataFrame({"task": np.repeat([0, 1], len(t)), "time": np.tile(t, 2),
                         "[A]": np.concatenate([D / V * np.exp(-K * t), D / V * np.exp(-2 * K * t)])})
    res = nca(EnsembleResult(pd.DataFrame(), traj, []), dose=D, route="iv")
    np.testing.assert_allclose(res.table["lambda_z"], [K, 2 * K], rtol=1e-9)
    np.testing.assert_allclose(res.table["CL"], [V * K, 2 * V * K], rtol=1e-9)
