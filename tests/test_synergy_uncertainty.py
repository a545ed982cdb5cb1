"""MOOCS-DS under parameter uncertainty: per dose pair how often it is on each front, optimal in every space and above
the effect threshold; per parameter set its front sizes and whether any dose pair reaches the threshold."""

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.synergy import SPACES, Treatment, dose_grid, moocs, moocs_population, simulate_surface

matplotlib.use("Agg")

PEMBRO = Treatment("A1", "mg/kg", time=3, every=3, count=5)
BEV = Treatment("A2", "mg/kg", time=0, every=3, count=6)
#: H1299, a weaker interaction, and a line that barely responds (kill coefficients / 20)
SETS = pd.DataFrame({"k21": [8e-4, 8e-4, 4e-5], "k22": [1.1e-3, 1.1e-3, 5.5e-5], "k3": [1e-4, 1e-5, 5e-6]})


@pytest.fixture(scope="module")
def surface():
    return simulate_surface(qsp.load_model("pembro_bev"), PEMBRO, BEV, dose_grid(1.0, 10.0, 5),
                            dose_grid(0.3, 3.0, 5), samples=SETS, mono_points=30)


def test_per_dose_and_per_sample_summaries(surface):
    pop = moocs_population(surface, tgi_min=0.6)
    singles = [moocs(surface, sample=k, tgi_min=0.6) for k in range(3)]
    t, per = pop.table, pop.per_sample
    for sp in SPACES:
        name = f"{sp[0]}_{sp[1]}"
        np.testing.assert_allclose(t[f"front_{name}"], np.mean([r.table[f"pareto_{name}"] for r in singles], axis=0))
        assert per[f"n_front_{name}"].tolist() == [len(r.front(sp)) for r in singles]
    np.testing.assert_allclose(t["optimal_frequency"], t[[f"front_{a}_{b}" for a, b in SPACES]].mean(axis=1))
    assert per["n_robust"].tolist() == [len(r.robust()) for r in singles]
    assert per[["k21", "k22", "k3"]].equals(SETS)
    # the weak line reaches TGI 0.6 nowhere on the grid: no meaningfully efficacious combination
    assert per["any_tgi_ok"].tolist() == [True, True, False] and per["max_tgi"].iloc[2] < 0.6
    assert pop.info["n_samples_without_effective_dose"] == 1 and per["n_feasible"].iloc[2] == 0
    np.testing.assert_allclose(t["fraction_tgi_ok"], np.mean([r.table["tgi"] >= 0.6 for r in singles], axis=0))
    assert (t["robust_fraction"] <= 2 / 3).all() and t["fraction_potency_undefined"].eq(0).all()
    axes = pop.plot_summary()
    assert [ax.get_title() for ax in axes] == [f"{x} (3 parameter sets)" for x in
                                               ("on a front", "optimal in all spaces", "meets the threshold")]
    assert "TGI >= 0.6" in axes[2].figure.axes[-1].get_ylabel()
    import matplotlib.pyplot as plt

    plt.close("all")


def test_cli_samples_table_summary_and_figure(tmp_path, capfd, monkeypatch):
    from qsp.cli import main

    def cli(*args):
        try:
            rc = main([str(a) for a in args])
        except SystemExit as exc:
            rc = exc.code
        return rc, capfd.readouterr().err

    monkeypatch.chdir(tmp_path)
    SETS.to_csv(tmp_path / "sets.csv", index=False)
    rc, err = cli("synergy", "pembro_bev", "--drug", "A1:mg/kg", "--drug", "A2:mg/kg", "--schedule",
                  "time=3,every=3,count=5", "--schedule", "time=0,every=3,count=6", "--grid", "1:10:3,0.3:3:3",
                  "--mono-points", "20", "--samples", "sets.csv", "--tgi-min", "0.6", "--out", "pop.csv",
                  "--summary", "per.csv", "--plot", "pop.png", "--quiet")
    assert rc == 0, err
    assert "9 dose pairs x 3 parameter sets, 1 with no dose pair reaching 0.6" in err
    t, per = pd.read_csv(tmp_path / "pop.csv"), pd.read_csv(tmp_path / "per.csv")
    assert len(t) == 9 and {"front_loewe_bliss", "robust_fraction", "fraction_tgi_ok"} <= set(t)
    assert per["any_tgi_ok"].tolist() == [True, True, False] and per["k3"].tolist() == SETS["k3"].tolist()
    assert (tmp_path / "pop.png").stat().st_size > 10_000
    rc, err = cli("synergy", "pembro_bev", "--drug", "A1", "--drug", "A2", "--grid", "1:10:3,0.3:3:3",
                  "--samples", "sets.csv", "--n-samples", "3", "--out", "x.csv")
    assert rc == 2 and "not allowed with argument" in err
    rc, err = cli("synergy", "pembro_bev", "--drug", "A1", "--drug", "A2", "--grid", "1:10:3,0.3:3:3",
                  "--n-samples", "2", "--tgi-min", "0", "--mono-points", "5", "--out", "zero.json", "--quiet")
    data = json.loads((tmp_path / "zero.json").read_text())
    assert rc == 0 and data["tgi_min"] == 0.0  # 0 is a threshold, not none
    assert len(data["rows"]) == 9 and [r["sample"] for r in data["per_sample"]] == [0, 1]
