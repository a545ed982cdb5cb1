"""NSGA-II over continuous doses (and a schedule variable) on the pembrolizumab + bevacizumab model."""

import matplotlib
import numpy as np
import pytest

import qsp
from qsp import QSPError, metrics
from qsp.ensemble import Metric
from qsp.synergy import SynergyProblem, Treatment, non_dominated, nsga2

matplotlib.use("Agg")

PEMBRO = Treatment("A1", "mg/kg", time=3, every=3, count=5)
BEV = Treatment("A2", "mg/kg", time=0, every=3, count=6)
BOUNDS = {"bounds1": (0.408, 10.88), "bounds2": (0.1372, 3.457)}


@pytest.fixture(scope="module")
def model():
    return qsp.load_model("pembro_bev")


def simulate(model, d1, d2, every1=3.0, outputs=("W",)):
    doses = PEMBRO.with_schedule(every=every1).part(d1)[0] + BEV.part(d2)[0]
    return model.simulate(35, points=141, outputs=list(outputs), doses=doses, rtol=1e-8, atol=1e-12)


def test_tgi_versus_total_dose_front(model):
    p = SynergyProblem(model, PEMBRO, BEV, **BOUNDS, objectives=("tgi", "dose"), tgi_min=0.5)
    res = nsga2(p, pop_size=12, n_gen=5, seed=1)
    t = res.table
    assert res.info["objectives"] == ["1-tgi", "dose"] and res.info["n_evaluations"] == 60
    assert len(t) >= 3 and (t["status"] == "ok").all()
    assert non_dominated(res.F).all()
    assert (t["tgi"] >= 0.5).all()  # the constraint holds on the front
    np.testing.assert_allclose(t["1-tgi"], 1 - t["tgi"], rtol=1e-12)
    # EC50s of the cached single-drug curves, and the dose objective built on them
    (_, _, ec1, ec2), = p._mono.values()
    assert (ec1, ec2) == pytest.approx((5.8428, 1.9144), abs=2e-3)
    np.testing.assert_allclose(t["dose"], t.d1 / ec1 + t.d2 / ec2, rtol=1e-12)
    # more drug buys more inhibition along the front
    t = t.sort_values("dose")
    assert np.all(np.diff(t["tgi"].to_numpy()) > 0)
    # the reported TGI is what a direct simulation of the chosen doses gives
    ctrl = simulate(model, 0, 0)["W"][-1]
    for _, row in t.head(3).iterrows():
        w = simulate(model, row.d1, row.d2)["W"][-1]
        assert row.tgi == pytest.approx((ctrl - w) / ctrl, rel=1e-7)


def test_synergy_indices_with_a_toxicity_metric_and_a_schedule_variable(model):
    auc = Metric("auc", "[C1]", name="auc_pembro")
    p = SynergyProblem(model, PEMBRO, BEV, **BOUNDS, objectives=("loewe", "hsa", "metric:auc_pembro"),
                       extra_metrics=[auc], schedule_bounds={"every1": (1, 5)})
    res = nsga2(p, pop_size=10, n_gen=3, seed=2)
    t = res.table
    assert list(t.columns[:6]) == ["d1", "d2", "every1", "loewe", "hsa", "auc_pembro"]
    assert set(t["every1_used"]) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert np.all(np.abs(t["every1"] - t["every1_used"]) <= 0.5)
    assert ((t["loewe"] > 0) & (t["loewe"] < 1) & (t["hsa"] > 0) & (t["hsa"] < 1)).all()  # k3 > 0: synergy
    row = t.iloc[0]
    res_direct = simulate(model, row.d1, row.d2, every1=row.every1_used, outputs=("[C1]",))
    assert row.auc_pembro == pytest.approx(metrics.auc(res_direct.time, res_direct["[C1]"]), rel=1e-7)
    assert len(p._mono) >= 2  # single-drug curves simulated once per distinct schedule
    ax = res.plot(objectives=["loewe", "hsa"])
    assert ax.get_xlabel() == "loewe"
    import matplotlib.pyplot as plt

    plt.close("all")


def test_same_seed_same_front(model):
    kw = {"objectives": ("tgi", "dose")}
    a = nsga2(SynergyProblem(model, PEMBRO, BEV, **BOUNDS, **kw), pop_size=8, n_gen=2, seed=3).table
    b = nsga2(SynergyProblem(model, PEMBRO, BEV, **BOUNDS, **kw), pop_size=8, n_gen=2, seed=3).table
    np.testing.assert_array_equal(a[["d1", "d2", "1-tgi", "dose"]].to_numpy(), b[["d1", "d2", "1-tgi", "dose"]].to_numpy())


def test_bad_problem_input(model):
    with pytest.raises(QSPError, match="unknown objective"):
        SynergyProblem(model, PEMBRO, BEV, **BOUNDS, objectives=("toxicity",))
    with pytest.raises(QSPError, match="extra_metrics"):
        SynergyProblem(model, PEMBRO, BEV, **BOUNDS, objectives=("tgi", "metric:auc"))
    with pytest.raises(QSPError, match="schedule variable"):
        SynergyProblem(model, PEMBRO, BEV, **BOUNDS, schedule_bounds={"every3": (1, 2)})
    with pytest.raises(QSPError, match="pop_size"):
        nsga2(SynergyProblem(model, PEMBRO, BEV, **BOUNDS), pop_size=2)
