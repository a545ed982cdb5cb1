"""The flat vs weight-based example runs from the command line and gives the numbers of docs/flat-vs-weight-based.md."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_flat_vs_weight_based_example(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "MPLBACKEND": "Agg"}
    subprocess.run(["bash", str(ROOT / "examples" / "flat_vs_weight_based.sh"), str(tmp_path), "1000"],
                   cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=600)
    assert (tmp_path / "flat_vs_weight.png").stat().st_size > 10_000
    s = pd.read_csv(tmp_path / "summary.csv").set_index("arm")
    wb, flat = s.loc["0.2 mg/kg q3w"], s.loc["flat 14 mg q3w"]
    assert wb["patients"] == flat["patients"] == 1000
    assert round(wb["target"], 1) == 24.6
    assert round(wb["trough_median"], 1) == 30.9 and round(flat["trough_median"], 1) == 28.9
    assert (round(wb["trough_p5"], 1), round(wb["trough_p95"], 1)) == (30.0, 31.8)
    assert (round(flat["trough_p5"], 1), round(flat["trough_p95"], 1)) == (21.5, 39.2)
    assert round(wb["trough_sd_log"], 3) == 0.018 and round(flat["trough_sd_log"], 2) == 0.18
    assert round(wb["auc_sd_log"], 3) == 0.043 and round(flat["auc_sd_log"], 3) == 0.155
    assert wb["fraction_above_target"] == 1.0 and round(flat["fraction_above_target"], 3) == 0.818
    # the linear-PK closed form of the spread: 0.75 x 0.2 (flat) and 0.25 x 0.2 (per kg)
    assert np.isclose(flat["auc_sd_log"], 0.15, rtol=0.1) and np.isclose(wb["auc_sd_log"], 0.05, rtol=0.2)
    table = pd.read_csv(tmp_path / "exposure.csv")
    heavy = table.loc[(table["regimen"] == "cli") & (table["WT"] > 90)]
    assert len(heavy) and (heavy["value_at:[Cp]:147"] < wb["target"]).all()
