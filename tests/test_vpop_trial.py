"""Response classification, binomial intervals and a simulated trial with closed-form tumour curves."""

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import vpop

# V(t) = 100 exp((g - kill) t): the best % change on the grid {0, 1} is 100 (exp(g - kill) - 1)
TUMOUR = """model tumour
  species V = 100
  g = 0; kill = 0
  V' = (g - kill) * V
  C := 10 * g
end"""


def test_wilson_interval_against_hand_computation():
    # 8/20, z = 1.959964: (0.4 + z^2/40 -/+ z sqrt(0.012 + z^2/1600)) / (1 + z^2/20) = 0.21881, 0.61342
    lo, hi = vpop.wilson_interval(8, 20)
    assert lo == pytest.approx(0.21881, abs=5e-6) and hi == pytest.approx(0.61342, abs=5e-6)
    assert vpop.wilson_interval(0, 10)[0] == 0.0
    cp = vpop.clopper_pearson(0, 10)
    assert cp[1] == pytest.approx(1 - 0.025 ** (1 / 10))  # exact upper bound when k = 0


def test_newcombe_and_fisher():
    d, lo, hi = vpop.newcombe_difference(56, 70, 48, 80)  # Newcombe 1998, Table II example (c)
    assert d == pytest.approx(0.2) and lo == pytest.approx(0.0524, abs=5e-4) and hi == pytest.approx(0.3339, abs=5e-4)
    assert vpop.fisher_exact(3, 3, 0, 3) == pytest.approx(0.1)  # 2 / C(6, 3)


def test_recist_rule_on_constructed_curves():
    t = np.linspace(0, 10, 11)
    curves = np.vstack([
        100 * np.exp(-t),               # -> ~0: CR by floor, best -99.995 %
        np.where(t < 5, 100 - 10 * t, 50),  # best -50 %: PR
        100 + 0 * t,                    # 0 %: SD
        100 * (1 + 0.3 * t),            # first point after baseline +30 %: PD
        np.r_[100, 90, 120 + t[2:]],   # -10 % then growth: SD (best change counts)
        np.r_[100, 0, 0 * t[2:]],       # -100 %: CR by the percent rule
    ])
    y0, nadir, best = vpop.best_percent_change(t, curves, baseline=0.0)
    assert y0.tolist() == [100] * 6 and best[1] == pytest.approx(-50) and best[3] == pytest.approx(30)
    cat = vpop.classify_recist(best, nadir=nadir, floor=0.01)
    assert cat.tolist() == ["CR", "PR", "SD", "PD", "SD", "CR"]
    assert vpop.classify_recist(best, pr=-60).tolist()[1] == "SD"  # thresholds are parameters
    assert vpop.classify_recist(best).tolist()[0] == "PR"  # without the floor, -99.995 % is not -100 %
    y0, _, best = vpop.best_percent_change(t, curves[1:2], baseline=2.0)  # baseline interpolated at t = 2: 80
    assert y0[0] == pytest.approx(80) and best[0] == pytest.approx(100 * (50 - 80) / 80)


def test_crs_grades():
    assert vpop.grade_crs([0.5, 1.0, 7.0, 100.0, np.nan], [1, 5, 50]).tolist() == [0, 1, 2, 3, -1]
    with pytest.raises(qsp.QSPError, match="increasing"):
        vpop.grade_crs([1.0], [5, 1])


def test_simulated_trial_rates_match_closed_form():
    model = qsp.Model.from_antimony(TUMOUR)
    g = np.array([-0.5, -0.2, 0.0, 0.1, 0.3, -1.0, 0.25, 0.05])
    vps = pd.DataFrame({"g": g})
    arms = {"control": ([], {}), "treated": ([], {"kill": 0.3})}
    trial = vpop.simulate_trial(model, vps, arms, tumour="V", baseline=0.0, t_end=1, points=2,
                                cytokine="C", crs_thresholds=[1.0, 2.5])
    p = trial.patients
    for arm, kill in (("control", 0.0), ("treated", 0.3)):
        sub = p[p.regimen == arm]
        expected = 100 * (np.exp(g - kill) - 1)
        assert sub["best_percent_change"].to_numpy() == pytest.approx(expected, abs=1e-3)
        cat = np.where(expected <= -30, "PR", np.where(expected >= 20, "PD", "SD"))
        assert sub["category"].tolist() == cat.tolist()
        r = trial.rates[(trial.rates.regimen == arm) & (trial.rates.endpoint == "response")].iloc[0]
        k = int((cat == "PR").sum())
        assert r["count"] == k and r["rate"] == pytest.approx(k / 8)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(vpop.wilson_interval(k, 8))
    # peaks 10 g = [-5, -2, 0, 1, 3, -10, 2.5, 0.5]; a peak equal to a threshold reaches that grade, as in
    # test_crs_grades (1.0 -> 1), so 1.0 -> 1 and 2.5 -> 2
    assert p.loc[p.regimen == "control", "crs_grade"].tolist() == [0, 0, 0, 1, 2, 0, 2, 0]
    cmp = trial.comparisons.iloc[0]
    # responders: control g = -0.5, -1.0 (2 of 8); treated g - 0.3 = -0.8, -0.5, -1.3 (3 of 8; -0.3 gives -25.9 %)
    assert cmp["arm"] == "control" and cmp["difference"] == pytest.approx(2 / 8 - 3 / 8)
    assert cmp["fisher_p"] == pytest.approx(vpop.fisher_exact(2, 8, 3, 8))
    assert (cmp["ci_low"], cmp["ci_high"]) == pytest.approx(vpop.newcombe_difference(2, 8, 3, 8)[1:])
    # weighted: all weight on the first two patients (both PR when treated)
    w = np.r_[0.5, 0.5, np.zeros(6)]
    tw = vpop.simulate_trial(model, vps, arms, tumour="V", t_end=1, points=2, weights=w)
    r = tw.rates[(tw.rates.regimen == "treated") & (tw.rates.endpoint == "response")].iloc[0]
    assert r["rate"] == pytest.approx(1.0) and r["n_eff"] == pytest.approx(2.0)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(vpop.wilson_interval(2, 2))


def test_trial_plots_and_exports(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    model = qsp.Model.from_antimony(TUMOUR)
    trial = vpop.simulate_trial(model, pd.DataFrame({"g": [-0.5, 0.0, 0.3]}), {"a": ([], {})}, tumour="V",
                                t_end=1, points=5)
    ax = trial.plot()
    assert len(ax.patches) == 3
    ax = trial.plot_spider()
    assert len(ax.lines) == 4  # three patients + the zero line
    trial.to_csv(tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv")["best_percent_change"].round(6).tolist() == \
        pytest.approx(trial.patients["best_percent_change"].round(6).tolist())


def test_assessment_visits_turn_steady_growth_into_progression():
    # V = 100 exp(g t): read at every output time (step 0.1) the best change of a growing tumour is its growth
    # over 0.1 (SD); read at visits t = 2, 4 it is 100 (exp(2 g) - 1), PD from g = ln(1.2) / 2 = 0.091
    model = qsp.Model.from_antimony(TUMOUR)
    g = np.array([0.05, 0.1, 0.3, -0.3])
    vps = pd.DataFrame({"g": g})
    dense = vpop.simulate_trial(model, vps, {"a": ([], {})}, tumour="V", t_end=4.5, points=46)
    visits = vpop.simulate_trial(model, vps, {"a": ([], {})}, tumour="V", t_end=4.5, points=46, assess_every=2)
    assert dense.patients["best_percent_change"].to_numpy() == pytest.approx(
        np.where(g > 0, 100 * (np.exp(0.1 * g) - 1), 100 * (np.exp(4.5 * g) - 1)), abs=1e-3)
    assert dense.patients["category"].tolist() == ["SD", "SD", "SD", "PR"]
    expected = np.where(g > 0, 100 * (np.exp(2 * g) - 1), 100 * (np.exp(4 * g) - 1))
    assert visits.patients["best_percent_change"].to_numpy() == pytest.approx(expected, rel=1e-4)  # solver tolerance
    assert visits.patients["category"].tolist() == ["SD", "PD", "PD", "PR"]
    assert visits.rule["assessments"] == [2.0, 4.0]
    # explicit visits, interpolated between output times; the same through best_percent_change directly
    t = np.linspace(0, 10, 11)
    _, nadir, best = vpop.best_percent_change(t, 100 + 10 * t, 0.0, assessments=[2.5, 7.0, 12.0])
    assert nadir[0] == pytest.approx(125.0) and best[0] == pytest.approx(25.0)
    with pytest.raises(qsp.QSPError, match="no assessment time"):
        vpop.best_percent_change(t, 100 + 10 * t, 5.0, assessments=[1.0, 2.0])
    with pytest.raises(qsp.QSPError, match="assess_every must be > 0"):
        vpop.simulate_trial(model, vps, {"a": ([], {})}, tumour="V", t_end=1, points=2, assess_every=0)
