"""``qsp profile`` and ``qsp sample``: files written, estimates read from a ``qsp fit`` directory, one-line errors.

The PEtab reader is replaced by a stand-in returning a Gaussian objective with known intervals, so these
tests check the commands themselves; the last test runs both on a case of the PEtab test suite."""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .cli_checks import one_line, run_cli
from .uncertainty_objectives import Gaussian

Z = 1.959963984540054
SD = np.array([0.1, 0.2])
MU = np.array([-0.5, 1.0])  # log10 k, log10 V


def _objective(path):
    return Gaussian(MU, np.diag(SD ** 2), [-3, -1], [1, 3], scales=["log10", "log10"], ids=["k", "V"])


@pytest.fixture
def problem(tmp_path, monkeypatch):
    module = types.ModuleType("qsp.fit.petab_problem")
    module.PetabObjective = type("PetabObjective", (), {"from_yaml": staticmethod(_objective)})
    monkeypatch.setitem(sys.modules, "qsp.fit.petab_problem", module)
    path = tmp_path / "problem.yaml"
    path.write_text("format_version: 1\n")
    return path


def _fit_dir(tmp_path: Path, rows: dict | None = None, **extra) -> Path:
    d = tmp_path / "fit"
    d.mkdir(exist_ok=True)
    rows = rows or {"k": MU[0], "V": MU[1]}
    table = pd.DataFrame({"parameter": list(rows), "scale": "log10", "estimate": list(rows.values()),
                          "value": [10 ** v for v in rows.values()], **extra})
    table.to_csv(d / "estimates.csv", index=False)
    return d


def test_profile_from_a_fit_directory(problem, tmp_path, capfd):
    out = tmp_path / "prof"
    rc, err = run_cli(capfd, "profile", problem, "--from", _fit_dir(tmp_path), "--out", out)
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["intervals.csv", "profiles.csv", "profiles.png"]
    iv = pd.read_csv(out / "intervals.csv").set_index("parameter")
    for i, pid in enumerate(("k", "V")):
        assert iv.loc[pid, "lower"] == pytest.approx(MU[i] - Z * SD[i], abs=1e-4)
        assert iv.loc[pid, "upper_linear"] == pytest.approx(10 ** (MU[i] + Z * SD[i]), rel=1e-4)
    assert (iv["identifiability"] == "identifiable").all()
    assert pd.read_csv(out / "profiles.csv")["parameter"].nunique() == 2
    assert "2 profiles" in err and err.count("\n") == 1


def test_profile_one_parameter_from_values(problem, tmp_path, capfd):
    out = tmp_path / "prof"
    rc, err = run_cli(capfd, "profile", problem, "--x", "k=0.316227766", "--x", "V=10", "--parameter", "V",
                      "--confidence", "0.68", "--max-steps", "40", "--out", out)
    assert rc == 0, err
    iv = pd.read_csv(out / "intervals.csv")
    assert iv["parameter"].tolist() == ["V"]
    assert iv["upper"].iloc[0] == pytest.approx(MU[1] + 0.994457883 * SD[1], abs=1e-4)


def test_x_overrides_an_estimate(problem, tmp_path, capfd):
    out = tmp_path / "prof"
    rc, err = run_cli(capfd, "profile", problem, "--from", _fit_dir(tmp_path), "--x", "k=1", "--parameter", "V",
                      "--out", out)
    assert rc == 0, err
    table = pd.read_csv(out / "profiles.csv")
    assert table.loc[table["side"] == "optimum", "k"].iloc[0] == 0.0  # log10(1)
    assert "better optimum" in err  # k = 1 is not the optimum; the profile of V moved it back


def test_sample_writes_samples_summary_and_trace(problem, tmp_path, capfd):
    out = tmp_path / "samp"
    rc, err = run_cli(capfd, "sample", problem, "--from", _fit_dir(tmp_path), "--samples", "3000", "--chains", "3",
                      "--seed", "4", "--out", out)
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["samples.parquet", "summary.csv", "trace.png"]
    samples = pd.read_parquet(out / "samples.parquet")
    assert len(samples) == 9000 and samples["chain"].nunique() == 3
    s = pd.read_csv(out / "summary.csv").set_index("parameter")
    assert np.allclose(s["mean"], MU, atol=4 * SD.max() / math.sqrt(s["ess_bulk"].min()))
    assert np.allclose(s["sd"], SD, rtol=0.15)
    assert (s["rhat"] < 1.05).all()
    assert "3 chains x 3000 iterations (burn-in 1500)" in err


@pytest.mark.parametrize("args, message", [
    (("profile", "{problem}", "--out", "{out}"), "give the estimate to start from"),
    (("profile", "{problem}", "--from", "{missing}", "--out", "{out}"), "not a directory"),
    (("profile", "{problem}", "--from", "{empty}", "--out", "{out}"), "no estimates.csv there"),
    (("profile", "{problem}", "--from", "{other}", "--out", "{out}"), "no estimate of 'V'"),
    (("profile", "{problem}", "--from", "{subjects}", "--out", "{out}"), "one estimate per subject"),
    (("profile", "{problem}", "--x", "kk=1", "--out", "{out}"), "'kk' is not an estimated parameter"),
    (("profile", "{problem}", "--x", "k=-1", "--out", "{out}"), "must be > 0"),
    (("profile", "{problem}", "--x", "k=1", "--x", "k=2", "--out", "{out}"), "--x 'k' is given twice"),
    (("profile", "{problem}", "--x", "k=1", "--parameter", "q", "--out", "{out}"), "'q' is not an estimated"),
    (("profile", "{problem}", "--x", "k=1e9", "--out", "{out}"), "not within its bounds"),
    (("profile", "{problem}", "--x", "k=1", "--confidence", "2", "--out", "{out}"), "--confidence"),
    (("profile", "model.ant", "--x", "k=1", "--out", "{out}"), "is not a PEtab problem"),
    (("sample", "{problem}", "--x", "k=1", "--workers", "2", "--out", "{out}"), "--workers applies to"),
    (("sample", "{problem}", "--x", "k=1", "--samples", "10", "--burn-in", "9", "--out", "{out}"), "--burn-in"),
])
def test_errors_are_one_line(problem, tmp_path, capfd, args, message):
    (tmp_path / "empty").mkdir()
    other = _fit_dir(tmp_path, {"k": -0.5})
    (tmp_path / "other").mkdir()
    (other / "estimates.csv").rename(tmp_path / "other" / "estimates.csv")
    subjects = tmp_path / "subjects"
    subjects.mkdir()
    pd.DataFrame({"subject": [1, 2], "parameter": ["k", "k"], "estimate": [0.1, 0.2]}).to_csv(
        subjects / "estimates.csv", index=False)
    names = {"problem": problem, "out": tmp_path / "out", "missing": tmp_path / "nope", "empty": tmp_path / "empty",
             "other": tmp_path / "other", "subjects": subjects}
    rc, err = run_cli(capfd, *[a.format(**names) for a in args])
    assert rc != 0
    assert message in one_line(err)
    assert not (tmp_path / "out").exists()


def test_real_petab_problem(tmp_path, capfd):
    case = Path("/work/shared/references/petab-test-suite/v1.0.0/sbml/0001/_0001.yaml")
    if not case.exists():
        pytest.skip("the PEtab test suite is not available here")
    try:
        import qsp.fit.petab_problem  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"PEtab problems cannot be read here: {exc}")
    start = ["--x", "a0=1", "--x", "b0=0.5", "--x", "k1=0.8", "--x", "k2=0.6"]
    rc, err = run_cli(capfd, "profile", case, *start, "--parameter", "a0", "--max-steps", "8", "--out",
                      tmp_path / "p")
    assert rc == 0, err
    assert pd.read_csv(tmp_path / "p" / "intervals.csv")["parameter"].tolist() == ["a0"]
    rc, err = run_cli(capfd, "sample", case, *start, "--samples", "60", "--chains", "2", "--out", tmp_path / "s")
    assert rc == 0, err
    assert len(pd.read_parquet(tmp_path / "s" / "samples.parquet")) == 120
