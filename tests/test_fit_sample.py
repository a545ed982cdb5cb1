"""Adaptive Metropolis on posteriors with known moments, its diagnostics, bounds, seeds and exports."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qsp.errors import InputError, QSPWarning
from qsp.fit.diagnostics import ess_bulk, split_rhat
from qsp.fit.sample import sample

from .uncertainty_objectives import Gaussian

COV = np.array([[1.0, 0.6], [0.6, 2.0]])
MU = np.array([1.0, 2.0])


@pytest.fixture(scope="module")
def gaussian_run():
    g = Gaussian(MU, COV, [-10, -10], [10, 10])
    return g, sample(g, MU, n_samples=6000, chains=4, seed=1)


def test_gaussian_posterior_moments_within_monte_carlo_error(gaussian_run):
    _, res = gaussian_run
    s = res.summary.set_index("parameter")
    sd = np.sqrt(np.diag(COV))
    for i, pid in enumerate(("p0", "p1")):
        mc_error = sd[i] / math.sqrt(s.loc[pid, "ess_bulk"])
        assert abs(s.loc[pid, "mean"] - MU[i]) < 4 * mc_error, (pid, s.loc[pid, "mean"], mc_error)
        assert s.loc[pid, "sd"] == pytest.approx(sd[i], rel=0.1)
        assert s.loc[pid, "q2.5"] == pytest.approx(MU[i] - 1.96 * sd[i], abs=0.3 * sd[i])
        assert s.loc[pid, "q97.5"] == pytest.approx(MU[i] + 1.96 * sd[i], abs=0.3 * sd[i])
        assert s.loc[pid, "rhat"] < 1.05
        assert s.loc[pid, "ess_bulk"] > 400
    draws = res.draws()
    assert draws.shape == (4 * 3000, 2)
    assert np.corrcoef(draws.T)[0, 1] == pytest.approx(0.6 / math.sqrt(2), abs=0.08)
    assert ((res.acceptance > 0.15) & (res.acceptance < 0.4)).all()
    print("gaussian:", s[["mean", "sd", "rhat", "ess_bulk"]].round(3).to_dict("index"),
          "acceptance", res.acceptance.round(3).tolist())


def test_samples_table_and_settings(gaussian_run):
    g, res = gaussian_run
    assert list(res.samples.columns) == ["chain", "iteration", "nllh", "accepted", "p0", "p1"]
    assert len(res.samples) == 4 * 6000 and res.burn_in == 3000
    assert res.settings["prior"].startswith("uniform on the parameter scale within the bounds")
    assert (res.posterior["iteration"] >= 3000).all()
    row = res.samples.iloc[-1]
    assert row["nllh"] == pytest.approx(g.nllh(row[["p0", "p1"]].to_numpy(float)))
    assert list(res.summary.columns) == ["parameter", "scale", "mean", "sd", "q2.5", "q50", "q97.5", "mean_linear",
                                         "sd_linear", "q2.5_linear", "q50_linear", "q97.5_linear", "rhat",
                                         "ess_bulk"]


def test_prior_flag_and_linear_summary():
    g = Gaussian([0.0], [[0.01]], [-2], [2], scales=["log10"], ids=["k"], with_prior=True)
    res = sample(g, [0.0], n_samples=3000, chains=2, seed=3)
    assert res.settings["prior"].startswith("the objective's own")
    s = res.summary.iloc[0]
    assert s["q50_linear"] == pytest.approx(10 ** s["q50"])
    assert s["mean_linear"] == pytest.approx(10 ** (0.1 ** 2 * math.log(10) / 2), rel=0.02)  # log-normal mean


@pytest.mark.parametrize("outside", ["reflect", "reject"])
def test_bounds_truncate_the_posterior(outside):
    g = Gaussian([0.0], [[1.0]], [0.0], [10.0])  # half-normal on [0, 10]
    res = sample(g, [0.5], n_samples=8000, chains=4, seed=2, outside=outside)
    x = res.draws()[:, 0]
    assert x.min() >= 0.0
    s = res.summary.iloc[0]
    assert s["mean"] == pytest.approx(math.sqrt(2 / math.pi), abs=4 * 0.6 / math.sqrt(s["ess_bulk"]))
    assert s["rhat"] < 1.05


@pytest.mark.filterwarnings("ignore:R-hat above")
def test_seeded_and_the_same_on_processes():
    g = Gaussian(MU, COV, [-10, -10], [10, 10])
    a = sample(g, MU, n_samples=400, chains=3, seed=7)
    b = sample(g, MU, n_samples=400, chains=3, seed=7, backend="processes")
    c = sample(g, MU, n_samples=400, chains=3, seed=8)
    pd.testing.assert_frame_equal(a.samples, b.samples)
    assert not a.samples[["p0", "p1"]].equals(c.samples[["p0", "p1"]])
    starts = a.samples[a.samples["iteration"] == 0][["p0", "p1"]].to_numpy()
    assert len(np.unique(starts.round(12), axis=0)) == 3  # dispersed starts


def test_starts_per_chain_and_plain_metropolis():
    g = Gaussian(MU, COV, [-10, -10], [10, 10])
    starts = np.array([[-3.0, -3.0], [5.0, 5.0]])
    res = sample(g, starts, n_samples=3000, chains=2, seed=0, method="metropolis", proposal_cov=COV)
    first = res.samples[res.samples["iteration"] == 0]
    assert np.abs(first[["p0", "p1"]].to_numpy() - starts).max() < 6  # one step from the given starts
    assert res.settings["method"] == "metropolis"
    assert (res.summary["rhat"] < 1.1).all()


def test_unconverged_chains_warn():
    g = Gaussian(MU, COV, [-10, -10], [10, 10])
    with pytest.warns(QSPWarning, match="R-hat above 1.05"):
        res = sample(g, np.array([[-8.0, -8.0], [8.0, 8.0]]), n_samples=40, chains=2, seed=0,
                     proposal_cov=np.eye(2) * 1e-6, method="metropolis")
    assert (res.summary["rhat"] > 1.05).any()


def test_diagnostics_against_known_values():
    rng = np.random.default_rng(0)
    iid = rng.standard_normal((4, 1000))
    assert ess_bulk(iid) == pytest.approx(4000, rel=0.1)
    assert split_rhat(iid) < 1.01
    rho, n = 0.8, 20000
    x = np.zeros((4, n))
    e = rng.standard_normal((4, n))
    x[:, 0] = e[:, 0]
    for t in range(1, n):
        x[:, t] = rho * x[:, t - 1] + math.sqrt(1 - rho ** 2) * e[:, t]
    assert ess_bulk(x) == pytest.approx(4 * n * (1 - rho) / (1 + rho), rel=0.1)  # AR(1)
    shifted = iid + np.array([[0.0], [0.0], [0.0], [1.0]])
    assert split_rhat(shifted) > 1.1
    assert math.isnan(split_rhat(np.ones((2, 10))))


def test_exports_and_plots(gaussian_run, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    _, res = gaussian_run
    res.to_parquet(tmp_path / "s.parquet")
    res.to_csv(tmp_path / "summary.csv", what="summary")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s.parquet"), res.samples)
    assert pd.read_csv(tmp_path / "summary.csv")["parameter"].tolist() == ["p0", "p1"]
    assert len(res.plot_trace().axes) == 2
    assert len([a for a in res.plot_pairs().axes if a.get_visible()]) == 3
    assert "SampleResult(4 chains x 6000 iterations" in repr(res)


def test_bad_input_is_one_error():
    g = Gaussian(MU, COV, [-10, -10], [10, 10])
    with pytest.raises(InputError, match="method must be one of"):
        sample(g, MU, method="nuts")
    with pytest.raises(InputError, match="burn_in"):
        sample(g, MU, n_samples=100, burn_in=100)
    with pytest.raises(InputError, match="x_start has 3 rows"):
        sample(g, np.zeros((3, 2)), chains=2)
    with pytest.raises(InputError, match="positive definite"):
        sample(g, MU, proposal_cov=-np.eye(2))
    with pytest.raises(InputError, match="not within its bounds"):
        sample(g, [11.0, 0.0])
    with pytest.raises(InputError, match="outside"):
        sample(g, MU, outside="wrap")
