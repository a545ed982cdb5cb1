"""``qsp nca`` on theophylline (observed) and on a simulated table: the file and the printed table equal
``qsp.nca.nca`` run on the same profiles built with plain pandas; bad tables and options fail in one line."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from qsp.nca import nca

from .cli_checks import one_line
from .test_dataset_cli import DATA, NM, ORAL, SMALL, THEO, WARFARIN, _is_png, _raw, cli

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="reference data not present")


@pytest.fixture(autouse=True)
def _keep_showwarning(monkeypatch):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)   # main() replaces it


def _theo_profiles() -> tuple[pd.DataFrame, dict]:
    raw = _raw(THEO)
    doses = raw[raw["EVID"] != 0]
    assert (doses["TIME"] == 0).all() and doses["ID"].is_unique       # one dose per subject, at 0
    return raw[raw["EVID"] == 0][["ID", "TIME", "DV"]], dict(zip(doses["ID"], doses["AMT"]))


def _same(file: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(file.index) == list(want.index)
    assert list(file.columns) == list(want.columns)
    for col in want.columns:
        if col == "note":
            assert file[col].fillna("").tolist() == want[col].tolist()
        else:
            assert np.allclose(file[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float), rtol=1e-12,
                               atol=0, equal_nan=True), col


def test_theo_sd_matches_the_api(tmp_path, capfd):
    out = tmp_path / "nca.csv"
    rc, printed, err = cli(capfd, "nca", THEO, "--evid-style", "rxode2", "--out", out, "--time-unit", "h",
                           "--conc-unit", "mg/L", "--dose-unit", "mg")
    assert rc == 0, err
    df, dose = _theo_profiles()
    want = nca(df, dose=dose, route="extravascular").table
    _same(pd.read_csv(out, index_col="ID"), want)
    lines = printed.splitlines()
    assert lines[0].split() == ["Cmax", "Tmax", "AUClast", "AUCinf", "AUC_extrap_pct", "half_life", "lambda_z_n",
                                "CL/F", "Vz/F"]
    assert len(lines) == 2 + 12
    first = lines[2].split()
    assert first[0] == "1" and np.allclose([float(v) for v in first[1:]],
                                           want.loc[1, ["Cmax", "Tmax", "AUClast", "AUCinf", "AUC_extrap_pct",
                                                        "half_life", "lambda_z_n", "CL/F", "Vz/F"]].astype(float),
                                           rtol=1e-5)
    assert err.strip().endswith(f"12 profiles (extravascular, linear-up/log-down), 0 with notes -> {out}")


def test_summary_json_route_and_plot(tmp_path, capfd):
    out, png = tmp_path / "nca.json", tmp_path / "nca.png"
    rc, printed, err = cli(capfd, "nca", THEO, "--evid-style", "rxode2", "--out", out, "--summary", "--route", "iv",
                           "--auc-method", "linear", "--dose", "320", "--include-cmax", "--plot", png)
    assert rc == 0, err
    df, _ = _theo_profiles()
    res = nca(df, dose=320.0, route="iv", auc_method="linear", include_cmax=True)
    data = json.loads(out.read_text())
    assert data["route"] == "iv" and data["auc_method"] == "linear" and len(data["subjects"]) == 12
    assert np.allclose([s["CL"] for s in data["subjects"]], res.table["CL"], rtol=1e-12)
    summary = res.summary()
    lines = printed.splitlines()
    assert lines[0].split() == ["n", "mean", "sd", "cv_pct", "geo_mean", "median", "min", "max", "unit"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(rows) == list(summary.index)
    assert int(rows["Vss"][1]) == 12 and np.isclose(float(rows["Vss"][2]), summary.loc["Vss", "mean"], rtol=1e-5)
    assert _is_png(png)


def test_a_simulated_table_is_analysed_by_its_output_column(tmp_path, capfd):
    (tmp_path / "oral.ant").write_text(ORAL)
    (tmp_path / "small.csv").write_text(SMALL.replace("2,1,1,50,2,.,0.5,80", "2,1,1,50,1,.,0.5,80"))
    sim = tmp_path / "sim.csv"
    rc, _, err = cli(capfd, "dataset", "simulate", tmp_path / "oral.ant", tmp_path / "small.csv", "--cmt", "1=depot",
                     "--cmt", "2=central", "--output", "CP", "--out", sim)
    assert rc == 0, err
    out = tmp_path / "nca.csv"
    rc, _, err = cli(capfd, "nca", sim, "--output-column", "CP", "--out", out)
    assert rc == 0, err
    table = pd.read_csv(sim)
    obs = table[table["EVID"] == 0]
    start = table[table["EVID"] == 1].set_index("ID")["TIME"]
    df = pd.DataFrame({"ID": obs["ID"], "TIME": obs["TIME"] - obs["ID"].map(start), "CP": obs["CP"]})
    want = nca(df, dose={1: 100.0, 2: 50.0}, conc_col="CP").table
    _same(pd.read_csv(out, index_col="ID"), want)
    assert want.loc[2, "Tlast"] == 5.0                    # subject 2 dosed at 1: times since its dose


def test_dose_column_other_than_amt(tmp_path, capfd):
    path = tmp_path / "plain.csv"
    t = np.array([0.5, 1, 2, 4, 8, 12])
    rows = [(i, ti, 10 * i * np.exp(-0.2 * ti), 100 * i) for i in (1, 2) for ti in t]
    pd.DataFrame(rows, columns=["ID", "TIME", "DV", "DOSE"]).to_csv(path, index=False)
    out = tmp_path / "nca.csv"
    rc, _, err = cli(capfd, "nca", path, "--dose-column", "DOSE", "--route", "iv", "--out", out)
    assert rc == 0, err
    got = pd.read_csv(out, index_col="ID")
    assert got["dose"].tolist() == [100.0, 200.0]
    assert np.allclose(got["lambda_z"], 0.2, rtol=1e-9)
    rc, _, err = cli(capfd, "nca", path, "--out", out)                   # no dose: CL NaN
    assert rc == 0, err
    assert pd.read_csv(out, index_col="ID")["CL/F"].isna().all()


@pytest.mark.parametrize("args, status, needle", [
    ([WARFARIN], 1, "has observations of DVID cp, pca; choose one with --dvid"),
    ([WARFARIN, "--dvid", "cp"], 1, "subject 9: column 'TIME' must increase strictly (3 after 3)"),
    ([WARFARIN, "--dvid", "pk"], 1, "--dvid pk: not a DVID of the observations (cp, pca)"),
    ([NM], 1, "subject 1: 4 doses (ADDL expanded); NCA here is of single-dose profiles"),
    ([THEO, "--evid-style", "rxode2", "--output-column", "CP"], 1, "--output-column 'CP': not a column of"),
    ([THEO, "--evid-style", "rxode2", "--dose-column", "TIME"], 1,
     "subject 1: --dose-column 'TIME' must hold one dose per subject, found 11 distinct values"),
    ([THEO], 1, "column 'EVID': 101 is not an EVID"),
    ([THEO, "--evid-style", "rxode2", "--route", "infusion"], 2, "argument --route: invalid choice: 'infusion'"),
    ([THEO, "--evid-style", "rxode2", "--dose", "10", "--dose-column", "AMT"], 2, "not allowed with argument"),
    ([THEO, "--evid-style", "rxode2", "--plot", "p.txt"], 1, "--plot file must end in one of"),
])
def test_errors_are_one_line(tmp_path, capfd, args, status, needle):
    out = tmp_path / "nca.csv"
    rc, printed, err = cli(capfd, "nca", *args, "--out", out)
    assert rc == status, err
    assert needle in one_line(err)
    assert printed == "" and not out.exists()


def test_strict_refuses_a_profile_without_terminal_phase(tmp_path, capfd):
    path = tmp_path / "flat.csv"
    pd.DataFrame({"ID": 1, "TIME": [1.0, 2.0, 3.0], "DV": [1.0, 2.0, 3.0]}).to_csv(path, index=False)
    rc, _, err = cli(capfd, "nca", path, "--out", tmp_path / "n.csv")
    assert rc == 0 and "1 with notes" in err
    rc, _, err = cli(capfd, "nca", path, "--strict", "--out", tmp_path / "m.csv")
    assert rc == 1 and "subject 1: column 'DV': lambda_z not estimated" in one_line(err)


def test_help(capfd):
    rc, out, _ = cli(capfd, "nca", "--help")
    assert rc == 0 and out.startswith("usage: qsp nca")
