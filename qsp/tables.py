"""Reading tables users give (parameter samples, plausible patients, observations): CSV or Parquet.

Column names must be unique (checked on the file's own header: pandas would rename a second ``k``
to ``k.1``), and columns that must hold numbers are checked cell by cell, so that a stray word is
reported with its row and column rather than turned into a missing value.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence

import pandas as pd

from .errors import InputError, QSPError

__all__ = ["read_table", "check_numeric"]

_PARQUET = (".parquet", ".pq")


def _header(path: str) -> list[str] | None:
    """The column names as written in the CSV file's first row (None when unreadable)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def _parquet_names(path: str) -> list[str] | None:
    try:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except Exception:  # not a single Parquet file (a directory, or unreadable): pandas reports it
        return None


def _check_unique(names: Sequence[str] | None, what: str, path: str) -> None:
    seen: set[str] = set()
    for name in names or ():
        key = str(name).strip()
        if key and key in seen:
            raise InputError(f"{what} {path!r}: column {key!r} appears twice")
        seen.add(key)


def check_numeric(df: pd.DataFrame, *, what: str = "table", columns: Sequence[str] | None = None,
                  first_line: int | None = None) -> pd.DataFrame:
    """Return ``df`` with ``columns`` (default: all) as numbers; refuse a cell that is not one.

    Empty cells stay missing (NaN). ``first_line``: the file line of the first data row (CSV),
    so that the message names it as well as the row number.

    Raises
    ------
    InputError
        One line naming the row, the column and the value.
    """
    out = df
    for col in (df.columns if columns is None else columns):
        if col not in df.columns:
            continue
        values = df[col]
        if pd.api.types.is_bool_dtype(values):
            raise InputError(f"{what}: column {col!r} holds true/false values, not numbers")
        if pd.api.types.is_numeric_dtype(values):
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna() & values.notna() & (values.astype(str).str.strip() != "")
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            where = f"row {i + 1}" + (f" (line {i + first_line})" if first_line is not None else "")
            raise InputError(f"{what}: {where}, column {col!r}: {values.iloc[i]!r} is not a number")
        if out is df:
            out = df.copy()
        out[col] = numbers
    return out


def read_table(path: str | os.PathLike, *, what: str = "file",
               numeric: bool | Sequence[str] = False) -> pd.DataFrame:
    """Read ``path`` as Parquet (``.parquet``, ``.pq``; metadata kept in ``attrs``) or CSV.

    Parameters
    ----------
    path : the file.
    what : how messages name it (``"samples file"``).
    numeric : True to require every column to hold numbers, or the names of the columns that must
        (see :func:`check_numeric`); empty cells are allowed and read as NaN.

    Raises
    ------
    QSPError
        One line naming ``what`` and the path when it is missing or unreadable, when a column
        name appears twice, or when a numeric column holds something else (InputError).
    """
    path = str(path)
    if not os.path.exists(path):
        raise QSPError(f"{what} {path!r} does not exist")
    parquet = path.endswith(_PARQUET)
    _check_unique(_parquet_names(path) if parquet else _header(path), what, path)
    try:
        df = pd.read_parquet(path) if parquet else pd.read_csv(path)
    except Exception as exc:
        raise QSPError(f"cannot read {what} {path!r}: {' '.join(str(exc).split())}") from None
    _check_unique([str(c) for c in df.columns], what, path)
    if numeric:
        df = check_numeric(df, what=f"{what} {path!r}", columns=None if numeric is True else list(numeric),
                           first_line=None if parquet else 2)
    return df
