"""qsp.datasets: every reference event table loads with counts checked by plain pandas, ADDL
expansion, and each malformed-table case gives one line naming the row and column."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qsp import InputError
from qsp.datasets import Dataset, DatasetError, read_dataset

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "references" / "data"
NM = DATA / "nonmem-dosing" / "1001-data.csv"
NLMIXR = DATA / "nlmixr2data"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="reference data not present")


def _plain(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, na_values=".")
    df.columns = [c.upper() for c in df.columns]
    return df


def test_nonmem_1001_loads_with_independent_counts():
    ds = read_dataset(NM, cmt_map={1: "depot", 2: "central"})
    raw = _plain(NM)
    assert len(ds) == len(raw) == 3837
    assert ds.subjects == list(pd.unique(raw["ID"])) and len(ds.subjects) == 29
    assert len(ds.doses) == int(raw["EVID"].isin([1, 4]).sum())
    assert len(ds.observations) == int((raw["EVID"] == 0).sum())
    assert set(ds.doses["CMT"]) == {"depot", "central"}
    assert "C" not in ds.to_pandas().columns
    assert ds.covariates["MODE"] == "constant"
    # ADDL expansion equals explicit times
    exp = ds.expand_addl()
    want = [(r.ID, r.TIME + k * r.II) for r in raw[raw.EVID.isin([1, 4])].itertuples()
            for k in range(int(r.ADDL) + 1)]
    assert len(exp) == len(want) == int((raw.loc[raw.EVID.isin([1, 4]), "ADDL"] + 1).sum())
    assert sorted(zip(exp["ID"], exp["TIME"])) == sorted(want)
    assert (exp["ADDL"] == 0).all()


@pytest.mark.parametrize("name, kw", [
    ("theo_sd", {"evid_style": "rxode2"}), ("theo_md", {"evid_style": "rxode2"}),
    ("warfarin", {}), ("pheno_sd", {}),
    ("Bolus_1CPT", {"missing": {"SS": [99]}}), ("Oral_1CPT", {"missing": {"ss": [99]}}),
])
def test_nlmixr2data_loads(name, kw):
    path = NLMIXR / f"{name}.csv"
    raw = _plain(path)
    ds = read_dataset(path, **kw)
    assert len(ds) == len(raw)
    assert len(ds.subjects) == raw["ID"].nunique()
    dose = raw["EVID"] != 0 if name.startswith("theo") else raw["EVID"] == 1
    assert len(ds.doses) == int(dose.sum())
    obs = raw["EVID"] == 0
    if "MDV" in raw:
        obs &= raw["MDV"] == 0
    assert len(ds.observations) == int(obs.sum())


def test_reference_expectations():
    assert len(read_dataset(NLMIXR / "theo_sd.csv", evid_style="rxode2").subjects) == 12
    w = read_dataset(NLMIXR / "warfarin.csv")
    assert w.covariates == {"wt": "constant", "age": "constant", "sex": "constant"}
    assert set(w.to_pandas()["DVID"]) == {"cp", "pca"}
    with pytest.raises(DatasetError, match=r"column 'SS': 99 is not 0, 1"):
        read_dataset(NLMIXR / "Bolus_1CPT.csv")
    with pytest.raises(DatasetError, match=r"column 'EVID': 101 .*evid_style='rxode2'"):
        read_dataset(NLMIXR / "theo_sd.csv")


def _csv(text: str, tmp_path: Path, **kw) -> Dataset:
    p = tmp_path / "d.csv"
    p.write_text(text.strip() + "\n")
    return read_dataset(p, **kw)


HEAD = "ID,TIME,EVID,AMT,CMT,RATE,II,ADDL,SS,DV\n1,0,1,100,1,0,0,0,0,.\n"


@pytest.mark.parametrize("row, column, pattern, kw", [
    ("1,x,0,0,1,0,0,0,0,1", "TIME", "'x' is not a number", {}),
    ("1,-1,0,0,1,0,0,0,0,1", "TIME", "earlier than the row before", {}),
    ("1,1,1,-5,1,0,0,0,0,.", "AMT", "cannot be negative", {}),
    ("1,1,7,0,1,0,0,0,0,.", "EVID", "not an EVID", {}),
    ("1,1,1,10,1,0,12,0,3,.", "SS", "not 0, 1", {}),
    ("1,1,1,10,1,0,0,0,1,.", "II", "SS > 0 needs an interdose interval", {}),
    ("1,1,1,10,1,0,0,2,0,.", "II", "ADDL > 0 needs", {}),
    ("1,1,1,10,1,-3,0,0,0,.", "RATE", "is not a rate", {}),
    ("1,1,1,.,1,0,0,0,0,.", "AMT", "needs an amount", {}),
    ("1,1,1,10,5,0,0,0,0,.", "CMT", "unknown compartment", {"cmt_map": {1: "depot"}}),
    ("1,1,1,10,peripheral,0,0,0,0,.", "CMT", "unknown compartment", {"cmt_map": {1: "depot"}}),
])
def test_error_cases_one_line_with_row_and_column(tmp_path, row, column, pattern, kw):
    with pytest.raises(DatasetError) as err:
        _csv(HEAD + row, tmp_path, **kw)
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, InputError)
    assert re.search(r"row 2 \(line 3\), column " + repr(column), msg), msg
    assert re.search(pattern, msg), msg


def test_more_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"required column 'TIME' is missing"):
        _csv("ID,AMT\n1,10", tmp_path)
    with pytest.raises(DatasetError, match=r"row 1 \(line 2\), column 'DUR': -2"):
        _csv("ID,TIME,AMT,DUR\n1,0,10,-2", tmp_path)
    with pytest.raises(DatasetError, match=r"row 3 \(line 4\), column 'ID': subject 1 appears again"):
        _csv("ID,TIME,AMT\n1,0,10\n2,0,10\n1,5,0", tmp_path)
    with pytest.raises(DatasetError, match=r"columns 'time' and 'TIME' both mean"):
        _csv("ID,time,TIME\n1,0,0", tmp_path)
    frame = pd.DataFrame({"id": [1, 1], "time": [0, 1], "amt": [10, -1]})
    with pytest.raises(DatasetError, match=r"^dataset: row 2, column 'AMT'"):
        read_dataset(frame)


def test_conventions(tmp_path):
    text = """C,id,Time,amt,cmt,ii,addl,ss,rate,dv,wt
.,1,0,100,depot,12,2,0,0,.,70
C,1,1,0,central,0,0,0,0,5,70
.,1,1,0,central,.,.,.,.,4,72
.,1,0,50,depot,0,0,0,0,.,72
"""
    # II without ADDL/SS is fine; comment row dropped; EVID/MDV derived; time may go back only at a reset
    with pytest.raises(DatasetError, match=r"row 4 \(line 5\), column 'TIME'"):
        _csv(text, tmp_path)
    ds = _csv(text.replace(".,1,0,50", ".,1,3,50") + ".,1,4,0,central,24,0,0,0,.,72\n", tmp_path,
              cmt_map={1: "depot", 2: "central"})
    t = ds.to_pandas()
    assert list(t.index) == [1, 3, 4, 5]            # source rows, the comment (row 2) dropped
    assert list(t["EVID"]) == [1, 0, 1, 0] and list(t["MDV"]) == [1, 0, 1, 0]
    assert list(t["CMT"]) == ["depot", "central", "depot", "central"]
    assert ds.covariates == {"wt": "time-varying"}
    assert list(ds.expand_addl()["TIME"]) == [0, 3, 12, 24]
    reset = _csv("ID,TIME,EVID,AMT\n1,0,1,10\n1,5,0,0\n1,0,4,10\n1,2,0,0", tmp_path)
    assert len(reset.doses) == 2
    assert read_dataset(pd.DataFrame({"ID": [1], "TIME": [0], "AMT": [1], "k": [3]}),
                        covariates=["K"]).covariates == {"k": "constant"}
    html = ds._repr_html_()
    assert "<table" in html and "4 rows" in html
    # steady-state infusion: SS 1, II 0, AMT 0, RATE > 0 is allowed
    _csv("ID,TIME,AMT,RATE,SS,II\n1,0,0,5,1,0", tmp_path)


def test_text_and_parquet(tmp_path):
    ds = read_dataset(io.StringIO("ID,TIME,AMT,DV\n1,0,10,.\n1,1,.,2.5\n1,1.5,.,3\n"))
    assert len(ds.doses) == 1 and len(ds.observations) == 2 and ds.doses["AMT"].iloc[0] == 10
    with pytest.raises(DatasetError, match=r"row 3 \(line 4\), column 'TIME'"):
        read_dataset(io.StringIO("ID,TIME,AMT\n1,0,10\n1,2,0\n1,1,0\n"))
    p = tmp_path / "d.parquet"
    pd.DataFrame({"ID": [1, 1], "TIME": [0.0, 1.0], "AMT": [10.0, -1.0]}).to_parquet(p)
    with pytest.raises(DatasetError, match=r"d.parquet': row 2, column 'AMT'"):
        read_dataset(p)
