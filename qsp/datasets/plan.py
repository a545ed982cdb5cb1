"""Turning a checked dataset into one :class:`~qsp.events.SubjectPlan` per subject."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..events.plan import DoseRecord, SubjectPlan
from .columns import DatasetError
from .options import DoseOptions, Source
from .validate import where

__all__ = ["build_plans", "OUTPUT_EVIDS"]

#: Rows that get simulated outputs: observations (EVID 0) and other-type rows (EVID 2).
OUTPUT_EVIDS = (0, 2)


def _resolve(source: Source, row: pd.Series, what: str) -> float | str:
    if source.kind == "number":
        return float(source.value)
    if source.kind == "parameter":
        return str(source.value)
    v = row[source.value]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        raise DatasetError(f"{what}: column {source.value!r} is missing on a dose row that needs it")
    v = float(v)
    if v < 0 or not math.isfinite(v):
        raise DatasetError(f"{what}: column {source.value!r} must be a finite number >= 0, not {v:g}")
    return v


def build_plans(table: pd.DataFrame, *, first_line: int | None, source_name: str, options: DoseOptions,
                parameter_columns: dict[str, str], default_species: str | None,
                per_row_parameters: pd.DataFrame | None = None) -> list[SubjectPlan]:
    """One plan per subject, in order of appearance.

    ``parameter_columns`` maps dataset columns to the model parameters they set (carried forward
    from the row where they appear; leading missing cells take the subject's first value);
    ``per_row_parameters`` (same index as ``table``) holds further parameter values per row, e.g.
    from a covariate model. ``default_species`` receives doses whose CMT is missing.
    """
    values = table[list(parameter_columns)].rename(columns=parameter_columns) if parameter_columns else None
    if per_row_parameters is not None and len(per_row_parameters.columns):
        values = per_row_parameters if values is None else pd.concat([values, per_row_parameters], axis=1)
    plans = []
    for subject, rows in table.groupby("ID", sort=False):
        pv = None
        if values is not None:
            pv = values.loc[rows.index].ffill().bfill()
            bad = pv.columns[pv.isna().all().to_numpy()]
            if len(bad):
                raise DatasetError(f"{source_name}: subject {subject:g} has no value for parameter(s) "
                                   f"{', '.join(map(repr, bad))} on any row")
        plans.append(_plan(subject, rows, pv, options, default_species, first_line, source_name))
    return plans


def _plan(subject, rows: pd.DataFrame, pv: pd.DataFrame | None, options: DoseOptions, default_species,
          first_line, source_name) -> SubjectPlan:
    n = len(rows)
    times = rows["TIME"].to_numpy(dtype=float)
    evids = rows["EVID"].to_numpy(dtype=int)
    settings: list = []
    doses: list = []
    last: dict[str, float] = {}
    initial: tuple = ()
    if pv is not None:
        initial = tuple((k, float(v)) for k, v in pv.iloc[0].items())
        last = dict(initial)
    for i, (idx, row) in enumerate(rows.iterrows()):
        change: tuple = ()
        if pv is not None and i:
            now = pv.iloc[i]
            change = tuple((k, float(v)) for k, v in now.items() if last.get(k) != float(v))
            last.update(change)
        settings.append(change)
        doses.append(_dose(row, idx, options, default_species, first_line, source_name)
                     if evids[i] in (1, 4) else None)
    out = np.full(n, -1)
    mask = np.isin(evids, OUTPUT_EVIDS)
    out[mask] = np.arange(int(mask.sum()))
    return SubjectPlan(subject, rows.index.to_numpy(), times, evids, tuple(settings), tuple(doses), out, initial)


def _dose(row: pd.Series, idx, options: DoseOptions, default_species, first_line, source_name) -> DoseRecord:
    species = row["CMT"]
    if species is None or (isinstance(species, float) and math.isnan(species)):
        species = default_species
    if not isinstance(species, str):
        raise DatasetError(f"{source_name}: {where(idx, first_line)}, column 'CMT': compartment {species:g} is "
                           "not mapped to a model species (give cmt_map, e.g. {1: 'depot', 2: 'central'})")
    what = f"{source_name}: {where(idx, first_line)}"
    opts = []
    for name in ("lag", "bioavailability", "modelled_rate", "modelled_duration"):
        src = getattr(options, name).get(species)
        if src is not None:
            opts.append((name, _resolve(src, row, what)))
    rate = float(row["RATE"])
    if rate == -1 and species not in options.modelled_rate:
        raise DatasetError(f"{what}, column 'RATE': -1 asks for a modelled rate, but none is given for {species!r} "
                           "(modelled_rate=, --modelled-rate)")
    if rate == -2 and species not in options.modelled_duration:
        raise DatasetError(f"{what}, column 'RATE': -2 asks for a modelled duration, but none is given for "
                           f"{species!r} (modelled_duration=, --modelled-duration)")
    return DoseRecord(species, float(row["AMT"]), rate, float(row["DUR"]), float(row["II"]), int(row["ADDL"]),
                      int(row["SS"]), tuple(opts))
