"""The calibration walkthrough runs and gives the numbers of docs/calibration.md."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "references" / "data" / "nlmixr2data" / "theo_sd.csv"


@pytest.mark.skipif(not DATA.exists(), reason="theo_sd.csv not found")
def test_calibration_walkthrough(tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import calibration_theophylline as example
    finally:
        sys.path.pop(0)
    s = example.main([str(tmp_path), "--starts", "3", "--samples", "300", "--backend", "processes"])
    assert round(s["best_llh"], 3) == -229.375
    est = s["estimates"]
    assert (round(est["KA"], 2), round(est["CL"], 2), round(est["V"], 1), round(est["sigma_add"], 2)) == \
        (1.55, 2.62, 32.9, 1.38)
    want = {"KA": (1.26, 1.92), "CL": (2.27, 2.98), "V": (30.0, 35.8), "sigma_add": (1.22, 1.56)}
    for pid, (lo, hi) in want.items():
        got = s["profile_95"][pid]
        digits = 1 if pid == "V" else 2
        assert (round(got[0], digits), round(got[1], digits)) == (lo, hi), (pid, got)
        assert s["flags"][pid] == "identifiable"
    for pid, published in (("KA", 1.57), ("CL", 2.72), ("V", 31.5)):
        assert abs(est[pid] / published - 1) < 0.05
    for name in ("fit.png", "profiles.png", "band.png", "trace.png", "waterfall.png", "band.csv"):
        assert (tmp_path / name).stat().st_size > 1000
