"""MOOCS-DS: analytic invariants of the four combination indices, the pembrolizumab + bevacizumab case study
(docs/synergy.md, shared/references/moocs-ds.md sections 4.2 and 4.4), constraints and the virtual-patient variant."""

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import QSPError
from qsp.synergy import (
    SPACES,
    DoseResponseSurface,
    MuSyC,
    Treatment,
    dose_grid,
    moocs,
    moocs_population,
    musyc_surface,
    simulate_surface,
)

matplotlib.use("Agg")

PEMBRO = Treatment("A1", "mg/kg", time=3, every=3, count=5)
BEV = Treatment("A2", "mg/kg", time=0, every=3, count=6)
G1, G2 = dose_grid(0.408, 10.88, 30), dose_grid(0.1372, 3.457, 30)  # the paper's H1299 grid (EC5-EC70)
A549 = {"k21": 1e-4, "k22": 8e-4, "k3": 2e-5, "x1_0": 43.62606232}
CIS = ["hsa", "bliss", "loewe", "lsd"]


@pytest.fixture(scope="module")
def pembro_bev():
    return qsp.load_model("pembro_bev")


@pytest.fixture(scope="module")
def h1299(pembro_bev):
    """30 x 30 MOOCS-DS of the experimental schedule (about 1.5 s)."""
    s = simulate_surface(pembro_bev, PEMBRO, BEV, G1, G2, response="tgi:W:35", mono_points=200, rtol=1e-10)
    return s, moocs(s)


# ------------------------------------------------------------------------------------------ analytic invariants
def test_sham_combination_is_loewe_additive_and_hsa_synergistic():
    """A drug combined with itself: D1 = D2 = d1 + d2, so Loewe-CI = absolute LSD-CI = 1; HSA-CI < 1."""
    g = np.linspace(0.1, 2.0, 12)
    s = DoseResponseSurface.from_function(lambda a, b: (a + b) ** 1.5 / (1 + (a + b) ** 1.5), g, g)
    t = moocs(s).table
    np.testing.assert_allclose(t["loewe"], 1.0, atol=1e-6)
    np.testing.assert_allclose(t["lsd_abs"], 1.0, atol=1e-6)
    np.testing.assert_allclose(t["lsd"], 1.0, atol=1e-6)  # same EC50s, so the relative form agrees
    assert (t["hsa"] < 1).all()


def test_exponential_log_kill_is_additive_in_bliss_loewe_and_lsd():
    g1, g2 = np.linspace(0.01, 0.3, 10), np.linspace(0.02, 0.5, 9)
    s = DoseResponseSurface.from_function(lambda a, b: 1 - np.exp(-(2.0 * a + 0.7 * b) * 3.0), g1, g2)
    t = moocs(s).table
    for ci in ("bliss", "loewe", "lsd"):
        np.testing.assert_allclose(t[ci], 1.0, atol=1e-6, err_msg=ci)


def test_musyc_nulls():
    g = np.geomspace(0.05, 20, 9)
    # Bliss null: E0 = 1, E3 = E1*E2, alpha = 1; the effect is 1 - viability
    s = DoseResponseSurface.from_function(
        lambda a, b: 1 - musyc_surface(a, b, 1.0, 0.4, 0.25, 0.1, 1.3, 0.7, 0.8, 1.5), g, g)
    np.testing.assert_allclose(moocs(s).table["bliss"], 1.0, atol=1e-12)
    # Loewe null: E0 = 0, E1 = E2 = 1, h = 1, alpha = 0 (mutually exclusive drugs)
    s = DoseResponseSurface.from_function(
        lambda a, b: musyc_surface(a, b, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 2.0, alpha12=0.0, alpha21=0.0), g, g)
    t = moocs(s).table
    assert moocs(s).info["EC50_1"] == pytest.approx(0.5, rel=1e-6)
    np.testing.assert_allclose(t["loewe"], 1.0, atol=1e-5)
    np.testing.assert_allclose(t["lsd"], 1.0, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_index_inequalities_on_random_musyc_surfaces(seed):
    rng = np.random.default_rng(seed)
    e1, e2 = rng.uniform(0.2, 0.7, 2)
    p = {"E0": 1.0, "E1": e1, "E2": e2, "E3": rng.uniform(0, min(e1, e2)), "h1": rng.uniform(0.5, 3),
         "h2": rng.uniform(0.5, 3), "C1": rng.uniform(0.3, 3), "C2": rng.uniform(0.3, 3),
         "alpha12": rng.uniform(0.2, 5), "alpha21": rng.uniform(0.2, 5)}
    g = np.geomspace(0.05, 5, 10)
    # the weaker drug's plateau is below most combination effects: its D is inf there, so compare the limit values
    t = moocs(DoseResponseSurface.from_function(lambda a, b: 1 - musyc_surface(a, b, **p), g, g),
              undefined_potency="zero").table
    ok = t["feasible"]
    assert ok.any()
    assert (t.loc[ok, "lsd"] >= t.loc[ok, "loewe"] - 1e-12).all()
    assert (t["bliss"] >= t["hsa"] - 1e-12).all()


def test_toy_model_regression():
    """Gevertz & Kareva's toy model, logistic with kill rates as doses (closed form), on the 50 x 50 grid from
    EC5 to EC85: no efficacy synergy under Bliss, and no dose lies on all four exact fronts."""
    r, K, x0, tf = 0.2, 10.0, 1.0, 10.0

    def volume(d1, d2):
        a, b = r - d1, r / K + d2
        e = np.exp(a * tf)
        return a * x0 * e / (a + b * x0 * (e - 1))

    ctrl = volume(0.0, 0.0)
    s = DoseResponseSurface.from_function(lambda a, b: (ctrl - volume(a, b)) / ctrl, np.linspace(0.00685, 0.2227, 50),
                                          np.linspace(0.00270, 0.2907, 50))
    res = moocs(s)
    t = res.table
    assert (res.info["EC50_1"], res.info["EC50_2"]) == pytest.approx((0.0872, 0.0513), abs=5e-5)
    for ci, lo, hi in [("bliss", 1.004, 1.065), ("hsa", 0.52, 1.0), ("loewe", 0.92, 1.01), ("lsd", 1.003, 2.22)]:
        assert t[ci].min() == pytest.approx(lo, abs=5e-3), ci
        assert t[ci].max() == pytest.approx(hi, abs=5e-3), ci
    assert res.robust().empty and t["count"].max() < 4


# ------------------------------------------------------------------------------------------ the case study
def test_h1299_case_study(h1299):
    """docs/synergy.md, case study: every number at the precision shown there."""
    _, res = h1299
    t = res.table
    assert (res.info["EC50_1"], res.info["EC50_2"]) == pytest.approx((5.8428, 1.9144), abs=5e-5)
    assert len(t) == 900 and t["feasible"].all() and res.info["n_potency_undefined"] == 0
    assert (t[CIS] < 1).all().all()  # every grid point is synergistic under all four indices
    assert t["tgi"].min() == pytest.approx(0.109163, rel=1e-5)
    assert t["tgi"].max() == pytest.approx(0.949482, rel=1e-5)
    # where each index is lowest: value, dose pair and grid position (reference 4.2; potency to its 5 %)
    for ci, (i, j), (d1, d2), value, tol in [("hsa", (4, 4), (1.85, 0.595), 0.412, (5e-3, 5e-4)),
                                             ("lsd", (15, 17), (5.82, 2.08), 0.424, (5e-3, 5e-3)),
                                             ("loewe", (29, 20), (10.88, 2.43), 0.326, (5e-3, 5e-3))]:
        best = t.loc[t[ci].idxmin()]
        assert (best.i, best.j) == (i, j), ci
        assert best.d1 == pytest.approx(d1, abs=tol[0]) and best.d2 == pytest.approx(d2, abs=tol[1]), ci
        assert best[ci] == pytest.approx(value, abs=5e-4), ci
    assert t.loc[t["hsa"].idxmin(), "tgi"] == pytest.approx(0.50, abs=0.005)
    # exact fronts, larger than the boundary-filtered ones of the 2023 code (18, 20, 30, 38)
    sizes = res.summary().set_index("space")["n_front"]
    assert sizes.to_dict() == {"lsd_hsa": 21, "lsd_bliss": 24, "loewe_hsa": 62, "loewe_bliss": 81}
    lsd_hsa = res.front(("lsd", "hsa"))
    assert (lsd_hsa.d1.min(), lsd_hsa.d1.max()) == pytest.approx((1.85, 5.83), abs=0.01)
    assert (lsd_hsa.d2.min(), lsd_hsa.d2.max()) == pytest.approx((0.595, 2.08), abs=0.01)


def test_h1299_robust_doses_lie_on_the_equal_normalised_dose_diagonal(h1299):
    _, res = h1299
    rb = res.robust().sort_values(["i", "j"])
    assert list(zip(rb.i, rb.j)) == [(7, 7), (8, 8), (8, 9), (9, 9), (9, 10), (10, 10), (10, 11), (11, 11),
                                     (11, 12), (12, 13), (13, 14), (14, 15)]
    assert (rb.d1.iloc[0], rb.d2.iloc[0], rb.d1.iloc[-1], rb.d2.iloc[-1]) == pytest.approx((2.94, 0.94, 5.46, 1.85),
                                                                                         abs=0.005)
    assert (rb["tgi"].min(), rb["tgi"].max()) == pytest.approx((0.71, 0.91), abs=0.005)
    ratio = (rb.d1 / res.info["EC50_1"]) / (rb.d2 / res.info["EC50_2"])
    assert (ratio.min(), ratio.max()) == pytest.approx((0.93, 1.03), abs=0.005)
    # the authors' 6 stored robust doses, on the diagonal: the first five are robust here; the sixth is optimal in
    # three spaces, all but LSD-Bliss
    t = res.table.set_index(["i", "j"])
    stored = [(7, 7, 2.94, 0.94), (8, 8, 3.30, 1.05), (9, 9, 3.66, 1.17), (10, 10, 4.02, 1.28), (11, 11, 4.38, 1.40),
              (12, 12, 4.74, 1.51)]
    for i, j, d1, d2 in stored:
        assert (t.loc[(i, j), "d1"], t.loc[(i, j), "d2"]) == pytest.approx((d1, d2), abs=0.005)
    assert [bool(t.loc[(i, j), "robust"]) for i, j, *_ in stored] == [True] * 5 + [False]
    sixth = t.loc[(12, 12)]
    assert sixth["count"] == 3 and not sixth["pareto_lsd_bliss"]
    # the front dose nearest to the experimental dose (10, 1) on the 30 x 30 grid
    near = res.nearest_optimal(10, 1)
    assert (near.i, near.j, near["count"], bool(near["pareto_loewe_bliss"])) == (24, 14, 1, True)
    assert (near.d1, near.d2) == pytest.approx((9.07, 1.74), abs=0.005)
    # the experimental dose itself, added to the grid (31 x 31), is optimal in no space
    exp = pd.DataFrame({"d1": [10.0], "d2": [1.0]})
    s10 = simulate_surface(qsp.load_model("pembro_bev"), PEMBRO, BEV, np.append(G1, 10.0), np.append(G2, 1.0),
                           mono_points=200)
    t10 = moocs(s10).table
    row = t10.merge(exp, on=["d1", "d2"])
    assert len(row) == 1 and row["count"].iloc[0] == 0 and row["tgi"].iloc[0] == pytest.approx(0.9127, abs=5e-5)


def test_constraints_minimum_tgi_and_dose_box(h1299):
    s, _ = h1299
    res = moocs(s, tgi_min=0.6, dose_box=((0.408, 6.0), (0.1372, 2.0)))
    t = res.table
    feasible = (t.tgi >= 0.6) & (t.d1 <= 6.0) & (t.d2 <= 2.0)
    assert (t["feasible"] == feasible).all()
    for sp in SPACES:
        on = t[f"pareto_{sp[0]}_{sp[1]}"]
        assert on.any() and not (on & ~feasible).any()
        assert not (t[f"near_{sp[0]}_{sp[1]}"] & on).any()
    assert res.robust()["tgi"].min() >= 0.6
    with pytest.raises(QSPError, match="criterion space"):
        moocs(s, spaces=[("hsa", "lsd")])


def test_results_export_and_plot(h1299):
    s, res = h1299
    data = json.loads(res.to_json())
    assert data["EC50_1"] == pytest.approx(res.info["EC50_1"]) and len(data["rows"]) == 900
    row = next(r for r in data["rows"] if r["i"] == 10 and r["j"] == 10)
    assert row["tgi"] == pytest.approx(res.table.query("i == 10 and j == 10")["tgi"].iloc[0], rel=1e-12)
    assert res.to_pandas().shape == res.table.shape
    axes = res.plot_fronts(mark=[(10.0, 1.0)])
    assert len(axes) == 4 and axes[0].get_xlabel() == "LSD CI (potency)"
    assert res.plot().get_title() == "MOOCS-DS robustness"
    assert res.plot_doses(space=("loewe", "hsa")).get_xlabel() == "A1 (mg/kg)"
    assert s.plot().get_ylabel() == "A2 (mg/kg)"
    import matplotlib.pyplot as plt

    plt.close("all")


# ------------------------------------------------------------------------------------------ virtual patients
def test_population_frequencies_are_the_mean_of_per_patient_results(pembro_bev):
    """Two virtual animals (the H1299 and A549 parameter sets): the population table must equal the average of
    the two single-animal MOOCS-DS runs, simulated separately through fixed parameters."""
    g1, g2 = dose_grid(1.0, 40.0, 6), dose_grid(0.2, 4.0, 5)
    X = pd.DataFrame([{"k21": 8e-4, "k22": 1.1e-3, "k3": 1e-4, "x1_0": 36.86513265}, A549])
    pop = moocs_population(simulate_surface(pembro_bev, PEMBRO, BEV, g1, g2, samples=X, mono_points=40))
    singles = [moocs(simulate_surface(pembro_bev, PEMBRO, BEV, g1, g2, params=dict(row), mono_points=40)).table
               for _, row in X.iterrows()]
    count = sum(t["count"].to_numpy() for t in singles)
    robust = sum(t["robust"].to_numpy(float) for t in singles)
    t = pop.table
    np.testing.assert_allclose(t["optimal_frequency"], count / 8, atol=1e-12)
    np.testing.assert_allclose(t["robust_fraction"], robust / 2, atol=1e-12)
    np.testing.assert_allclose(t["mean_tgi"], (singles[0]["tgi"] + singles[1]["tgi"]) / 2, rtol=1e-9)
    assert (t["pareto_score"] >= t["optimal_frequency"]).all()
    assert pop.info["n_samples"] == 2 and len(pop.top(3)) == 3
    assert pop.plot().get_xlabel() == "A1 (mg/kg)"


def test_population_of_identical_patients_and_tgi_constraint(pembro_bev):
    g1, g2 = dose_grid(0.408, 10.88, 6), dose_grid(0.1372, 3.457, 6)
    X = pd.DataFrame({"k3": [1e-4, 1e-4, 1e-4]})
    s = simulate_surface(pembro_bev, PEMBRO, BEV, g1, g2, samples=X, mono_points=40)
    one = moocs(s, sample=0, tgi_min=0.6).table
    pop = moocs_population(s, tgi_min=0.6).table
    np.testing.assert_allclose(pop["optimal_frequency"], one["count"] / 4, atol=1e-12)
    assert set(pop["robust_fraction"]) <= {0.0, 1.0}
    np.testing.assert_array_equal(pop["fraction_tgi_ok"], (one["tgi"] >= 0.6).astype(float))
    assert pop.loc[pop["fraction_tgi_ok"] == 0, "optimal_frequency"].eq(0).all()


# ------------------------------------------------------------------------------------------ MuSyC on the case study
def test_musyc_on_the_h1299_tgi_surface_is_bounded_and_finds_potency_synergy(h1299):
    """The grid and the dense single-drug curves, TGI bounded by 1. Before the bounds the fit put the single-drug
    plateaus above 1 (E1 = 1.15, E2 = 1.26) and reported beta = -0.25. Now every effect is <= 1, the synergy is
    potency (alpha12, alpha21 > 6), and MuSyC's surface lies above its no-interaction null at every grid point, as
    Bliss, HSA and Loewe say. beta stays slightly negative: each drug alone reaches TGI 0.96-0.97 within the dense
    range, so the combination cannot exceed the stronger drug's plateau by much (E3 = 0.970 vs E2 = 1)."""
    s, res = h1299
    with pytest.warns(qsp.QSPWarning, match="E2 = 1 at a bound"):
        fit = MuSyC().fit_surface(s)
    p = fit.params_
    assert max(p["E0"], p["E1"], p["E2"], p["E3"]) <= 1.0 and fit.bounds_["E1"][1] == 1.0
    assert (p["E1"], p["E2"], p["E3"]) == pytest.approx((0.978, 1.0, 0.970), abs=1e-3)
    assert (p["alpha12"], p["alpha21"]) == pytest.approx((6.30, 6.46), abs=0.01)
    assert fit.beta_ == pytest.approx(-0.031, abs=1e-3) and fit.at_bound_ == ["E2"]
    assert (s.mono1_effect.max(), s.mono2_effect.max()) == pytest.approx((0.957, 0.972), abs=1e-3)
    combo = (fit.d1_ > 0) & (fit.d2_ > 0)
    assert combo.sum() == 900  # above the null everywhere, "by 0.009 to 0.23"
    assert fit.synergy_[combo].min() == pytest.approx(0.009, abs=5e-4)
    assert fit.synergy_[combo].max() == pytest.approx(0.23, abs=5e-3)
    assert (res.table[CIS] < 1).all().all()  # Bliss, HSA, Loewe (and LSD) call every grid point synergistic
