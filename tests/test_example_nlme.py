"""The NLME walkthrough (examples/nlme_theophylline.sh) runs from the command line and gives the numbers of
docs/nlme.md: ``qsp nlme`` on theo_sd with examples/nlme_theo.toml (seed 1; 100 + 60 iterations here, as in
tests/test_nlme_theo.py, instead of the example's default 200 + 100), its diagnostics, and 320 mg given to
1000 virtual subjects drawn from the fit, with and without the typical values' uncertainty."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "references" / "data" / "nlmixr2data" / "theo_sd.csv"
PUBLISHED = {"KA": 1.57, "CL": 2.72, "V": 31.5, "sigma_add": 0.7}


@pytest.mark.skipif(not DATA.exists(), reason="theo_sd.csv not found")
def test_nlme_theophylline_example(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "MPLBACKEND": "Agg", "NLME_ITERATIONS": "100,60",
           "NLME_VPC": "50", "NLME_IS": "100"}
    figures = tmp_path / "figures"
    subprocess.run(["bash", str(ROOT / "examples" / "nlme_theophylline.sh"), str(tmp_path / "out"), str(figures)],
                   cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=600)
    out = tmp_path / "out"
    est = pd.read_csv(out / "fit" / "estimates.csv").set_index("parameter")["estimate"]
    for name in ("KA", "CL", "V"):
        assert est[name] == pytest.approx(PUBLISHED[name], rel=0.10), name
    assert est["sigma_add"] == pytest.approx(PUBLISHED["sigma_add"], rel=0.15)
    summary = json.loads((out / "fit" / "summary.json").read_text())
    assert summary["n_subjects"] == 12 and summary["n_observations"] == 132 and summary["iterations"] == [100, 60]
    for name in ("vpc", "pcvpc", "gof", "convergence", "individual", "etas", "trial"):
        assert (figures / f"nlme_theo_{name}.png").stat().st_size > 10_000, name
    vpc = pd.read_csv(out / "fit" / "vpc.csv")
    assert len(vpc) and vpc.notna().any().all()
    vp = pd.read_csv(out / "fit" / "vpop.csv")
    assert list(vp.columns) == ["KA", "CL", "V"] and len(vp) == 1000
    vu = pd.read_csv(out / "fit" / "vpop_uncertainty.csv")
    assert list(vu.columns) == ["KA", "CL", "V"] and len(vu) == 1000
    s = pd.read_csv(out / "summary.csv").set_index("population")
    fitted, unc = s.loc["fitted population"], s.loc["with parameter uncertainty"]
    assert fitted["subjects"] == unc["subjects"] == 1000
    # the typical subject after 320 mg: Cmax ~ 8.5 mg/L, AUC(0-24 h) ~ 100 mg h/L (dose / CL = 115 to infinity)
    assert 7.5 < fitted["cmax_median"] < 9.5 and 85 < fitted["auc_median"] < 115
    assert fitted["cmax_p5"] < fitted["cmax_median"] < fitted["cmax_p95"]
    # drawing the typical values too widens the exposure distribution
    assert unc["auc_p95"] - unc["auc_p5"] > 0.95 * (fitted["auc_p95"] - fitted["auc_p5"])
    assert 0 <= fitted["fraction_in_window"] < 0.5
    assert "| fitted population | 1000 |" in (out / "summary.md").read_text()
