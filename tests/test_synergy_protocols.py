"""Schedule sweeps: protocols as input (Python, TOML, tables), one ensemble run for every surface, the authors'
stored surfaces of other schedules, the fronts per protocol, the across-protocol counts and the union front."""

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import QSPError
from qsp.synergy import (
    Protocol,
    Treatment,
    as_protocols,
    dose_grid,
    moocs,
    moocs_population,
    moocs_protocols,
    non_dominated,
    protocol_grid,
    read_protocols,
    simulate_protocols,
    simulate_surface,
)

from .cli_checks import one_line, run_cli
from .counting_backend import CountingBackend

matplotlib.use("Agg")

PEMBRO = Treatment("A1", "mg/kg", time=3, every=3, count=5)
BEV = Treatment("A2", "mg/kg", time=0, every=3, count=6)
G1, G2 = dose_grid(0.408, 10.88, 30), dose_grid(0.1372, 3.457, 30)  # the paper's H1299 grid

#: TGI_combo[i, j] for i in (0, 10, 29), j in (0, 5, 29) of the authors' stored H1299 outputs (jgevertz/MOOCS-DS,
#: PembroAvastain/CellLine1_H1299/output<m>_<n>.mat: pembrolizumab every m days x5 from day 3, bevacizumab every
#: n days x6 from day 0), and TGI_drug1 / TGI_drug2 at the same levels; rounded to 7 decimals.
STORED = {
    (1, 1): ([[0.1234628, 0.3506209, 0.8246629], [0.5360290, 0.7870748, 0.9551472], [0.8303208, 0.9346464, 0.9616433]],
             [0.0573841, 0.4318756, 0.7558432], [0.0553025, 0.2536564, 0.7438142]),
    (5, 5): ([[0.0882085, 0.2594555, 0.6961357], [0.4016578, 0.6208297, 0.8948711], [0.6949264, 0.8391910, 0.9360178]],
             [0.0406852, 0.3261659, 0.6262758], [0.0413657, 0.1943578, 0.6270790]),
    (2, 4): ([[0.1094318, 0.3046789, 0.7560289], [0.5006072, 0.7322610, 0.9303888], [0.7966516, 0.9041216, 0.9490583]],
             [0.0539516, 0.4105630, 0.7302057], [0.0461241, 0.2146909, 0.6676090]),
}




@pytest.fixture(scope="module")
def model():
    return qsp.load_model("pembro_bev")


@pytest.fixture(scope="module")
def sweep(model):
    """4 protocols (each drug every 1 or 3 days) on a 5 x 5 grid."""
    protocols = protocol_grid(PEMBRO, BEV, every1=[1, 3], every2=[1, 3])
    return simulate_protocols(model, protocols, dose_grid(1.0, 10.0, 5), dose_grid(0.3, 3.0, 5), mono_points=30)


# ------------------------------------------------------------------------------------------ protocols as input
def test_protocol_grid_names_and_schedules():
    ps = protocol_grid(PEMBRO, BEV, every1=[1, 2], every2=[4, 5])
    assert [p.name for p in ps] == ["q1/q4", "q1/q5", "q2/q4", "q2/q5"]
    assert (ps[1].treatment1.every, ps[1].treatment2.every) == (1.0, 5.0)
    assert ps[1].treatment1.count == 5 and ps[1].treatment2.count == 6 and ps[1].treatment1.time == 3
    assert [p.name for p in protocol_grid(PEMBRO, BEV, time1=[3, 7])] == ["t3/q3", "t7/q3"]
    assert protocol_grid(PEMBRO, BEV, every1=[2], name="P{every1:g}")[0].name == "P2"
    with pytest.raises(QSPError, match="unknown schedule variable 'dose1'"):
        protocol_grid(PEMBRO, BEV, dose1=[1, 2])


def test_protocols_from_dicts_tables_and_toml(tmp_path):
    d = as_protocols({"fast": {"drug1": {"every": 1}, "drug2": {"every": 1}}, "exp": (PEMBRO, BEV)}, PEMBRO, BEV)
    assert [(p.name, p.treatment1.every, p.treatment2.every) for p in d] == [("fast", 1.0, 1.0), ("exp", 3.0, 3.0)]
    table = pd.DataFrame({"name": ["a", "b"], "every1": [1, np.nan], "count2": [3, 6]})
    t = as_protocols(table, PEMBRO, BEV)
    assert [(p.treatment1.every, p.treatment2.count) for p in t] == [(1.0, 3), (3.0, 6)]
    toml = tmp_path / "p.toml"
    toml.write_text('[[protocol]]\nname = "experimental"\n\n[grid]\nevery1 = [1, 5]\nevery2 = [2]\n')
    ps = read_protocols(toml, PEMBRO, BEV)
    assert [p.name for p in ps] == ["experimental", "q1/q2", "q5/q2"] and ps[0].treatment1 == PEMBRO
    csv = tmp_path / "p.csv"
    table.to_csv(csv, index=False)
    assert [p.name for p in read_protocols(csv, PEMBRO, BEV)] == ["a", "b"]


@pytest.mark.parametrize("text, message", [
    ('[[protocol]]\nname = "a"\ndrug1 = { dose = 1 }\n', "unknown schedule field 'dose'"),
    ('[[protocol]]\ndrug1 = { every = 1 }\n', "needs a name"),
    ('[[protocol]]\nname = "a"\n[[protocol]]\nname = "a"\n', "protocol name 'a' is given twice"),
    ('[grid]\nevery3 = [1]\n', "unknown schedule variable 'every3'"),
    ('[sweep]\n', "unknown table 'sweep'"),
    ('[[protocol]\n', "is not valid TOML"),
])
def test_bad_protocol_files_are_one_line(tmp_path, text, message):
    f = tmp_path / "p.toml"
    f.write_text(text)
    with pytest.raises(QSPError, match=message) as info:
        read_protocols(f, PEMBRO, BEV)
    assert "\n" not in str(info.value)


def test_protocols_differ_only_in_schedules():
    with pytest.raises(QSPError, match="differ only in their schedules"):
        as_protocols([Protocol("a", PEMBRO, BEV), Protocol("b", Treatment("A2", "mg/kg"), BEV)])


# ------------------------------------------------------------------------------------------ simulation
def test_every_surface_in_one_ensemble_run_with_shared_regimens(model):
    g1, g2 = dose_grid(1.0, 10.0, 3), dose_grid(0.3, 3.0, 2)
    protocols = protocol_grid(PEMBRO, BEV, every1=[1, 3], every2=[2, 3])
    backend = CountingBackend()
    sweep = simulate_protocols(model, protocols, g1, g2, mono_points=8, backend=backend)
    assert backend.calls == 1 and backend.tasks == len(sweep.table)
    # one control, the grid of each protocol, and the single-drug curves of each distinct schedule (2 + 2)
    m1, m2 = sweep["q1/q2"].mono1.size, sweep["q1/q2"].mono2.size
    assert len(sweep.table) == 1 + 4 * 6 + 2 * (m1 - 1) + 2 * (m2 - 1)
    for p in protocols:  # each surface is the one simulate_surface gives for that schedule
        alone = simulate_surface(model, p.treatment1, p.treatment2, g1, g2, mono_points=8)
        s = sweep[p.name]
        assert s.protocol == p.name
        np.testing.assert_allclose(s.effect, alone.effect, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s.mono1_effect, alone.mono1_effect, rtol=1e-12, atol=1e-14)
    assert set(sweep.to_pandas()["protocol"]) == set(sweep.names) and len(sweep.schedules()) == 4
    assert "<b>ProtocolSweep</b>: 4 protocols, 3 x 2 dose pairs" in sweep._repr_html_()
    assert repr(sweep).startswith("ProtocolSweep(4 protocols x 3 x 2 dose pairs")


def test_sweep_reproduces_the_authors_stored_surfaces_of_other_schedules(model):
    protocols = [Protocol(f"{m}_{n}", PEMBRO.with_schedule(every=m), BEV.with_schedule(every=n)) for m, n in STORED]
    i, j = [0, 10, 29], [0, 5, 29]
    sweep = simulate_protocols(model, protocols, G1[i], G2[j], mono_points=2, rtol=1e-10)
    for (m, n), (combo, mono1, mono2) in STORED.items():  # MATLAB's solver there, CVODE at rtol 1e-10 here
        s = sweep[f"{m}_{n}"]
        np.testing.assert_allclose(s.effect[0], combo, atol=2e-6)
        np.testing.assert_allclose(s.mono1_effect[0, np.searchsorted(s.mono1, G1[i])], mono1, atol=2e-6)
        np.testing.assert_allclose(s.mono2_effect[0, np.searchsorted(s.mono2, G2[j])], mono2, atol=2e-6)


# ------------------------------------------------------------------------------------------ fronts across protocols
def test_fronts_counts_and_union_front(sweep):
    res = moocs_protocols(sweep)
    t = res.table
    assert len(t) == 4 * 25 and list(t.columns[:3]) == ["protocol", "i", "j"]
    for name in sweep.names:  # each protocol's rows are its own MOOCS-DS
        own = moocs(sweep[name]).table
        mine = t[t.protocol == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[own.columns], own, check_dtype=False)
    for space in res.spaces:
        s = f"{space[0]}_{space[1]}"
        F = np.where(t[["feasible"]].to_numpy(), t[list(space)].to_numpy(float), np.nan)
        np.testing.assert_array_equal(t[f"union_{s}"], non_dominated(F))  # the pooled exact front
        assert not (t[f"union_{s}"] & ~t[f"pareto_{s}"]).any()  # a union point is on its own protocol's front
        assert res.summary()[f"n_union_{s}"].sum() == t[f"union_{s}"].sum() == len(res.union_front(space))
    counts = res.dose_counts()
    assert len(counts) == 25
    np.testing.assert_array_equal(counts["n_protocols_loewe_bliss"],
                                  t.groupby(["i", "j"])["pareto_loewe_bliss"].sum().to_numpy())
    np.testing.assert_array_equal(counts["n_protocols_robust"], t.groupby(["i", "j"])["robust"].sum().to_numpy())
    summary = res.summary()
    assert summary["union_share"].sum() == pytest.approx(1.0) and summary["n_union"].is_monotonic_decreasing
    assert {"every1", "every2"} <= set(summary.columns) and "duration1" not in summary.columns
    assert "<b>ProtocolMoocsResult</b>: 4 protocols" in res._repr_html_() and "union_share" in res._repr_html_()
    data = json.loads(res.to_json())
    assert data["n_protocols"] == 4 and len(data["rows"]) == 100 and data["schedules"][0]["every1"] == 1.0
    axes = res.plot()
    assert len(axes) == 3 and axes[0].get_xlabel() == "LOEWE CI (potency)"
    assert [a.get_title() for a in np.ravel(sweep.plot()) if a.get_visible()] == sweep.names
    import matplotlib.pyplot as plt

    plt.close("all")


def test_sweep_under_parameter_uncertainty(model):
    X = pd.DataFrame({"k3": [1e-4, 3e-4, 3e-5]})
    protocols = protocol_grid(PEMBRO, BEV, every1=[1, 3])
    sweep = simulate_protocols(model, protocols, dose_grid(1.0, 10.0, 4), dose_grid(0.3, 3.0, 4), samples=X,
                               mono_points=20)
    res = moocs_protocols(sweep, tgi_min=0.5)
    assert res.population and res.info["n_samples"] == 3
    for name in sweep.names:  # the same figures as moocs_population of that protocol's surface
        pop = moocs_population(sweep[name], tgi_min=0.5).table
        mine = res.table[res.table.protocol == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[pop.columns], pop)
    assert res.table["union_frequency"].between(0, 1).all() and (res.table["union_frequency"] > 0).any()
    top = res.union_front(("loewe", "bliss"))
    assert top["union_loewe_bliss"].is_monotonic_decreasing
    assert res.summary()["union_share"].sum() == pytest.approx(1.0)
    assert len(res.plot()) == 2


def cli(capfd, *args) -> tuple[int, str]:
    return run_cli(capfd, *args)


def test_cli_protocols_table_summary_and_figure(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.toml").write_text("[grid]\nevery1 = [1, 3]\nevery2 = [3]\n")
    rc, err = cli(capfd, "synergy", "pembro_bev", "--drug", "A1:mg/kg", "--drug", "A2:mg/kg", "--schedule",
                  "time=3,every=3,count=5", "--schedule", "time=0,every=3,count=6", "--grid", "1:10:3,0.3:3:3",
                  "--mono-points", "20", "--protocols", "p.toml", "--out", "m.csv", "--summary", "s.csv",
                  "--plot", "m.png", "--quiet")
    assert rc == 0, err
    assert "2 protocols x 9 dose pairs x 1 parameter set(s)" in err
    t, s = pd.read_csv(tmp_path / "m.csv"), pd.read_csv(tmp_path / "s.csv")
    assert len(t) == 18 and set(t["protocol"]) == {"q1/q3", "q3/q3"} and "union_loewe_bliss" in t
    assert set(s["protocol"]) == {"q1/q3", "q3/q3"} and s["union_share"].sum() == pytest.approx(1.0)
    api = moocs_protocols(simulate_protocols(qsp.load_model("pembro_bev"), protocol_grid(PEMBRO, BEV, every1=[1, 3]),
                                             dose_grid(1, 10, 3), dose_grid(0.3, 3, 3), mono_points=20)).table
    np.testing.assert_allclose(t["tgi"], api["tgi"], rtol=1e-12)
    np.testing.assert_array_equal(t["union_loewe_bliss"], api["union_loewe_bliss"])
    assert (tmp_path / "m.png").stat().st_size > 10_000
    rc, err = cli(capfd, "synergy", "pembro_bev", "--drug", "A1", "--drug", "A2", "--grid", "1:10:3,0.3:3:3",
                  "--protocols", "missing.toml", "--out", "x.csv")
    assert rc == 1 and "missing.toml' does not exist" in one_line(err) and not (tmp_path / "x.csv").exists()
