"""Selection and prevalence weighting against known targets.

With p_i log-normal (ln p1 ~ N(0, s), ln p2 ~ N(0.5, s), ln p3 ~ N(-0.2, s)), the outputs Y1 = p1 p2 and
Y2 = p1 / p3 are jointly log-normal: ln Y1 ~ N(0.5, 2 s^2), ln Y2 ~ N(0.2, 2 s^2), correlation 1/2.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qsp
from qsp import vpop

from .test_vpop_plausible import ANALYTIC

S = 0.3
SD = np.sqrt(2) * S
MU = np.array([0.0, 0.5, -0.2])


@pytest.fixture(scope="module")
def pps():
    params = {f"p{i + 1}": {"low": float(np.exp(MU[i] - 4 * S)), "high": float(np.exp(MU[i] + 4 * S))}
              for i in range(3)}
    outputs = {"Y1": {"metric": "final:Y1", "low": float(np.exp(0.5 - 3 * SD)), "high": float(np.exp(0.5 + 3 * SD))},
               "Y2": {"metric": "final:Y2", "low": float(np.exp(0.2 - 3 * SD)), "high": float(np.exp(0.2 + 3 * SD))}}
    prob = vpop.PlausibleProblem(qsp.Model.from_antimony(ANALYTIC), params, outputs, t_end=1, points=2)
    return vpop.generate(prob, 1500, method="mh", seed=5)


@pytest.fixture(scope="module")
def target():
    return vpop.Target.from_summary({"Y1": {"distribution": "lognormal", "median": float(np.exp(0.5)), "sd_log": SD},
                                     "Y2": {"distribution": "lognormal", "median": float(np.exp(0.2)), "sd_log": SD}},
                                    correlation=[[1.0, 0.5], [0.5, 1.0]])


def test_selected_population_matches_the_known_lognormal_target(pps, target):
    vp = vpop.select(pps, target, seed=1)
    # the PP cloud itself does not match (it fills the plausible box) ...
    assert (vp.fit["pp_p_value"] < 1e-3).all()
    # ... the selection does, marginally (KS) and jointly (correlation of the logs)
    assert (vp.fit["p_value"] > 0.05).all()
    y = np.log(vp.table[["Y1", "Y2"]].to_numpy())
    assert y.mean(axis=0) == pytest.approx([0.5, 0.2], abs=0.06)
    assert y.std(axis=0, ddof=1) == pytest.approx([SD, SD], rel=0.12)
    assert np.corrcoef(y.T)[0, 1] == pytest.approx(0.5, abs=0.12)
    assert 50 < vp.n_vp < vp.n_pp and vp.efficiency == pytest.approx(vp.n_vp / 1500)
    assert vp.beta >= vp.beta_max * (1 - 1e-12) and (vp.table["inclusion_probability"] <= 1).all()
    # independent check of the reported statistics
    ks = stats.kstest(y[:, 0], "norm", args=(0.5, SD))
    assert vp.fit["ks_statistic"].iloc[0] == pytest.approx(ks.statistic) and vp.fit["p_value"].iloc[0] == pytest.approx(ks.pvalue)


def test_selection_to_individual_observations(pps):
    rng = np.random.default_rng(11)
    lp = MU + S * rng.standard_normal((150, 3))
    obs = pd.DataFrame({"Y1": np.exp(lp[:, 0] + lp[:, 1]), "Y2": np.exp(lp[:, 0] - lp[:, 2])})
    target = vpop.Target.from_observations(obs)
    vp = vpop.select(pps, target, seed=2)
    assert (vp.fit["p_value"] > 0.05).all()
    assert vp.fit["p_value"].iloc[1] == pytest.approx(stats.ks_2samp(np.log(vp.table["Y2"]), np.log(obs["Y2"])).pvalue)


@pytest.mark.parametrize("method", ["qp", "binned"])
def test_prevalence_weights_are_a_distribution_that_matches_the_target(pps, target, method):
    w = vpop.weight(pps, target, method=method, n_bins=8)
    wt = w.weights
    assert (wt >= 0).all() and wt.sum() == pytest.approx(1.0, abs=1e-9)
    z = np.log(pps.table[["Y1", "Y2"]].to_numpy())
    mean = wt @ z
    sd = np.sqrt(wt @ (z - mean) ** 2)
    assert mean == pytest.approx([0.5, 0.2], abs=0.02)
    assert w.ess == pytest.approx(1 / (wt ** 2).sum()) and 100 < w.ess < len(wt)
    if method == "qp":  # moments are matched explicitly
        assert sd == pytest.approx([SD, SD], rel=0.02)
    else:  # the binned marginals are matched exactly: each of the 8 equal-mass bins holds 1/8
        edges = stats.norm.ppf(np.linspace(0, 1, 9)[1:-1], 0.5, SD)
        mass = np.bincount(np.searchsorted(edges, z[:, 0]), weights=wt, minlength=8)
        assert mass == pytest.approx(np.full(8, 1 / 8), abs=1e-6)


def test_weight_cap_and_effective_sample_size(pps, target):
    cap = 1 / 200
    w = vpop.weight(pps, target, method="qp", max_weight=cap)
    assert w.weights.max() <= cap + 1e-12 and w.ess >= 200 - 1e-6
    assert vpop.effective_sample_size([1, 1, 1, 1]) == 4 and vpop.effective_sample_size([1, 0, 0]) == 1


def test_target_errors_name_the_fix():
    with pytest.raises(qsp.QSPError, match="needs median and sd_log"):
        vpop.Target.from_summary({"Y": {"distribution": "lognormal", "median": 1.0}})
    with pytest.raises(qsp.QSPError, match="positive definite"):
        vpop.Target.from_summary({"a": {"mean": 0, "sd": 1}, "b": {"mean": 0, "sd": 1}}, correlation=[[1, 1], [1, 1]])
