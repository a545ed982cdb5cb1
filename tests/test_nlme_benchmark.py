"""benchmarks/nlme.py runs (a short theo_sd case) and reports its rates."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "references" / "data" / "nlmixr2data" / "theo_sd.csv"


@pytest.mark.skipif(not DATA.is_file(), reason="reference data not present")
def test_benchmark_runs_short(capsys):
    spec = importlib.util.spec_from_file_location("nlme_benchmark", ROOT / "benchmarks" / "nlme.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--only", "theo_sd", "--theo", "3,2", "--workers", "2"])
    assert len(rows) == 1
    row = rows[0]
    assert row["subjects"] == 12 and row["iterations"] == "3+2" and row["estep_simulations"] > 0
    for key in ("wall_s", "saem_sims_per_s", "dataset_sims_per_s_serial", "dataset_sims_per_s_processes",
                "raw_rr_sims_per_s", "ratio_saem_to_dataset"):
        assert row[key] > 0, key
    assert "| theo_sd | 12 | 132 | 3+2 |" in capsys.readouterr().out
