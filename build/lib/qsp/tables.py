"""Reading tables users give (parameter samples, plausible patients, observations): CSV or Parquet."""

from __future__ import annotations

import os

import pandas as pd

from .errors import QSPError

__all__ = ["read_table"]


def read_table(path: str | os.PathLike, *, what: str = "file") -> pd.DataFrame:
    """Read ``path`` as Parquet (``.parquet``, ``.pq``; metadata kept in ``attrs``) or CSV.

    Raises
    ------
    QSPError
        One line naming ``what`` and the path when it is missing or unreadable.
    """
    path = str(path)
    if not os.path.exists(path):
        raise QSPError(f"{what} {path!r} does not exist")
    try:
        if path.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as exc:
        raise QSPError(f"cannot read {what} {path!r}: {' '.join(str(exc).split())}") from None
