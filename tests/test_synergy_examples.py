"""The synergy examples run end to end and write what the docs show."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

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
    stdout = run_example("synergy_tritherapy.py", tmp_path)
    t = pd.read_csv(tmp_path / "synergy_tritherapy_moocs.csv")
    assert len(t) == 144 and t["feasible"].any() and t["robust"].any()
    assert t["tgi"].between(0, 1).all() and (t["bliss"] >= t["hsa"] - 1e-12).all()
    assert "NSGA-II:" in stdout
    for fig in ("maps", "fronts", "nsga2"):
        assert (tmp_path / f"synergy_tritherapy_{fig}.png").stat().st_size > 10_000
