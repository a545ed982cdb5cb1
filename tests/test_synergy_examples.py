"""The synergy examples run end to end and write what the docs show."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def table_after(stdout, marker, n_columns):
    """The rows of the table printed after the line ending in ``marker`` (its header skipped), numbers as floats."""
    lines = stdout.split(marker, 1)[1].splitlines()[2:]
    rows = []
    for line in lines:
        cells = line.split()
        if len(cells) != n_columns:
            break
        rows.append([c if c in ("True", "False") else float(c) for c in cells])
    return rows


def run_example(name, out):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / name), str(out)], capture_output=True, text=True,
                       cwd=ROOT, timeout=180, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_pembro_bev_example(tmp_path):
    """The case study and the numbers docs/synergy.md sections 4 and 5 state for the sweep and the uncertainty."""
    stdout = run_example("synergy_pembro_bev.py", tmp_path)
    assert "EC50 pembrolizumab 5.8428 mg/kg, bevacizumab 1.9144 mg/kg" in stdout
    t = pd.read_csv(tmp_path / "synergy_pembro_bev_moocs.csv")
    rb = t[t["robust"]]
    assert len(t) == 900 and len(rb) == 12 and (rb["j"] - rb["i"]).isin([0, 1]).all()
    # 25 schedules on the 10 x 10 grid
    assert "25 protocols (pembrolizumab q1-q5 days x5, bevacizumab q1-q5 days x6), 3201 simulations in one run" \
        in stdout
    p = pd.read_csv(tmp_path / "synergy_pembro_bev_protocols.csv").set_index("protocol")
    assert len(p) == 25 and int(p["n_union"].sum()) == 102 and int((p["n_union"] > 0).sum()) == 12
    assert [int(p.loc[n, "n_union_" + s]) for n in ["q1/q2"] for s in ("lsd_hsa", "lsd_bliss", "loewe_hsa",
                                                                       "loewe_bliss")] == [5, 6, 6, 11]
    assert p["n_union"].idxmax() == "q1/q2" and p.loc["q1/q2", "union_share"] == pytest.approx(0.27, abs=0.005)
    assert [int(p.loc[n, "n_union"]) for n in ("q1/q2", "q1/q1", "q1/q4", "q1/q3", "q3/q3")] == [28, 18, 14, 13, 5]
    assert p.loc[p.index.str.startswith("q1/"), "union_share"].sum() == pytest.approx(0.75, abs=0.005)
    assert (p["max_tgi"].idxmin(), p["max_tgi"].idxmax()) == ("q5/q5", "q1/q1")
    assert (p["max_tgi"].min(), p["max_tgi"].max()) == pytest.approx((0.936, 0.962), abs=5e-4)
    assert ("union fronts: lsd_hsa 26, lsd_bliss 20, loewe_hsa 30, loewe_bliss 26 points; 12 of 25 protocols "
            "contribute") in stdout
    assert ("dose pair optimal in all four spaces under the most protocols: (3.90, 1.244) mg/kg, 17 of 25 (on the "
            "Loewe-Bliss front under 25); robust under every protocol: 0 dose pairs") in stdout
    # under parameter uncertainty: 16 parameter sets, TGI >= 0.6
    assert "16 parameter sets (k21, k22, k3, lambda from parameter_ranges), TGI >= 0.6: 0 with no dose pair" in stdout
    u = pd.read_csv(tmp_path / "synergy_pembro_bev_uncertainty.csv")
    assert len(u) == 100 and int((u["optimal_frequency"] == 0).sum()) == 27
    top = u.sort_values("robust_fraction", ascending=False, kind="stable")
    first, second = top.iloc[0], top.iloc[1]
    assert (first.d1, first.d2) == pytest.approx((2.74, 1.24), abs=0.005)
    assert (first.robust_fraction * 16, first.fraction_tgi_ok * 16) == pytest.approx((7, 14))
    assert (first.optimal_frequency, first.mean_tgi) == pytest.approx((0.45, 0.76), abs=0.005)
    assert (second.d1, second.d2) == pytest.approx((2.74, 0.87), abs=0.005)
    assert (second.robust_fraction * 16, second.fraction_tgi_ok * 16) == pytest.approx((5, 11))
    for fig in ("fronts", "doses", "protocols", "uncertainty"):
        assert (tmp_path / f"synergy_pembro_bev_{fig}.png").stat().st_size > 10_000


def test_tritherapy_example(tmp_path):
    """The numbers docs/synergy.md section 7 states."""
    stdout = run_example("synergy_tritherapy.py", tmp_path)
    t = pd.read_csv(tmp_path / "synergy_tritherapy_moocs.csv")
    assert len(t) == 144 and t["feasible"].any() and t["robust"].any()
    assert t["tgi"].between(0, 1).all() and (t["bliss"] >= t["hsa"] - 1e-12).all()
    assert "EC50 anti-PD-L1 0.296 mg/kg, DDRi 11.6 mg/kg" in stdout  # 0.30 and 11.6
    ddri = t.groupby("d2")["E2"].first()
    assert ddri.idxmax() == pytest.approx(40.0) and ddri.max() == pytest.approx(0.66, abs=0.005)
    assert ("DDRi alone: TGI 0.664 at 40 mg/kg (top of the grid), at most 0.667 (at 50 mg/kg) on its dense curve up "
            "to 800 mg/kg") in stdout
    # undefined potency: every dose pair above the DDRi's plateau, none of them competes
    u = t["potency_undefined"]
    assert int(u.sum()) == 98 and not t.loc[u, "feasible"].any() and t.loc[~u, "feasible"].all()
    assert t.loc[~u, "tgi"].max() == pytest.approx(0.66, abs=0.005) and t.loc[u, "tgi"].min() > 0.66
    assert (t["bliss"].min(), t["bliss"].max()) == pytest.approx((0.93, 1.01), abs=0.005)
    best = t.loc[t["bliss"].idxmin()]
    assert (best.d1, best.d2) == pytest.approx((0.16, 7.8), abs=0.01)
    best = t.loc[t["hsa"].idxmin()]
    assert (best.d1, best.d2, best.hsa) == pytest.approx((0.069, 4.53, 0.53), abs=0.005)
    sizes = [int(t[f"pareto_{s}"].sum()) for s in ("lsd_hsa", "lsd_bliss", "loewe_hsa", "loewe_bliss")]
    assert sizes == [4, 2, 5, 3]
    on = t[t[[c for c in t if c.startswith("pareto_")]].any(axis=1)]
    assert (on["loewe"].min(), on["lsd"].min()) == pytest.approx((0.48, 0.70), abs=0.005)
    rb = t[t["robust"]].sort_values(["d1", "d2"])
    assert rb[["d1", "d2"]].to_numpy() == pytest.approx(np.array([[0.105, 10.25], [0.160, 7.81]]), abs=0.005)
    assert rb["tgi"].round(2).tolist() == [0.64, 0.63]
    # limit values competing, for comparison: the two undefined robust doses owe their Loewe-CI to that convention
    assert ("with undefined_potency='zero': fronts lsd_hsa 10 (7 undefined), lsd_bliss 12 (11 undefined), "
            "loewe_hsa 9 (6 undefined), loewe_bliss 20 (19 undefined); 3 robust, 2 of them undefined:") in stdout
    zero = table_after(stdout, "2 of them undefined:", 6)
    assert np.array([r[:2] for r in zero]) == pytest.approx(np.array([[0.160, 7.806], [0.243, 10.249],
                                                                       [1.299, 10.249]]), abs=0.001)
    assert [r[5] for r in zero] == ["False", "True", "True"]
    assert [r[3] for r in zero][1:] == pytest.approx([0.253, 0.023])  # Loewe-CI: the anti-PD-L1 term alone
    assert (min(r[2] for r in zero), max(r[2] for r in zero)) == pytest.approx((0.63, 0.92), abs=0.005)
    assert "with tgi_min=0.8: 0 dose pairs compete (" in stdout  # nothing above the DDRi plateau has defined potency
    front = stdout.split("NSGA-II:", 1)[1].splitlines()[2:]  # the table after its header line
    rows = np.array([[float(v) for v in line.split()] for line in front if len(line.split()) == 4])
    assert len(rows) and (rows[:, 2] >= 0.8).all()  # d1, d2, tgi, dose; the constraint TGI >= 0.8 holds
    assert rows[:, 3].min() == pytest.approx(2.0, abs=0.05)
    for fig in ("maps", "fronts", "nsga2"):
        assert (tmp_path / f"synergy_tritherapy_{fig}.png").stat().st_size > 10_000
