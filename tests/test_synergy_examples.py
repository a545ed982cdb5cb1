"""The synergy examples run end to end and write what the docs show."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_example(name, out):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / name), str(out)], capture_output=True, text=True,
                       cwd=ROOT, timeout=180, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_pembro_bev_example(tmp_path):
    stdout = run_example("synergy_pembro_bev.py", tmp_path)
    assert "EC50 pembrolizumab 5.8428 mg/kg, bevacizumab 1.9144 mg/kg" in stdout
    t = pd.read_csv(tmp_path / "synergy_pembro_bev_moocs.csv")
    rb = t[t["robust"]]
    assert len(t) == 900 and 6 <= len(rb) <= 14 and ((rb["j"] - rb["i"]).abs() <= 1).all()
    for fig in ("fronts", "doses"):
        assert (tmp_path / f"synergy_pembro_bev_{fig}.png").stat().st_size > 10_000


def test_tritherapy_example(tmp_path):
    """The numbers docs/synergy.md section 5 states."""
    stdout = run_example("synergy_tritherapy.py", tmp_path)
    t = pd.read_csv(tmp_path / "synergy_tritherapy_moocs.csv")
    assert len(t) == 144 and t["feasible"].any() and t["robust"].any()
    assert t["tgi"].between(0, 1).all() and (t["bliss"] >= t["hsa"] - 1e-12).all()
    assert "EC50 anti-PD-L1 0.296 mg/kg, DDRi 11.6 mg/kg" in stdout  # 0.30 and 11.6
    ddri = t.groupby("d2")["E2"].first()
    assert ddri.idxmax() == pytest.approx(40.0) and ddri.max() == pytest.approx(0.66, abs=0.005)
    assert int(t["unreachable"].sum()) == 98
    assert (t["bliss"].min(), t["bliss"].max()) == pytest.approx((0.93, 1.01), abs=0.005)
    best = t.loc[t["bliss"].idxmin()]
    assert (best.d1, best.d2) == pytest.approx((0.16, 7.8), abs=0.01)
    best = t.loc[t["hsa"].idxmin()]
    assert (best.d1, best.d2, best.hsa) == pytest.approx((0.069, 4.53, 0.53), abs=0.005)
    rb = t[t["robust"]].sort_values(["d1", "d2"])
    assert rb[["d1", "d2"]].to_numpy() == pytest.approx(np.array([[0.16, 7.81], [0.243, 10.25], [1.30, 10.25]]),
                                                        abs=0.01)
    assert (rb["tgi"].min(), rb["tgi"].max()) == pytest.approx((0.63, 0.92), abs=0.005)
    front = stdout.split("NSGA-II:", 1)[1].splitlines()[2:]  # the table after its header line
    rows = np.array([[float(v) for v in line.split()] for line in front if len(line.split()) == 4])
    assert len(rows) and (rows[:, 2] >= 0.8).all()  # d1, d2, tgi, dose; the constraint TGI >= 0.8 holds
    assert rows[:, 3].min() == pytest.approx(2.0, abs=0.05)
    for fig in ("maps", "fronts", "nsga2"):
        assert (tmp_path / f"synergy_tritherapy_{fig}.png").stat().st_size > 10_000
