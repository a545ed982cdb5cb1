"""Undefined potency: when one treatment alone cannot reach the combination's effect, its D_i is inf, the Loewe and
LSD indices hold only limit values (lower bounds), and by default the point takes no part in the Pareto step."""

import matplotlib
import numpy as np
import pytest

import qsp
from qsp import QSPError
from qsp.synergy import DoseResponseSurface, SynergyProblem, Treatment, moocs, moocs_population

matplotlib.use("Agg")


def saturating(a, b):
    """Drug 1 reaches TGI 1; drug 2 alone levels off at 0.6 (Bliss combination of two Hill curves)."""
    e1 = a / (1 + a)
    e2 = 0.6 * b / (1 + b)
    return e1 + e2 - e1 * e2


G = np.geomspace(0.1, 10, 9)


@pytest.fixture(scope="module")
def surface():
    return DoseResponseSurface.from_function(saturating, G, G, response="TGI")


def test_undefined_where_the_weaker_treatment_cannot_reach_the_effect(surface):
    t = moocs(surface).table
    # the dense curve of drug 2 ends at dose 1000: its largest effect is 0.6 * 1000 / 1001
    assert t["potency_undefined"].equals((t["tgi"] > 0.6 * 1000 / 1001) & np.isfinite(t["tgi"]))
    u = t[t["potency_undefined"]]
    assert len(u) == 49 and np.isinf(u["D2"]).all() and np.isfinite(u["D1"]).all()
    # the limit values kept in the table: drug 2's Loewe term 0, drug 2 out of the LSD minimum
    np.testing.assert_allclose(u["loewe"], u["d1"] / u["D1"], rtol=1e-12)
    ec1, ec2 = moocs(surface).info["EC50_1"], moocs(surface).info["EC50_2"]
    np.testing.assert_allclose(u["lsd"], (u["d1"] / ec1 + u["d2"] / ec2) / (u["D1"] / ec1), rtol=1e-12)


def test_exclude_is_the_default_and_zero_lets_the_limit_values_compete(surface):
    ex, zero = moocs(surface), moocs(surface, undefined_potency="zero")
    assert ex.info["undefined_potency"] == "exclude" and ex.info["n_potency_undefined"] == 49
    te, tz = ex.table, zero.table
    assert not te.loc[te["potency_undefined"], "feasible"].any()
    assert te.loc[te["potency_undefined"], "count"].eq(0).all()
    assert tz.loc[tz["potency_undefined"], "feasible"].all()
    # with the limit values the undefined points take over the fronts: the only point of the Bliss fronts, and 7 of
    # 11 and 9 of 12 of the HSA ones; excluded, the fronts have 6, 1, 8 and 1 defined points
    assert zero.summary()[["n_front", "n_potency_undefined"]].to_numpy().tolist() == [[11, 7], [1, 1], [12, 9], [1, 1]]
    assert ex.summary()[["n_front", "n_potency_undefined"]].to_numpy().tolist() == [[6, 0], [1, 0], [8, 0], [1, 0]]
    assert te["feasible"].sum() == 81 - 49
    with pytest.raises(QSPError, match="undefined_potency='none': use 'exclude'"):
        moocs(surface, undefined_potency="none")


def test_plots_mark_undefined_points(surface):
    import matplotlib.pyplot as plt

    labels = lambda ax: {c.get_label() for c in ax.collections}  # noqa: E731
    ex, zero = moocs(surface), moocs(surface, undefined_potency="zero")
    assert "potency undefined (excluded)" in labels(ex.plot_fronts()[0])
    assert "on front, potency undefined" in labels(zero.plot_fronts()[2])  # the Loewe-HSA space
    assert "potency undefined (excluded)" in labels(ex.plot_doses())
    assert "on front, potency undefined" in labels(zero.plot_doses())
    assert "undefined (limit shown)" in labels(ex.plot_index(index="loewe"))
    assert "undefined (limit shown)" not in labels(ex.plot_index(index="bliss"))
    assert "potency undefined (excluded)" in labels(ex.plot())
    plt.close("all")


def test_zero_is_a_threshold_not_none():
    """An effect that starts below 0: tgi_min=0.0 counts those points as below the threshold, None does not."""
    g = np.geomspace(0.05, 5, 6)
    s = DoseResponseSurface.from_function(lambda a, b: (a + b) / (1 + a + b) - 0.1, g, g, response="TGI")
    t = moocs(s).table
    below = t["tgi"] < 0
    assert below.any()
    pop0, none = moocs_population(s, tgi_min=0.0), moocs_population(s, tgi_min=None)
    assert pop0.info["tgi_min"] == 0.0 and none.info["tgi_min"] is None
    np.testing.assert_array_equal(pop0.table["fraction_tgi_ok"], (~below).astype(float))
    assert (none.table["fraction_tgi_ok"] == 1).all()
    assert moocs(s, tgi_min=0.0).info["tgi_min"] == 0.0
    # a threshold above every effect leaves no feasible point: the parameter set has no effective dose
    high = moocs_population(s, tgi_min=2.0)
    assert high.info["n_samples_without_effective_dose"] == 1 and not high.per_sample["any_tgi_ok"].any()
    assert moocs(s, tgi_min=2.0).table["feasible"].sum() == 0


SATURATING_MODEL = """
model saturating
  V0 = 10; lam = 0.2; k1 = 0.05; kmax = 0.1
  u1 = 0; u2 = 0
  V = V0
  V' = (lam - k1 * u1 - kmax * u2 / (u2 + 1)) * V
end
"""


def test_nsga2_problem_penalises_undefined_potency():
    """Drug 2's kill saturates at kmax: at high drug 1 levels the effect is beyond drug 2's reach."""
    m = qsp.Model.from_antimony(SATURATING_MODEL)
    kw = dict(bounds1=(0.5, 4.0), bounds2=(0.5, 4.0), objectives=("loewe", "lsd", "hsa"), response="tgi:V:10",
              t_end=10, points=11, mono_points=30)
    t1, t2 = Treatment("u1", parameter=True), Treatment("u2", parameter=True)
    X = np.array([[0.6, 0.6], [4.0, 4.0]])
    F = {}
    for mode in ("exclude", "zero"):
        out = {}
        SynergyProblem(m, t1, t2, undefined_potency=mode, **kw)._evaluate(X, out)
        F[mode] = out["F"]
    assert np.isfinite(F["zero"]).all() and (F["zero"] < 1e6).all()
    np.testing.assert_allclose(F["exclude"][0], F["zero"][0])  # both drugs reach the effect alone
    assert (F["exclude"][1, :2] == 1e6).all() and F["exclude"][1, 2] == pytest.approx(F["zero"][1, 2])
