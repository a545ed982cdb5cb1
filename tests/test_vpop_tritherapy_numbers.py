"""The tritherapy example of docs/vpop.md: every number its Results section states, recomputed with the
example's own spec, target, arms and trial design (examples/vpop_tritherapy.py; the weighted trial is left to the
example), with the eradication rule on and off."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import qsp
from qsp import vpop
from qsp.ensemble.sampling import read_spec

ROOT = Path(__file__).resolve().parents[1]


def _example():
    spec = importlib.util.spec_from_file_location("vpop_tritherapy_example", ROOT / "examples" / "vpop_tritherapy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    ex = _example()
    d = tmp_path_factory.mktemp("vpop_numbers")
    (d / "spec.toml").write_text(ex.SPEC)
    (d / "target.toml").write_text(ex.TARGET)
    spec = read_spec(d / "spec.toml")
    model = qsp.load_model("tritherapy")
    problem = vpop.PlausibleProblem(model, spec["parameters"], spec["outputs"], regimen=spec["regimen"],
                                    t_end=spec["t_end"], points=spec["points"])
    return ex, spec, model, problem, vpop.Target.from_file(d / "target.toml")


@pytest.fixture(scope="module")
def selected(setup):
    ex, spec, model, problem, target = setup
    pps = vpop.generate(problem, spec["n"], method=spec["method"], seed=spec["seed"])
    return pps, vpop.select(pps, target, seed=0)


def test_the_typical_animal_and_the_generators(setup):
    ex, spec, model, problem, target = setup
    typical = model.simulate(21, points=85, outputs=["TV_tot"], doses=model.regimen("untreated")[0])
    assert typical["TV_tot"][-1] == pytest.approx(1146, abs=0.5)
    rows = {"sample": (512, 360, 0.586, 0.833), "optimize": (512, 300, 0.586, 1.000),
            "mh": (384, 335, 0.781, 0.896), "mh_target": (448, 385, 0.670, 0.779)}
    for name, (sims, attempts, per_sim, per_attempt) in rows.items():
        method = "mh" if name == "mh_target" else name
        p = vpop.generate(problem, 300, method=method, seed=0, target=target if name == "mh_target" else None)
        assert (len(p), p.n_simulations, p.n_attempts) == (300, sims, attempts), name
        assert (p.yield_, p.attempt_yield) == pytest.approx((per_sim, per_attempt), abs=5e-4), name
        if name == "optimize":
            assert p.info["abandoned_starts"] == 0


def test_selection_and_weighting(selected, setup):
    target = setup[4]
    pps, vps = selected
    assert (len(pps), pps.n_simulations) == (1000, 1216)
    assert (pps.yield_, pps.attempt_yield) == pytest.approx((0.822, 0.843), abs=5e-4)
    assert (vps.n_vp, vps.efficiency) == (435, 0.435)
    assert (vps.beta, vps.beta_max) == pytest.approx((0.466, 0.233), abs=5e-4)
    fit = vps.fit.iloc[0]
    assert (fit.ks_statistic, fit.p_value, vps.summed_ks) == pytest.approx((0.0173, 0.999, 0.0173), abs=5e-4)
    assert (fit.vp_mean, fit.target_mean, fit.vp_sd, fit.target_sd) == pytest.approx((6.793, 6.802, 0.344, 0.350),
                                                                                      abs=5e-4)
    assert fit.pp_ks_statistic == pytest.approx(0.194, abs=5e-4) and fit.pp_p_value == pytest.approx(1.5e-33,
                                                                                                      rel=0.05)
    binned, qp = vpop.weight(pps, target, method="binned"), vpop.weight(pps, target, method="qp")
    assert binned.ess == pytest.approx(670.6, abs=0.05) and qp.ess == pytest.approx(677.7, abs=0.05)
    assert tuple(binned.fit.iloc[0][["ks_statistic", "p_value"]]) == pytest.approx((0.040, 0.23), abs=5e-3)
    assert tuple(qp.fit.iloc[0][["ks_statistic", "p_value"]]) == pytest.approx((0.029, 0.61), abs=5e-3)


@pytest.fixture(scope="module")
def trials(selected, setup):
    """The example's trial with the eradication rule on (cure_on = 1, the page's table) and off (0)."""
    ex, spec, model, problem, target = setup
    return {c: vpop.simulate_trial(model, selected[1], ex.ARMS, fixed={"cure_on": c}, **ex.TRIAL) for c in (1, 0)}


@pytest.mark.parametrize("cure_on, concurrent", [(1, (319, 19, 63, 34, 338)), (0, (318, 20, 63, 34, 338))])
def test_trial_rates_and_comparison(trials, cure_on, concurrent):
    """Rule on and off: one concurrent animal moves from CR to PR; every response rate, interval and comparison is
    the same."""
    trial = trials[cure_on]
    assert len(trial.patients) == 870 and trial.n_failed == 0
    r = trial.rates.set_index(["regimen", "endpoint"])
    counts = {"concurrent": concurrent, "sequential": (294, 14, 61, 66, 308)}
    for arm, values in counts.items():
        assert [int(r.loc[(arm, e), "count"]) for e in ("CR", "PR", "SD", "PD", "response")] == list(values)
    assert tuple(r.loc[("concurrent", "response"), ["rate", "ci_low", "ci_high"]]) == pytest.approx(
        (0.777, 0.736, 0.814), abs=5e-4)
    assert tuple(r.loc[("sequential", "response"), ["rate", "ci_low", "ci_high"]]) == pytest.approx(
        (0.708, 0.664, 0.749), abs=5e-4)
    c = trial.comparisons.iloc[0]
    assert (c.difference, c.ci_low, c.ci_high, c.fisher_p) == pytest.approx((0.069, 0.011, 0.127, 0.024), abs=5e-4)


def test_the_one_animal_the_rule_changes_dips_below_10_ul_between_two_visits(trials, setup):
    ex, spec, model, problem, target = setup
    on, off = (trials[c].patients.set_index(["regimen", "pp"]) for c in (1, 0))
    changed = on.index[on["category"] != off.loc[on.index, "category"]]
    assert list(changed.get_level_values("regimen")) == ["concurrent"]
    row = on.loc[changed[0]]
    assert (row["category"], off.loc[changed[0], "category"]) == ("CR", "PR")
    doses, reg = model.regimen("rt_anti_pdl1_concurrent")
    params = {**reg, **{k: float(row[k]) for k in ("S_L", "r", "kLN")}, "cure_on": 0}
    t = np.round(np.arange(0.0, 57.001, 0.05), 2)
    v = np.asarray(model.simulate(57, times=t, doses=doses, params=params, outputs=["TV_tot"])["TV_tot"])
    dip = (t > 35.0) & (t < 42.0)
    assert v[dip].min() < 10.0 and v[t == 35.0][0] > 10.0 and v[t == 42.0][0] > 10.0
    visits = np.isin(t, np.arange(14.0, 57.0, 7.0))
    assert v[visits].min() > 10.0
