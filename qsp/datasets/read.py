"""``read_dataset``: a NONMEM-style event table (CSV, Parquet or a data frame) as a checked Dataset."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Literal

import numpy as np
import pandas as pd

from ..tables import read_table
from .columns import CANONICAL, COMMENT, DatasetError, canonical_name, map_columns
from .dataset import Dataset
from .validate import check_required, check_table, to_numbers

__all__ = ["read_dataset"]

_PARQUET = (".parquet", ".pq")
_ZERO_DEFAULT = ("AMT", "RATE", "DUR", "II", "ADDL", "SS")  # NONMEM reads '.' in these as 0


def _missing_dots(df: pd.DataFrame) -> pd.DataFrame:
    """Strip text cells; ``'.'`` and empty text become missing (NaN)."""
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.astype("string").str.strip()
            out[col] = values.where(~text.isin([".", ""]).fillna(False), np.nan).map(
                lambda v: v.strip() if isinstance(v, str) else v).astype(object)
    return out


def _comment_rows(values: pd.Series) -> pd.Series:
    """Rows flagged as comments: a C cell that is neither missing nor ``'.'`` (already NaN)."""
    return values.notna() & (values.astype(str).str.strip() != "")


def read_dataset(path_or_frame: str | os.PathLike | pd.DataFrame | IO[str], *,
                 cmt_map: Mapping[int, str] | None = None,
                 covariates: Sequence[str] | None = None,
                 evid_style: Literal["nonmem", "rxode2"] = "nonmem",
                 missing: Mapping[str, Iterable[float]] | None = None) -> Dataset:
    """Read and check an event table.

    Parameters
    ----------
    path_or_frame : a CSV or Parquet (``.parquet``, ``.pq``) file, an open CSV text (``io.StringIO``),
        or a data frame.
    cmt_map : compartment numbers to model species names (``{1: "depot", 2: "central"}``); CMT then
        holds the names, and a compartment neither a key nor a name of the map is refused.
    covariates : the covariate columns (names as written, any case); default: every column that is
        not canonical. Columns not listed stay in the table but are not covariates.
    evid_style : ``"nonmem"`` (EVID 0-4) or ``"rxode2"`` (any EVID other than 0, e.g. 101, is a dose
        into CMT; read as EVID 1).
    missing : codes that mean "not applicable" per column, read as missing (``{"SS": [99]}``).

    Raises
    ------
    DatasetError
        One line naming the row (1-based data row, and the file line for CSV) and the column.
    QSPError
        The file is missing or unreadable, or a column name appears twice.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        raw, what, first_line = path_or_frame.copy(), "dataset", None
    elif hasattr(path_or_frame, "read"):  # an open text file or io.StringIO holding CSV
        raw, what, first_line = pd.read_csv(path_or_frame, dtype=str, keep_default_na=False), "dataset", 2
    else:
        path = str(path_or_frame)
        raw = read_table(path, what="dataset")
        what, first_line = f"dataset {path!r}", (None if path.endswith(_PARQUET) else 2)
    if evid_style not in ("nonmem", "rxode2"):
        raise DatasetError(f"evid_style must be 'nonmem' or 'rxode2', not {evid_style!r}")
    names = map_columns([str(c) for c in raw.columns], what=what)
    raw.columns = [names[str(c)] for c in raw.columns]
    df = _missing_dots(raw)
    df.index = pd.RangeIndex(1, len(df) + 1, name="row")
    if COMMENT in df.columns:
        df = df.loc[~_comment_rows(df[COMMENT])].drop(columns=COMMENT)
    check_required(df, what)
    df = to_numbers(df, what, first_line)
    for col, codes in (missing or {}).items():
        col = canonical_name(col) or str(col).strip()
        if col in df.columns:
            df[col] = df[col].where(~df[col].isin([float(c) for c in codes]), np.nan)
    amt = df["AMT"] if "AMT" in df.columns else pd.Series(np.nan, index=df.index)
    derived = (amt.fillna(0) > 0).astype(float)
    evid = df["EVID"] if "EVID" in df.columns else pd.Series(np.nan, index=df.index)
    if evid_style == "rxode2":
        evid = evid.where(evid.isna() | (evid == 0), 1.0)
    df["EVID"] = evid.fillna(derived)
    for col in CANONICAL:
        if col not in df.columns and col not in ("DVID", "BLQ", "LLOQ"):
            df[col] = np.nan
    check_table(df, what, first_line, cmt_map)
    for col in _ZERO_DEFAULT:
        df[col] = df[col].fillna(0.0)
    df["MDV"] = df["MDV"].fillna((df["EVID"] != 0).astype(float))
    if cmt_map is not None:
        by_number = {float(k): str(v) for k, v in cmt_map.items()}
        numeric = pd.to_numeric(df["CMT"], errors="coerce")
        df["CMT"] = [by_number.get(n, c) if n == n else c for n, c in zip(numeric, df["CMT"])]
    else:
        numeric = pd.to_numeric(df["CMT"], errors="coerce")
        if (numeric.notna() | df["CMT"].isna()).all():
            df["CMT"] = numeric.astype(float)
    canon = [c for c in CANONICAL if c in df.columns]
    extra = [c for c in df.columns if c not in canon]
    if covariates is None:
        cov = extra
    else:
        cov = []
        for name in covariates:
            target = names.get(name) or next((t for o, t in names.items() if o.upper() == str(name).upper()), None)
            if target is None or target not in extra:
                raise DatasetError(f"{what}: covariate {name!r} is not a column of the table"
                                   + (" (it is a canonical column)" if target in canon else ""))
            cov.append(target)
    return Dataset(df[canon + extra], covariates=cov, cmt_map=cmt_map, source=what, first_line=first_line)
