"""``Dataset``: a checked event table with canonical columns, and views of its doses and observations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .validate import DOSE_EVIDS

__all__ = ["Dataset"]


class Dataset:
    """A NONMEM-style event table, checked and normalised (build it with :func:`read_dataset`).

    The table has the canonical upper-case columns ID, TIME, EVID, AMT, CMT, RATE, DUR, II, ADDL,
    SS, MDV, DV (and DVID, BLQ, LLOQ when the source has them), then the other columns under their
    own names. Its index is the 1-based data row of the source (comment rows counted). EVID is in
    NONMEM's coding; AMT, RATE, DUR, II, ADDL and SS are 0 where the source left them missing; CMT
    holds species names when a ``cmt_map`` was given, else numbers (NaN: the default compartment).
    Times and amounts are in the dataset's own units (nothing is converted here).
    """

    def __init__(self, table: pd.DataFrame, *, covariates: Sequence[str] = (),
                 cmt_map: Mapping[int, str] | None = None, source: str = "dataset",
                 first_line: int | None = None):
        self._table = table
        self._covariates = list(covariates)
        self.cmt_map = dict(cmt_map) if cmt_map is not None else None
        self.source = source
        self.first_line = first_line

    def __len__(self) -> int:
        return len(self._table)

    @property
    def subjects(self) -> list:
        """The subject IDs in the order they appear."""
        return [_plain(v) for v in pd.unique(self._table["ID"])]

    @property
    def doses(self) -> pd.DataFrame:
        """The dose rows (EVID 1 or 4), ADDL not expanded (see :meth:`expand_addl`)."""
        return self._table.loc[self._table["EVID"].isin(DOSE_EVIDS)].copy()

    @property
    def observations(self) -> pd.DataFrame:
        """The observation rows: EVID 0 and MDV 0 (DV may still be missing, as in simulation tables)."""
        t = self._table
        return t.loc[(t["EVID"] == 0) & (t["MDV"] == 0)].copy()

    @property
    def covariates(self) -> dict[str, str]:
        """Each covariate column: ``"constant"`` (one value per subject, missing cells aside) or
        ``"time-varying"`` (a subject has two different values; NONMEM carries each forward)."""
        t = self._table
        out: dict[str, str] = {}
        for col in self._covariates:
            varying = (t.groupby("ID", sort=False)[col].nunique(dropna=True) > 1).any()
            out[col] = "time-varying" if varying else "constant"
        return out

    def expand_addl(self) -> pd.DataFrame:
        """The doses with ADDL expanded: a row with ADDL n and II ii becomes n + 1 rows at TIME,
        TIME + ii, ..., TIME + n*ii (II in the units of TIME); the added doses have ADDL 0 and SS 0
        (they are ordinary doses after the first). The index still names each dose's source row.
        Sorted by subject (in order of appearance), then time, source order kept at equal times."""
        doses = self.doses
        n = doses["ADDL"].astype(int).to_numpy() + 1
        out = doses.loc[doses.index.repeat(n)].copy()
        k = np.concatenate([np.arange(m) for m in n]) if len(n) else np.zeros(0, dtype=int)
        out["TIME"] = out["TIME"].to_numpy() + k * out["II"].to_numpy()
        out["ADDL"] = 0.0
        out.loc[k > 0, "SS"] = 0.0
        order = {s: i for i, s in enumerate(pd.unique(self._table["ID"]))}
        out["_s"] = out["ID"].map(order)
        out["_k"] = np.arange(len(out))
        return out.sort_values(["_s", "TIME", "_k"], kind="stable").drop(columns=["_s", "_k"])

    def plot(self, outputs=None, **kwargs):
        """Spaghetti plot per subject with the dose times marked (see :func:`qsp.datasets.plot_dataset`); a Figure."""
        from .plot import plot_dataset

        return plot_dataset(self, outputs, **kwargs)

    def to_pandas(self) -> pd.DataFrame:
        """A copy of the whole normalised table (index: the source's 1-based data row)."""
        return self._table.copy()

    def _facts(self) -> str:
        cov = ", ".join(f"{c} ({k})" for c, k in self.covariates.items()) or "none"
        return (f"{len(self.subjects)} subjects, {len(self)} rows, {len(self.doses)} dose rows, "
                f"{len(self.observations)} observations; covariates: {cov}")

    def __repr__(self) -> str:
        return f"<Dataset {self.source}: {self._facts()}>"

    def _repr_html_(self) -> str:
        from ..display import table_html

        return table_html(f"Dataset {self.source}", self._table, self._facts())


def _plain(value):
    """A float ID that is a whole number as int (1.0 -> 1)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value.item() if isinstance(value, np.generic) else value
