"""``check_dataset``: what an event table holds, subject by subject, and what looks wrong without being an error.

Malformed tables are refused by :func:`~qsp.datasets.read_dataset` (one :class:`DatasetError`);
the report covers tables that read, listing oddities a modeller should look at (subjects without
observations, observations without DV, doses of nothing, duplicated rows, time-varying covariates).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..atomic import atomic_write, json_text
from ..errors import InputError
from .dataset import Dataset, _plain
from .read import read_dataset
from .validate import where

__all__ = ["check_dataset", "DatasetReport"]

#: IDs or rows named in a warning before the rest are counted.
LISTED = 8


def _listed(items: list, *, noun: str) -> str:
    """``"IDs 1, 2, 3"`` or ``"IDs 1, 2, ... (12 in all)"``."""
    shown = ", ".join(str(i) for i in items[:LISTED])
    more = f", ... ({len(items)} in all)" if len(items) > LISTED else ""
    return f"{noun}{'s' if len(items) > 1 else ''} {shown}{more}"


def _rows(index: pd.Index, first_line: int | None) -> str:
    """The data rows of ``index``: ``"row 5 (line 6)"`` for one, ``"rows 5, 9, ... (first: line 6)"`` for more."""
    rows = [int(r) for r in index]
    if len(rows) == 1:
        return where(rows[0], first_line)
    text = _listed(rows, noun="row")
    return text + (f" (file line = row + {first_line - 1})" if first_line is not None else "")


def _json_value(value):
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


class DatasetReport:
    """The check of one event table.

    Attributes
    ----------
    subjects : pandas.DataFrame
        One row per subject (index ``ID``, in order of appearance): ``rows``, ``doses`` (dose rows),
        ``doses_expanded`` (with ADDL expanded), ``observations`` (EVID 0, MDV 0), ``dv_missing``
        (observations without DV), ``first_time`` and ``last_time`` (dataset time unit), ``blq``
        (rows flagged BLQ = 1; only when the table has BLQ) and ``time_varying`` (the covariates
        that change within the subject, comma-separated).
    warnings : list of str
        Findings that are not errors, one sentence each.
    facts : dict
        Counts over the whole table: subjects, rows, dose rows, observations, covariates and their
        kind, DVID values, compartments dosed and observed.
    """

    def __init__(self, subjects: pd.DataFrame, warnings: list[str], facts: dict, source: str = "dataset"):
        self.subjects = subjects
        self.warnings = list(warnings)
        self.facts = dict(facts)
        self.source = source

    def __len__(self) -> int:
        return len(self.subjects)

    def to_pandas(self) -> pd.DataFrame:
        """A copy of the per-subject table."""
        return self.subjects.copy()

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the per-subject table as CSV (ID first), whole or not at all."""
        with atomic_write(path) as fh:
            self.subjects.to_csv(fh)

    def to_dict(self) -> dict:
        """JSON-ready dict: source, facts, warnings and one record per subject (NaN as None)."""
        records = [{"ID": _json_value(sid), **{k: _json_value(v) for k, v in row.items()}}
                   for sid, row in self.subjects.iterrows()]
        return {"source": self.source, "facts": self.facts, "warnings": self.warnings, "subjects": records}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """Return :meth:`to_dict` as JSON text, also written to ``path`` when given."""
        return json_text(self.to_dict(), path)

    def summary(self) -> str:
        """One line of counts."""
        f = self.facts
        cov = ", ".join(f"{c} ({k})" for c, k in f["covariates"].items()) or "none"
        return (f"{f['subjects']} subjects, {f['rows']} rows, {f['dose_rows']} dose rows "
                f"({f['doses_expanded']} doses with ADDL), {f['observations']} observations "
                f"({f['observations_with_dv']} with DV); covariates: {cov}")

    def __str__(self) -> str:
        with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_rows", 200):
            table = self.subjects.to_string()
        lines = [f"{self.source}: {self.summary()}", "", table, "", f"warnings ({len(self.warnings)})"]
        lines += [f"- {w}" for w in self.warnings] or ["(none)"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<DatasetReport {self.source}: {self.summary()}; {len(self.warnings)} warnings>"

    def _repr_html_(self) -> str:
        from html import escape

        from ..display import table_html

        items = "".join(f"<li>{escape(w)}</li>" for w in self.warnings)
        notes = f"<p><b>warnings</b> ({len(self.warnings)})</p>" + (f"<ul>{items}</ul>" if items else "")
        return table_html(f"DatasetReport {self.source}", self.subjects, self.summary()) + notes


def _subject_table(ds: Dataset, table: pd.DataFrame) -> pd.DataFrame:
    by = table.groupby("ID", sort=False)
    obs = (table["EVID"] == 0) & (table["MDV"] == 0)
    dose = table.index.isin(ds.doses.index)
    expanded = ds.expand_addl().groupby("ID", sort=False).size()
    out = pd.DataFrame({
        "rows": by.size(),
        "doses": pd.Series(dose, index=table.index).groupby(table["ID"], sort=False).sum(),
        "doses_expanded": expanded.reindex(by.size().index, fill_value=0),
        "observations": obs.groupby(table["ID"], sort=False).sum(),
        "dv_missing": (obs & table["DV"].isna()).groupby(table["ID"], sort=False).sum(),
        "first_time": by["TIME"].min(),
        "last_time": by["TIME"].max(),
    })
    if "BLQ" in table.columns:
        out["blq"] = (table["BLQ"] == 1).groupby(table["ID"], sort=False).sum()
    varying = {c: by[c].nunique(dropna=True) > 1 for c in ds.covariates}
    out["time_varying"] = [", ".join(c for c, v in varying.items() if v.loc[sid]) for sid in out.index]
    for col in ("rows", "doses", "doses_expanded", "observations", "dv_missing", "blq"):
        if col in out:
            out[col] = out[col].astype(int)
    out.index = pd.Index([_plain(v) for v in out.index], name="ID")
    return out


def _verb(n: int, one: str, more: str) -> str:
    return one if n == 1 else more


def _warnings(ds: Dataset, table: pd.DataFrame, subjects: pd.DataFrame) -> list[str]:
    line, n_sub = ds.first_line, len(subjects)
    out = []
    none = list(subjects.index[subjects["observations"] == 0])
    if none:
        out.append(f"{len(none)} of {n_sub} subjects {_verb(len(none), 'has', 'have')} no observation "
                   f"(EVID 0, MDV 0): {_listed(none, noun='ID')}")
    none = list(subjects.index[subjects["doses"] == 0])
    if none:
        out.append(f"{len(none)} of {n_sub} subjects {_verb(len(none), 'has', 'have')} no dose: "
                   f"{_listed(none, noun='ID')}")
    obs = ds.observations
    no_dv = obs.index[obs["DV"].isna()]
    if len(no_dv):
        out.append(f"{len(no_dv)} of {len(obs)} observations {_verb(len(no_dv), 'has', 'have')} no DV "
                   f"(a simulation table?): {_rows(no_dv, line)}")
    keys = ["ID", "TIME"] + (["DVID"] if "DVID" in obs.columns else [])
    same = obs.index[obs.duplicated(subset=keys, keep="first")]
    if len(same):
        kind = " and DVID" if "DVID" in obs.columns else ""
        out.append(f"{len(same)} {_verb(len(same), 'observation has', 'observations have')} the time{kind} of "
                   f"an earlier observation of the same subject (NCA refuses such profiles): {_rows(same, line)}")
    doses = ds.doses
    empty = doses.index[(doses["AMT"] == 0) & (doses["RATE"] == 0)]
    if len(empty):
        out.append(f"{len(empty)} dose {_verb(len(empty), 'row has', 'rows have')} AMT 0 and no RATE "
                   f"(nothing is given): {_rows(empty, line)}")
    dup = table.index[table.duplicated(keep="first")]
    if len(dup):
        out.append(f"{len(dup)} {_verb(len(dup), 'row repeats', 'rows repeat')} an earlier row exactly "
                   f"(same values in every column): {_rows(dup, line)}")
    for col, kind in ds.covariates.items():
        if kind == "time-varying":
            ids = [sid for sid, names in subjects["time_varying"].items() if col in names.split(", ")]
            out.append(f"covariate {col!r} is time-varying in {len(ids)} of {n_sub} subjects "
                       f"(NONMEM carries each value forward): {_listed(ids, noun='ID')}")
    return out


def _facts(ds: Dataset, table: pd.DataFrame, subjects: pd.DataFrame) -> dict:
    obs, doses = ds.observations, ds.doses
    facts = {"subjects": len(subjects), "rows": len(table), "dose_rows": len(doses),
             "doses_expanded": int(subjects["doses_expanded"].sum()), "observations": len(obs),
             "observations_with_dv": int(obs["DV"].notna().sum()), "covariates": ds.covariates,
             "dose_compartments": [_json_value(_plain(c)) for c in pd.unique(doses["CMT"].dropna())],
             "observation_compartments": [_json_value(_plain(c)) for c in pd.unique(obs["CMT"].dropna())],
             "time": [_json_value(table["TIME"].min()), _json_value(table["TIME"].max())],
             "columns": [str(c) for c in table.columns]}
    if "DVID" in table.columns:
        facts["dvid"] = [_json_value(_plain(v)) for v in pd.unique(obs["DVID"].dropna())]
    if "BLQ" in table.columns:
        facts["blq"] = int((table["BLQ"] == 1).sum())
    return facts


def check_dataset(source, **read_options) -> DatasetReport:
    """Read an event table and report what it holds, per subject and overall, with warnings.

    Parameters
    ----------
    source : a path (CSV, Parquet), an open CSV text, a data frame, or a :class:`Dataset` already read.
    read_options : passed to :func:`~qsp.datasets.read_dataset` (``cmt_map=``, ``covariates=``,
        ``evid_style=``, ``missing=``); none with a Dataset.

    Raises
    ------
    DatasetError
        The table is malformed (one line naming the row and column), as from ``read_dataset``.
    """
    if isinstance(source, Dataset):
        if read_options:
            raise InputError(f"check_dataset: a Dataset is already read; read options ({', '.join(read_options)}) "
                             "apply to a file or a data frame")
        ds = source
    else:
        ds = read_dataset(source, **read_options)
    table = ds.to_pandas()
    subjects = _subject_table(ds, table)
    return DatasetReport(subjects, _warnings(ds, table, subjects), _facts(ds, table, subjects), source=ds.source)
