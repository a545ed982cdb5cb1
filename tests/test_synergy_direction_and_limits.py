"""Synergy: responses that fall with dose, the memory bound, the command line (option names, values that start
with '-', repeated keys, progress), the robustness colour bar, MuSyC's steady state and bounds, and the notebook
view of every result. Real simulations of the shipped pembro_bev model."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from pymoo.problems import get_problem

import qsp
from qsp import synergy
from qsp.synergy import DoseResponseSurface, MuSyC, Treatment, dose_grid, moocs, musyc_surface, simulate_surface

from .cli_checks import one_line, run_cli

matplotlib.use("Agg")

PEMBRO = Treatment("A1", "mg/kg", time=3, every=3, count=5)
BEV = Treatment("A2", "mg/kg", time=0, every=3, count=6)
CLI = ["synergy", "pembro_bev", "--drug", "A1:mg/kg", "--drug", "A2:mg/kg",
       "--schedule", "time=3,every=3,count=5", "--schedule", "time=0,every=3,count=6"]


@pytest.fixture(scope="module")
def pembro_bev():
    return qsp.load_model("pembro_bev")


@pytest.fixture(scope="module")
def small(pembro_bev):
    """A 4 x 3 TGI surface with 10 dense levels per drug."""
    return simulate_surface(pembro_bev, PEMBRO, BEV, dose_grid(1, 10, 4), dose_grid(0.2, 2, 3), mono_points=10)


def cli(capfd, *args) -> tuple[int, str]:
    return run_cli(capfd, *args)


# ------------------------------------------------------------------------------------------ direction
def test_a_response_that_falls_with_dose_is_refused(pembro_bev):
    with pytest.raises(qsp.InputError, match=r"response='value_at:W:35' falls with the dose of A1: .* e\.g\. "
                                             r"tgi:W:35 \(tumour growth inhibition\)"):
        simulate_surface(pembro_bev, PEMBRO, BEV, dose_grid(1, 10, 3), dose_grid(0.2, 2, 3),
                         response="value_at:W:35", mono_points=5)


def test_cli_refuses_a_falling_metric_and_writes_nothing(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, err = cli(capfd, *CLI, "--grid", "1:10:3,0.2:2:3", "--metric", "value_at:W:35", "--mono-points", 5,
                  "--out", "m.csv")
    line = one_line(err)
    assert rc == 1 and "--metric value_at:W:35 falls with the dose of A1" in line and "tgi:W:35" in line
    assert not (tmp_path / "m.csv").exists()


def test_moocs_refuses_a_falling_analytic_surface_and_labels_a_non_tgi_effect():
    g = np.geomspace(0.1, 10, 6)
    falling = DoseResponseSurface.from_function(lambda a, b: 1 / (1 + a + b), g, g, response="viability")
    with pytest.raises(qsp.InputError, match=r"the surface's effect \(viability\) falls with the dose of drug 1"):
        moocs(falling)
    rising = DoseResponseSurface.from_function(lambda a, b: (a + b) / (1 + a + b), g, g, response="value_at:E:10")
    res = moocs(rising)
    assert "effect" in res.table and "tgi" not in res.table and res.info["effect_column"] == "effect"
    pop = synergy.moocs_population(rising, tgi_min=0.5).table
    assert {"mean_effect", "fraction_effect_ok"} <= set(pop) and not {"mean_tgi", "fraction_tgi_ok"} & set(pop)
    np.testing.assert_array_equal(pop["fraction_effect_ok"], (res.table["effect"] >= 0.5).astype(float))
    assert moocs(DoseResponseSurface.from_function(lambda a, b: (a + b) / (1 + a + b), g, g,
                                                   response="TGI")).table.columns[4] == "tgi"


# ------------------------------------------------------------------------------------------ memory bound
def test_absurd_grids_are_refused_before_allocating(pembro_bev):
    with pytest.raises(qsp.InputError, match=r"grid='1:2:100000,1:2:100000' \(100000 x 100000 dose pairs\) needs "
                                             r"about .* TiB of memory, above the limit of 4 GiB"):
        synergy.parse_grid("1:2:100000,1:2:100000")
    with pytest.raises(qsp.InputError, match="a grid axis of 1000000000 levels needs about"):
        dose_grid(1, 2, 10**9)
    with pytest.raises(qsp.InputError, match=r"10 x 10 dose pairs, 2000000022 single-treatment levels \(d1=, d2=, "
                                             r"mono_points=\)"):
        simulate_surface(pembro_bev, PEMBRO, BEV, dose_grid(1, 10, 10), dose_grid(0.2, 2, 10), mono_points=10**9)


@pytest.mark.parametrize("args, message", [
    (["--grid", "1:10:100000,0.2:2:100000"], "--grid 1:10:100000,0.2:2:100000 (100000 x 100000 dose pairs)"),
    (["--grid", "1:10:3,0.2:2:3", "--n-samples", 10**8],
     "3 x 3 dose pairs, 408 single-treatment levels, 100000000 parameter sets (--grid, --mono-points, --n-samples)"),
    (["--grid", "1:10:3,0.2:2:3", "--mono-points", 10**9], "(--grid, --mono-points) needs about"),
])
def test_cli_refuses_absurd_sizes_in_one_line(tmp_path, capfd, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    rc, err = cli(capfd, *CLI, *args, "--out", "m.csv")
    assert rc == 1 and message in one_line(err)


# ------------------------------------------------------------------------------------------ command line
def test_a_grid_that_starts_with_a_minus_sign_parses_and_is_refused_clearly(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for grid in (["--grid", "-1:1:5,0:1:3"], ["--grid=-1:1:5,0:1:3"]):
        rc, err = cli(capfd, *CLI, *grid, "--out", "m.csv")
        assert rc == 1 and one_line(err) == "qsp: error: grid axis '-1:1:5': doses must satisfy 0 <= MIN <= MAX"


def test_repeated_keys_are_refused(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, err = cli(capfd, *CLI[:6], "--schedule", "time=3,every=3,time=4", "--grid", "1:2:3,1:2:3", "--out", "m.csv")
    assert rc == 2 and "schedule field 'time' is given twice" in one_line(err)
    rc, err = cli(capfd, *CLI, "--grid", "1:2:3,1:2:3", "--param", "k3=1e-4", "--param", "k3=2e-4", "--out", "m.csv")
    assert rc == 1 and one_line(err) == "qsp: error: --param 'k3' is given twice"


def test_progress_bar_on_request(pembro_bev, capsys):
    simulate_surface(pembro_bev, PEMBRO, BEV, [1.0, 2.0], [1.0], mono_points=3, progress=True)
    assert "13/13" in capsys.readouterr().err  # control, 2 grid points, 6 + 4 distinct dense levels
    simulate_surface(pembro_bev, PEMBRO, BEV, [1.0, 2.0], [1.0], mono_points=3)
    assert capsys.readouterr().err == ""


def test_the_store_keeps_the_surface_simulations(pembro_bev, tmp_path):
    kw = dict(mono_points=3, out=tmp_path / "surface")
    first = simulate_surface(pembro_bev, PEMBRO, BEV, [1.0, 2.0], [1.0], **kw)
    parts = sorted(p.name for p in (tmp_path / "surface").glob("part-*.parquet"))
    again = simulate_surface(pembro_bev, PEMBRO, BEV, [1.0, 2.0], [1.0], **kw)
    assert parts and sorted(p.name for p in (tmp_path / "surface").glob("part-*.parquet")) == parts
    np.testing.assert_array_equal(again.effect, first.effect)


# ------------------------------------------------------------------------------------------ plots
def test_robustness_colour_bar_counts_spaces_in_integers(small):
    res = moocs(small)
    ax = res.plot()
    cbar = ax.collections[0].colorbar
    assert cbar.get_ticks().tolist() == [0, 1, 2, 3, 4]
    assert [t.get_text() for t in cbar.ax.get_yticklabels()] == ["0", "1", "2", "3", "4"]
    two = moocs(small, spaces=[("loewe", "hsa"), ("loewe", "bliss")]).plot()
    assert two.collections[0].colorbar.get_ticks().tolist() == [0, 1, 2]
    import matplotlib.pyplot as plt

    plt.close("all")


# ------------------------------------------------------------------------------------------ MuSyC
def test_musyc_steady_state_equals_the_linear_solve_of_the_chain():
    rng = np.random.default_rng(0)
    d1, d2 = (a.ravel() for a in np.meshgrid(np.geomspace(1e-3, 100, 9), np.geomspace(1e-3, 30, 9), indexing="ij"))
    for _ in range(3):
        p = dict(E0=1.0, E1=rng.uniform(), E2=rng.uniform(), E3=rng.uniform(), h1=rng.uniform(0.5, 3),
                 h2=rng.uniform(0.5, 3), C1=rng.uniform(0.1, 5), C2=rng.uniform(0.1, 5), alpha12=rng.uniform(0, 10),
                 alpha21=rng.uniform(0, 10), s1=rng.uniform(0.5, 2), s2=rng.uniform(0.5, 2))
        x1, x2 = (d1 / p["C1"]) ** p["h1"], (d2 / p["C2"]) ** p["h2"]
        y2, y1 = (p["alpha12"] * d2 / p["C2"]) ** p["h2"], (p["alpha21"] * d1 / p["C1"]) ** p["h1"]
        s1, s2 = p["s1"], p["s2"]
        for k in range(d1.size):  # generator of U, A1, A2, A12; pi Q = 0 with sum pi = 1
            Q = np.array([[0, s1 * x1[k], s2 * x2[k], 0], [s1, 0, 0, s2 * y2[k]], [s2, 0, 0, s1 * y1[k]],
                          [0, s2, s1, 0]], float)
            Q -= np.diag(Q.sum(axis=1))
            A = np.vstack([Q.T[:3], np.ones(4)])
            pi = np.linalg.solve(A, [0, 0, 0, 1])
            assert musyc_surface(d1[k], d2[k], **p) == pytest.approx(pi @ [p["E0"], p["E1"], p["E2"], p["E3"]],
                                                                      abs=1e-12)


def test_musyc_effects_stay_in_their_bounds_and_a_bound_reached_is_reported():
    """A surface whose single-drug plateaus (0.2 and 0.1 of viability) lie far outside the data range: with effects
    bounded by (0, 1) the fit stays inside and says which parameters sit on a bound."""
    g = np.concatenate([[0.0], np.geomspace(0.05, 0.5, 6)])  # well below both EC50s: no plateau in the data
    D1, D2 = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
    E = musyc_surface(D1, D2, 1.0, 0.2, 0.1, 0.0, 1.0, 1.0, 5.0, 5.0, alpha12=2.0, alpha21=2.0)
    free = MuSyC(E_bounds=(-10, 10)).fit(D1, D2, E)
    with pytest.warns(qsp.QSPWarning, match="at a bound"):
        fit = MuSyC(E_bounds=(0.0, 1.0)).fit(D1, D2, E)
    values = fit.params_
    assert all(0.0 <= values[k] <= 1.0 for k in ("E0", "E1", "E2", "E3"))
    assert fit.at_bound_ and set(fit.at_bound_) <= {"E0", "E1", "E2", "E3"}
    table = fit.parameters().set_index("parameter")
    assert table.loc[fit.at_bound_, "at_bound"].all() and table.loc["E0", "upper"] == 1.0
    assert np.sqrt(np.mean((fit.predict(D1, D2) - E) ** 2)) < 1e-3 and free.cost_ <= fit.cost_ + 1e-12
    with pytest.raises(qsp.InputError, match="low < high"):
        MuSyC(E_bounds=(1, 0))


def test_musyc_fits_scattered_points_with_dense_single_drug_curves():
    """Not a full grid (the largest-dose combination is absent): the fit starts and recovers the truth."""
    truth = dict(E0=0.0, E1=0.6, E2=0.5, E3=0.9, h1=1.2, h2=0.9, C1=1.0, C2=2.0, alpha12=3.0, alpha21=3.0)
    rng = np.random.default_rng(1)
    d1 = np.concatenate([np.geomspace(0.01, 100, 20), np.zeros(20), rng.uniform(0.1, 5, 40)])
    d2 = np.concatenate([np.zeros(20), np.geomspace(0.02, 200, 20), rng.uniform(0.1, 5, 40)])
    fit = MuSyC().fit(d1, d2, musyc_surface(d1, d2, **truth))
    for k in ("E1", "E2", "E3", "alpha12", "alpha21"):
        assert fit.params_[k] == pytest.approx(truth[k], rel=1e-3), k
    assert fit.beta_ == pytest.approx((0.9 - 0.6) / 0.6, rel=1e-3) and fit.at_bound_ == []


# ------------------------------------------------------------------------------------------ notebook view
def test_every_synergy_result_shows_a_table_in_a_notebook(small):
    d = pd.DataFrame({"d1": small.to_pandas().d1, "d2": small.to_pandas().d2})
    html = small._repr_html_()
    assert html.startswith("<p><b>DoseResponseSurface</b>: A1 x A2, 4 x 3 dose pairs") and "<th>effect</th>" in html
    assert "DoseResponseSurface(A1 x A2: 4 x 3 dose pairs" in repr(small)
    res = moocs(small)
    html = res._repr_html_()
    assert "<b>MoocsResult</b>: A1 x A2, 12 dose pairs, EC50s" in html and "<th>loewe</th>" in html
    assert repr(res).startswith("MoocsResult(12 dose pairs")
    pop = synergy.moocs_population(small)
    assert "<b>PopulationMoocsResult</b>" in pop._repr_html_() and "<th>pareto_score</th>" in pop._repr_html_()
    g = np.concatenate([[0.0], np.geomspace(0.1, 10, 5)])
    D1, D2 = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
    E = 1 - musyc_surface(D1, D2, 1.0, 0.5, 0.5, 0.0, 1.0, 1.0, 1.0, 1.0, alpha12=5.0, alpha21=5.0)
    for model in (synergy.Bliss(), synergy.HSA(), synergy.Loewe(E0=0.0), synergy.ZIP()):
        assert "not fitted" in model._repr_html_()
        html = model.fit(D1, D2, E)._repr_html_()
        assert f"<b>{type(model).__name__}</b>: {model.kind}, score {model.score_name}" in html
        assert f"<th>{model.score_name}</th>" in html and "<th>reference</th>" in html
    fit = MuSyC().fit(D1, D2, E)
    assert "<b>MuSyC</b>: 36 points, beta" in fit._repr_html_() and "<th>at_bound</th>" in fit._repr_html_()
    opt = synergy.nsga2(get_problem("zdt1", n_var=3), pop_size=8, n_gen=3, seed=1)
    html = opt._repr_html_()
    assert "<b>OptimizationResult</b>: NSGA2," in html and "non-dominated solutions of 24 evaluations" in html
    assert "<th>f1</th>" in html and len(d) == 12


def test_absurd_search_sizes_are_refused(pembro_bev):
    with pytest.raises(qsp.InputError, match="mono_points=1000000000 needs about"):
        synergy.SynergyProblem(pembro_bev, PEMBRO, BEV, bounds1=(1, 10), bounds2=(0.2, 2), mono_points=10**9)
    problem = synergy.SynergyProblem(pembro_bev, PEMBRO, BEV, bounds1=(1, 10), bounds2=(0.2, 2), mono_points=5)
    with pytest.raises(qsp.InputError, match="pop_size=1000000000 needs about"):
        synergy.nsga2(problem, pop_size=10**9)
