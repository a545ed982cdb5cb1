"""``qsp dataset check | plot | simulate`` on the reference event tables: facts counted by plain pandas,
files checked by value, and one-line errors for malformed tables and bad options.

The simulated model is one-compartment oral absorption (KA 1.5 /h, CL 1.1 L/h, V 20 L); its closed form
checks the simulated table, and NONMEM's own output checks the 29-subject dosing table.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qsp.datasets import DatasetError, read_dataset
from qsp.datasets.check import DatasetReport, check_dataset

from .cli_checks import one_line

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "references" / "data"
NM = DATA / "nonmem-dosing" / "1001-data.csv"
THEO = DATA / "nlmixr2data" / "theo_sd.csv"
WARFARIN = DATA / "nlmixr2data" / "warfarin.csv"
NONMEM_MODEL = Path(__file__).resolve().parent / "models" / "nonmem_1001.ant"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="reference data not present")

ORAL = """
model oral
  species depot = 0, central = 0
  depot has substance_only; central has substance_only
  KA = 1.5; CL = 1.1; V = 20
  absorption: depot -> central; KA * depot
  elimination: central -> ; CL / V * central
  CP := central / V
end
"""
KA, CL, V = 1.5, 1.1, 20.0

#: Subject 1: 100 into the depot at 0; subject 2: 50 into central at 1 (its LAGT column delays it by 0.5).
SMALL = """ID,TIME,EVID,AMT,CMT,DV,LAGT,WT
1,0,1,100,1,.,0,70
1,1,0,.,2,2.9,0,70
1,4,0,.,2,3.1,0,70
1,12,0,.,2,1.5,0,70
2,1,1,50,2,.,0.5,80
2,2,0,.,2,2.2,0.5,80
2,6,0,.,2,1.7,0.5,80
"""


def _oral(t, dose):
    k = CL / V
    return dose * KA / (V * (KA - k)) * (np.exp(-k * t) - np.exp(-KA * t))


def _raw(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, na_values=".")
    df.columns = [c.upper() for c in df.columns]
    return df


@pytest.fixture(autouse=True)
def _keep_showwarning(monkeypatch):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)   # main() replaces it


def cli(capfd, *args) -> tuple[int, str, str]:
    """Run ``qsp ARGS`` in this process: (exit status, stdout, stderr)."""
    from qsp.cli import main

    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    out, err = capfd.readouterr()
    return rc, out, err


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- check
def test_check_1001_counts_and_warnings(tmp_path, capfd):
    rc, out, err = cli(capfd, "dataset", "check", NM, "--cmt", "1=depot", "--cmt", "2=central",
                       "--json", tmp_path / "r.json", "--csv", tmp_path / "s.csv")
    assert rc == 0, err
    raw = _raw(NM)
    report = json.loads((tmp_path / "r.json").read_text())
    facts = report["facts"]
    assert facts["subjects"] == raw["ID"].nunique() == 29
    assert facts["rows"] == len(raw) == 3837
    assert facts["dose_rows"] == int(raw["EVID"].isin([1, 4]).sum())
    assert facts["doses_expanded"] == int((raw.loc[raw["EVID"].isin([1, 4]), "ADDL"] + 1).sum())
    assert facts["observations"] == int((raw["EVID"] == 0).sum()) == 3799
    assert facts["observations_with_dv"] == 0
    assert set(facts["dose_compartments"]) == {"depot", "central"}
    assert "29 subjects, 3837 rows" in out.splitlines()[0]
    subjects = pd.read_csv(tmp_path / "s.csv", index_col="ID")
    assert list(subjects.index) == list(pd.unique(raw["ID"]))
    assert subjects["rows"].to_dict() == raw.groupby("ID").size().to_dict()
    assert subjects["observations"].to_dict() == (raw["EVID"] == 0).groupby(raw["ID"]).sum().to_dict()
    # time-varying covariates: the subjects whose column takes two values, by pandas
    for col in ("LAGT", "BIOAV"):
        ids = [int(i) for i, n in raw.groupby("ID")[col].nunique().items() if n > 1]
        assert [int(i) for i, v in subjects["time_varying"].fillna("").items() if col in v.split(", ")] == ids
        line = next(w for w in report["warnings"] if f"covariate {col!r}" in w)
        assert f"in {len(ids)} of 29 subjects" in line and line.endswith(", ".join(map(str, ids)))
    assert any(w.startswith("3799 of 3799 observations have no DV") for w in report["warnings"])
    assert "warnings (3)" in out


def test_check_theo_sd_is_clean(capfd):
    rc, out, err = cli(capfd, "dataset", "check", THEO, "--evid-style", "rxode2")
    assert rc == 0, err
    assert out.splitlines()[0].endswith("12 subjects, 144 rows, 12 dose rows (12 doses with ADDL), "
                                        "132 observations (132 with DV); covariates: WT (constant)")
    assert "warnings (0)" in out and "(none)" in out
    report = check_dataset(THEO, evid_style="rxode2")
    raw = _raw(THEO)
    assert len(report) == 12 and report.warnings == []
    assert (report.subjects["doses"] == 1).all()
    assert report.subjects["observations"].to_dict() == (raw["EVID"] == 0).groupby(raw["ID"]).sum().to_dict()
    assert report.subjects["last_time"].to_dict() == raw.groupby("ID")["TIME"].max().to_dict()


def test_check_reports_oddities_that_are_not_errors(tmp_path):
    text = ("ID,TIME,AMT,RATE,DV,WT,BLQ\n"
            "1,0,100,0,.,70,0\n"      # dose
            "1,1,.,.,.,70,0\n"        # observation without DV
            "1,2,.,.,4,72,1\n"        # WT changes: time-varying; BLQ
            "1,2,.,.,4,72,1\n"        # duplicate of the row before
            "2,0,0,0,.,60,0\n"        # EVID 1 with AMT 0? (AMT 0 derives EVID 0): an observation without DV
            "3,0,10,0,.,65,0\n")      # a dose, no observation
    path = tmp_path / "odd.csv"
    path.write_text(text)
    report = check_dataset(path)
    assert isinstance(report, DatasetReport)
    s = report.subjects
    assert list(s.index) == [1, 2, 3]
    assert s.loc[1, "rows"] == 4 and s.loc[1, "doses"] == 1 and s.loc[1, "observations"] == 3
    assert s.loc[1, "dv_missing"] == 1 and s.loc[1, "blq"] == 2 and s.loc[1, "time_varying"] == "WT"
    assert s.loc[3, "observations"] == 0 and s.loc[2, "doses"] == 0
    assert report.warnings == [
        "1 of 3 subjects has no observation (EVID 0, MDV 0): ID 3",
        "1 of 3 subjects has no dose: ID 2",
        "2 of 4 observations have no DV (a simulation table?): rows 2, 5 (file line = row + 1)",
        "1 observation has the time of an earlier observation of the same subject (NCA refuses such profiles): "
        "row 4 (line 5)",
        "1 row repeats an earlier row exactly (same values in every column): row 4 (line 5)",
        "covariate 'WT' is time-varying in 1 of 3 subjects (NONMEM carries each value forward): ID 1"]
    assert report.facts["blq"] == 2
    data = json.loads(report.to_json(tmp_path / "r.json"))
    assert data == json.loads((tmp_path / "r.json").read_text())
    assert data["subjects"][0] == {"ID": 1, "rows": 4, "doses": 1, "doses_expanded": 1, "observations": 3,
                                   "dv_missing": 1, "first_time": 0.0, "last_time": 2.0, "blq": 2,
                                   "time_varying": "WT"}
    assert "<b>warnings</b> (6)" in report._repr_html_()
    assert repr(report).endswith("; 6 warnings>")
    # a zero-amount dose row without a rate
    zero = check_dataset(pd.DataFrame({"ID": [1, 1], "TIME": [0, 1], "EVID": [1, 0], "AMT": [0, 0], "DV": [None, 1]}))
    assert "1 dose row has AMT 0 and no RATE (nothing is given): row 1" in zero.warnings
    assert check_dataset(read_dataset(path)).warnings == report.warnings


@pytest.mark.parametrize("text, needle", [
    ("TIME,AMT,DV\n0,100,.\n1,.,3\n", "required column 'ID' is missing (columns: TIME, AMT, DV)"),
    ("ID,TIME,AMT,DV\n1,0,100,.\n1,2,.,3\n1,1,.,2\n",
     "row 3 (line 4), column 'TIME': 1 is earlier than the row before in the same subject"),
    ("ID,TIME,AMT,DV\n1,0,abc,.\n1,1,.,3\n", "row 1 (line 2), column 'AMT': 'abc' is not a number"),
])
@pytest.mark.parametrize("step", ["check", "plot"])
def test_malformed_tables_fail_in_one_line(tmp_path, capfd, text, needle, step):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    extra = ["--out", tmp_path / "f.png"] if step == "plot" else []
    rc, out, err = cli(capfd, "dataset", step, path, *extra)
    assert rc == 1 and out == ""
    assert needle in one_line(err)
    with pytest.raises(DatasetError):
        check_dataset(path)
    assert not (tmp_path / "f.png").exists()


def test_check_options_that_do_not_parse_are_usage_errors(capfd):
    for args, needle in ((["--cmt", "x=depot"], "argument --cmt: compartment number must be a whole number"),
                         (["--missing", "SS"], "argument --missing: expected COLUMN=CODE"),
                         (["--evid-style", "nm"], "argument --evid-style: invalid choice")):
        rc, _, err = cli(capfd, "dataset", "check", THEO, *args)
        assert rc == 2 and needle in one_line(err)
    rc, _, err = cli(capfd, "dataset", "check", NM, "--cmt", "1=depot", "--cmt", "1=central")
    assert rc == 1 and "--cmt 1 is given twice" in one_line(err)
    rc, _, err = cli(capfd, "dataset", "check", THEO)
    assert rc == 1 and "column 'EVID': 101 is not an EVID" in one_line(err)


def test_missing_codes_option(capfd):
    bolus = DATA / "nlmixr2data" / "Bolus_1CPT.csv"
    rc, _, err = cli(capfd, "dataset", "check", bolus)
    assert rc == 1 and "column 'SS': 99 is not 0, 1" in one_line(err)
    rc, out, err = cli(capfd, "dataset", "check", bolus, "--missing", "SS=99", "--covariate", "DOSE")
    assert rc == 0, err
    assert out.splitlines()[0].endswith("covariates: DOSE (constant)")
    assert "120 subjects" in out.splitlines()[0]


# --------------------------------------------------------------------------- plot
def test_plot_writes_png_with_and_without_simulation(tmp_path, capfd):
    png = tmp_path / "theo.png"
    rc, _, err = cli(capfd, "dataset", "plot", THEO, "--evid-style", "rxode2", "--out", png)
    assert rc == 0 and _is_png(png), err
    assert err.strip().endswith(f"12 subjects -> {png}")
    ds = read_dataset(THEO, evid_style="rxode2")
    sim = ds.to_pandas()
    sim["CP"] = np.where(sim["EVID"] == 0, sim["DV"] * 1.1, np.nan)
    sim.to_csv(tmp_path / "sim.csv", index=False)
    png2 = tmp_path / "theo_sim.png"
    rc, _, err = cli(capfd, "dataset", "plot", THEO, "--evid-style", "rxode2", "--out", png2,
                     "--simulated", tmp_path / "sim.csv", "--log")
    assert rc == 0 and _is_png(png2), err
    png3 = tmp_path / "warfarin.png"
    rc, _, err = cli(capfd, "dataset", "plot", WARFARIN, "--out", png3, "--output", "cp")
    assert rc == 0 and _is_png(png3), err


def test_plot_function_panels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qsp.datasets.plot import plot_dataset

    w = read_dataset(WARFARIN)
    fig = plot_dataset(w)
    assert [a.get_title() for a in fig.axes] == ["cp", "pca"]
    raw = _raw(WARFARIN)
    cp = raw[(raw["EVID"] == 0) & (raw["DVID"] == "cp")]
    line = fig.axes[0].get_lines()[0]                      # subject 1's observations
    assert np.array_equal(line.get_xdata(), cp.loc[cp["ID"] == 1, "TIME"].to_numpy())
    plt.close(fig)
    ds = read_dataset(THEO, evid_style="rxode2")
    sim = ds.to_pandas().assign(CP=lambda t: np.where(t["EVID"] == 0, 2.0, np.nan))
    fig = plot_dataset(ds, simulated=sim)
    assert [a.get_title() for a in fig.axes] == ["CP (lines: simulated)"]
    plt.close(fig)
    with pytest.raises(DatasetError, match="simulated table: 143 rows, but"):
        plot_dataset(ds, simulated=sim.iloc[1:])
    moved = sim.assign(TIME=sim["TIME"] + 1)
    with pytest.raises(DatasetError, match="simulated table: row 1, column 'TIME': 1, but the dataset has 0"):
        plot_dataset(ds, simulated=moved)
    with pytest.raises(DatasetError, match=r"outputs='XX': not a DVID value of the observations \(no DVID column\), "
                                           r"an output of the simulated table \(none given\) or 'DV'"):
        plot_dataset(ds, ["XX"])
    plt.close("all")


def test_plot_errors_are_one_line(tmp_path, capfd):
    rc, _, err = cli(capfd, "dataset", "plot", THEO, "--evid-style", "rxode2", "--out", tmp_path / "f.txt")
    assert rc == 1 and "--out file must end in one of .png" in one_line(err)
    rc, _, err = cli(capfd, "dataset", "plot", WARFARIN, "--out", tmp_path / "f.png", "--output", "cq")
    assert rc == 1 and "--output cq: not a DVID value of the observations (cp, pca)" in one_line(err)
    short = pd.read_csv(THEO).iloc[:10]
    short.to_csv(tmp_path / "short.csv", index=False)
    rc, _, err = cli(capfd, "dataset", "plot", THEO, "--evid-style", "rxode2", "--out", tmp_path / "f.png",
                     "--simulated", tmp_path / "short.csv")
    assert rc == 1 and "simulated table: 10 rows, but" in one_line(err)
    rc, _, err = cli(capfd, "dataset", "plot", THEO, "--evid-style", "rxode2", "--out", tmp_path / "f.png",
                     "--simulated", tmp_path / "none.csv")
    assert rc == 1 and "does not exist" in one_line(err)
    assert not (tmp_path / "f.png").exists()


# --------------------------------------------------------------------------- simulate
@pytest.fixture()
def small(tmp_path):
    (tmp_path / "oral.ant").write_text(ORAL)
    (tmp_path / "small.csv").write_text(SMALL)
    return tmp_path


def test_simulate_small_table_matches_closed_form(small, capfd):
    out, png = small / "sim.csv", small / "sim.png"
    rc, _, err = cli(capfd, "dataset", "simulate", small / "oral.ant", small / "small.csv", "--cmt", "1=depot",
                     "--cmt", "2=central", "--output", "CP", "--lag", "central=LAGT", "--out", out, "--plot", png,
                     "--rtol", "1e-10", "--atol", "1e-14")
    assert rc == 0, err
    assert err.strip().endswith(f"2 subjects, 7 rows, outputs CP, 0 failed -> {out}")
    table = pd.read_csv(out)
    assert list(table["ID"]) == [1, 1, 1, 1, 2, 2, 2] and list(table["TIME"]) == [0, 1, 4, 12, 1, 2, 6]
    assert table["CP"].isna().tolist() == [True, False, False, False, True, False, False]
    s1 = table[table["ID"] == 1].iloc[1:]
    assert np.allclose(s1["CP"], _oral(s1["TIME"].to_numpy(), 100.0), rtol=1e-7)
    s2 = table[table["ID"] == 2].iloc[1:]
    bolus = 50.0 / V * np.exp(-CL / V * (s2["TIME"].to_numpy() - 1.5))   # given at 1 + LAGT 0.5
    assert np.allclose(s2["CP"], bolus, rtol=1e-7)
    assert _is_png(png)
    # a parameter override and a number for the lag
    rc, _, err = cli(capfd, "dataset", "simulate", small / "oral.ant", small / "small.csv", "--cmt", "1=depot",
                     "--cmt", "2=central", "--output", "CP", "--lag", "central=0", "--param", "CL=2.2",
                     "--out", out, "--rtol", "1e-10", "--atol", "1e-14")
    assert rc == 0, err
    s2 = pd.read_csv(out).iloc[5:]
    assert np.allclose(s2["CP"], 50.0 / V * np.exp(-2.2 / V * (s2["TIME"].to_numpy() - 1.0)), rtol=1e-7)


def test_simulate_1001_matches_nonmem(tmp_path, capfd):
    out = tmp_path / "sim1001.csv"
    rc, _, err = cli(capfd, "dataset", "simulate", NONMEM_MODEL, NM, "--cmt", "1=depot", "--cmt", "2=central",
                     "--output", "CP", "--lag", "central=LAGT", "--bioavailability", "central=BIOAV",
                     "--modelled-rate", "central=RAT2", "--modelled-duration", "central=DUR2", "--out", out)
    assert rc == 0, err
    assert "29 subjects, 3837 rows, outputs CP, 0 failed, 18 of 18 steady states converged" in err
    table, ref = pd.read_csv(out), pd.read_csv(DATA / "nonmem-dosing" / "1001-nonmem.csv")
    assert len(table) == len(ref) == 3837
    obs = table["EVID"].to_numpy() == 0
    cp, want = table["CP"].to_numpy()[obs], ref["CP"].to_numpy()[obs]
    nz = want != 0
    assert np.all(np.abs(cp[~nz]) <= 1e-6)
    assert np.max(np.abs(cp[nz] - want[nz]) / want[nz]) < 1e-4


@pytest.mark.parametrize("args, status, needle", [
    (["--cmt", "1=depotx", "--cmt", "2=central"], 1,
     "--cmt 1=depotx: 'depotx' is not a species of model 'oral'; did you mean 'depot'?"),
    (["--cmt", "1=depot", "--cmt", "2=central", "--lag", "central=NOPE"], 1, "--lag"),
    (["--cmt", "1=depot", "--cmt", "2=central", "--bioavailability", "centre=0.5"], 1, "--bioavailability"),
    (["--cmt", "1=depot", "--cmt", "2=central", "--lag", "central"], 2,
     "argument --lag: expected SPECIES=VALUE"),
    (["--cmt", "1=depot", "--cmt", "2=central", "--lag", "central=1", "--lag", "central=2"], 1,
     "--lag 'central' is given twice"),
    (["--cmt", "1=depot", "--cmt", "2=central", "--workers", "2"], 1, "--workers applies to --backend processes"),
    (["--cmt", "1=depot", "--cmt", "2=central", "--param", "CLX=1"], 1, "CLX"),
    (["--cmt", "1=depot"], 1, "column 'CMT'"),
])
def test_simulate_errors_are_one_line(small, capfd, args, status, needle):
    out = small / "sim.csv"
    rc, _, err = cli(capfd, "dataset", "simulate", small / "oral.ant", small / "small.csv", "--output", "CP",
                     *args, "--out", out)
    assert rc == status, err
    line = one_line(err)
    assert needle in line, line
    if needle in ("--lag", "--bioavailability"):
        assert "central" in line or "centre" in line
    assert not out.exists()


def test_help_of_each_step(capfd):
    for step in ("check", "plot", "simulate"):
        rc, out, _ = cli(capfd, "dataset", step, "--help")
        assert rc == 0 and out.startswith(f"usage: qsp dataset {step}")


def test_simulate_rows_all_effects_and_amount_unit(small, capfd):
    out = small / "all.csv"
    rc, _, err = cli(capfd, "dataset", "simulate", small / "oral.ant", small / "small.csv", "--cmt", "1=depot",
                     "--cmt", "2=central", "--output", "CP", "--rows", "all", "--effect", "CL~WT:power(70,0.75)",
                     "--covariate-interpolation", "nocb", "--out", out, "--rtol", "1e-10", "--atol", "1e-14")
    assert rc == 0, err
    table = pd.read_csv(out)
    assert table["CP"].notna().all()                       # dose rows too: the state just after them
    assert table["CP"].iloc[0] == 0.0                      # the dose went into the depot
    cl2 = CL * (80 / 70) ** 0.75                           # subject 2's clearance from its WT
    s2 = table.iloc[5:]
    assert np.allclose(s2["CP"], 50.0 / V * np.exp(-cl2 / V * (s2["TIME"].to_numpy() - 1.0)), rtol=1e-7)
    rc, _, err = cli(capfd, "dataset", "simulate", small / "oral.ant", small / "small.csv", "--cmt", "1=depot",
                     "--cmt", "2=central", "--output", "CP", "--amount-unit", "mg/kg", "--out", out)
    assert rc == 1 and "per kg" in one_line(err)
    rc, _, err = cli(capfd, "dataset", "simulate", small / "oral.ant", small / "small.csv", "--cmt", "1=depot",
                     "--cmt", "2=central", "--output", "CP", "--effect", "CL~WT:cube(3)", "--out", out)
    assert rc == 1 and one_line(err).startswith("qsp: error: --effect")
