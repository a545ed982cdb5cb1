"""Checks of a normalised event table; each failure is one line naming the row, file line and column.

The table handed in has canonical column names and, as index, the 1-based data row of the source
(comment rows counted, so the numbers match the file); ``first_line`` is the file line of data row 1
(2 for a CSV file with its header; None for a data frame or Parquet file, whose rows have no lines).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..option_names import option
from .columns import NUMERIC, REQUIRED, DatasetError

__all__ = ["where", "fail", "check_required", "to_numbers", "check_table", "DOSE_EVIDS"]

#: NONMEM EVID codes that give a dose (1 dose, 4 reset and dose).
DOSE_EVIDS = (1, 4)
_EVIDS = (0, 1, 2, 3, 4)


def where(row: int, first_line: int | None) -> str:
    """``"row 5 (line 6)"``: the 1-based data row and, for a CSV file, the file line."""
    return f"row {row}" + (f" (line {row - 1 + first_line})" if first_line is not None else "")


def fail(what: str, row: int, first_line: int | None, column: str, problem: str) -> DatasetError:
    """The one-line error for ``row`` and ``column``."""
    return DatasetError(f"{what}: {where(row, first_line)}, column {column!r}: {problem}")


def _first(df: pd.DataFrame, mask: pd.Series | np.ndarray, what: str, first_line: int | None,
           column: str, problem) -> None:
    """Raise for the first row where ``mask`` holds; ``problem(value)`` says what is wrong."""
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        i = int(mask.nonzero()[0][0])
        value = df[column].iloc[i] if column in df.columns else None
        value = value.item() if isinstance(value, np.generic) else value
        raise fail(what, int(df.index[i]), first_line, column, problem(value))


def check_required(df: pd.DataFrame, what: str) -> None:
    """Refuse a table without ID or TIME."""
    for col in REQUIRED:
        if col not in df.columns:
            raise DatasetError(f"{what}: required column {col!r} is missing (columns: {', '.join(map(str, df.columns))})")


def to_numbers(df: pd.DataFrame, what: str, first_line: int | None) -> pd.DataFrame:
    """The canonical numeric columns as floats; a cell that is not a number (nor missing) is refused."""
    out = df.copy()
    for col in NUMERIC:
        if col not in out.columns:
            continue
        values = out[col]
        if pd.api.types.is_bool_dtype(values):
            raise DatasetError(f"{what}: column {col!r} holds true/false values, not numbers")
        numbers = pd.to_numeric(values, errors="coerce")
        _first(out, numbers.isna() & values.notna(), what, first_line, col, lambda v: f"{v!r} is not a number")
        out[col] = numbers.astype(float)
    return out


def _is_int(values: pd.Series) -> pd.Series:
    return values.isna() | (values == np.round(values))


def check_table(df: pd.DataFrame, what: str, first_line: int | None,
                cmt_map: Mapping[int, str] | None = None) -> None:
    """Every check on a table whose EVID is already in NONMEM's coding and whose numbers are floats.

    Missing cells (NaN) of AMT, RATE, DUR, II, ADDL and SS are still missing here (read as 0 later).

    Raises
    ------
    DatasetError
        For the first offending row, naming the row and column.
    """
    def bad(mask, column, problem):
        _first(df, mask, what, first_line, column, problem)

    for col in ("ID", "TIME"):
        bad(df[col].isna(), col, lambda v: "is missing (required in every row)")
    ids = df["ID"].to_numpy()
    starts = np.r_[True, ids[1:] != ids[:-1]]
    seen: set = set()
    for i in np.nonzero(starts)[0]:
        if ids[i] in seen:
            raise fail(what, int(df.index[i]), first_line, "ID",
                       f"subject {ids[i]:g} appears again after other subjects (rows of a subject must be together)")
        seen.add(ids[i])
    evid = df["EVID"]
    bad(~evid.isin(_EVIDS), "EVID",
        lambda v: f"{v:g} is not an EVID (0 observation, 1 dose, 2 other, 3 reset, 4 reset and dose)"
        + (f"; rxode2 coding? read with {option('evid_style', 'rxode2')}" if v > 4 else ""))
    time = df["TIME"].to_numpy()
    back = np.r_[False, (time[1:] < time[:-1]) & ~starts[1:]] & ~evid.isin((3, 4)).to_numpy()
    bad(back, "TIME", lambda v: f"{v:g} is earlier than the row before in the same subject (only a reset, EVID 3 or 4, may go back)")
    amt, dose = df["AMT"], evid.isin(DOSE_EVIDS)
    bad(amt < 0, "AMT", lambda v: f"{v:g}: an amount cannot be negative")
    bad(dose & amt.isna(), "AMT", lambda v: "a dose row (EVID 1 or 4) needs an amount")
    ss, ii, addl, rate = df["SS"], df["II"], df["ADDL"], df["RATE"]
    bad(~(ss.isna() | ss.isin((0, 1, 2))), "SS", lambda v: f"{v:g} is not 0, 1 (steady state) or 2 (steady state added)")
    bad((addl < 0) | ~_is_int(addl), "ADDL", lambda v: f"{v:g}: the number of additional doses must be a whole number >= 0")
    bad(ii < 0, "II", lambda v: f"{v:g}: an interdose interval cannot be negative")
    no_ii = ~(ii > 0)
    bad((addl > 0) & no_ii, "II", lambda v: "ADDL > 0 needs an interdose interval II > 0")
    ss_infusion = (amt.fillna(0) == 0) & (rate > 0)  # NONMEM: SS with II 0 is a steady-state infusion
    bad((ss > 0) & no_ii & ~ss_infusion, "II",
        lambda v: "SS > 0 needs an interdose interval II > 0 (or II 0, AMT 0 and RATE > 0 for a steady-state infusion)")
    bad(~(rate.isna() | (rate >= 0) | rate.isin((-1, -2))), "RATE",
        lambda v: f"{v:g} is not a rate (> 0 infusion, 0 bolus, -1 rate modelled, -2 duration modelled)")
    bad(df["DUR"] < 0, "DUR", lambda v: f"{v:g}: a duration cannot be negative")
    for col, meaning in (("MDV", "missing DV"), ("BLQ", "below the limit of quantification")):
        if col in df.columns:
            bad(~(df[col].isna() | df[col].isin((0, 1))), col, lambda v, m=meaning: f"{v:g} is not 0 or 1 (1: {m})")
    _check_cmt(df, what, first_line, cmt_map)


def _check_cmt(df: pd.DataFrame, what: str, first_line: int | None, cmt_map: Mapping[int, str] | None) -> None:
    cmt = df["CMT"]
    given = cmt.notna() & (cmt.astype(str) != "0") & (cmt.astype(str) != "0.0")
    numeric = pd.to_numeric(cmt, errors="coerce")
    bad_number = numeric.notna() & ((numeric < 0) | (numeric != np.round(numeric)))
    _first(df, bad_number, what, first_line, "CMT",
           lambda v: f"{v!r} is not a compartment number (a whole number >= 1; 0 or '.' for the default)")
    if cmt_map is None:
        return
    names = {str(n) for n in cmt_map.values()}
    known = numeric.isin([float(k) for k in cmt_map]) | cmt.astype(str).isin(names)
    _first(df, given & ~known, what, first_line, "CMT",
           lambda v: f"unknown compartment {v!r} (cmt_map has {', '.join(f'{k}: {n}' for k, n in cmt_map.items())})")
