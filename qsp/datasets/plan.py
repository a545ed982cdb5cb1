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
                per_row_parameters: pd.DataFrame | None = None, interpolation: str = "locf",
                all_rows: bool = False, amount_factor: dict[str, float] | None = None) -> list[SubjectPlan]:
    """One plan per subject, in order of appearance (a subject's rows are together: checked on reading).

    ``parameter_columns`` maps dataset columns to the model parameters they set; ``per_row_parameters``
    (same index as ``table``) holds further parameter values per row, e.g. from a covariate model.
    Missing cells take the subject's last value (leading ones its first). ``interpolation``: ``"locf"``,
    a row's value holds from its time on; ``"nocb"``, it holds over the interval that ends at its row
    (NONMEM's default). ``default_species`` receives doses whose CMT is missing; ``all_rows`` gives
    every row an output (else EVID 0 and 2 rows); ``amount_factor`` converts AMT and RATE per species.
    """
    values = table[list(parameter_columns)].rename(columns=parameter_columns) if parameter_columns else None
    if per_row_parameters is not None and len(per_row_parameters.columns):
        values = per_row_parameters if values is None else pd.concat([values, per_row_parameters], axis=1)
    n = len(table)
    ids = table["ID"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if n else np.zeros(0, dtype=int)
    bounds = list(zip(starts, np.r_[starts[1:], n]))
    settings: list = [()] * n
    after: list | None = None
    initial: list = [()] * len(bounds)
    if values is not None:
        names = list(values.columns)
        filled = values.groupby(ids, sort=False).ffill()
        filled = filled.groupby(ids, sort=False).bfill()
        arr = filled.to_numpy(dtype=float)
        missing = np.isnan(arr)
        if missing.any():
            i, j = np.argwhere(missing)[0]
            raise DatasetError(f"{source_name}: subject {ids[i]:g} has no value for parameter {names[j]!r} on any row")
        first = np.zeros(n, dtype=bool)
        first[starts] = True
        changed = np.zeros_like(missing)
        changed[1:] = (arr[1:] != arr[:-1]) & ~first[1:, None]
        for i in np.flatnonzero(changed.any(axis=1)):
            settings[i] = tuple((names[j], float(arr[i, j])) for j in np.flatnonzero(changed[i]))
        for k, a in enumerate(starts):
            initial[k] = tuple((name, float(arr[a, j])) for j, name in enumerate(names))
        if interpolation == "nocb":  # after row i, the value of row i + 1 holds until it
            last = np.zeros(n, dtype=bool)
            last[np.r_[starts[1:], n] - 1] = True
            nxt = np.vstack([arr[1:], arr[-1:]]) if n else arr
            moved = (nxt != arr) & ~last[:, None]
            after = [()] * n
            for i in np.flatnonzero(moved.any(axis=1)):
                after[i] = tuple((names[j], float(nxt[i, j])) for j in np.flatnonzero(moved[i]))
    times = table["TIME"].to_numpy(dtype=float)
    evids = table["EVID"].to_numpy(dtype=int)
    doses: list = [None] * n
    is_dose = np.isin(evids, (1, 4))
    if is_dose.any():
        for i, (idx, row) in zip(np.flatnonzero(is_dose), table.loc[is_dose].iterrows()):
            doses[i] = _dose(row, idx, options, default_species, first_line, source_name, amount_factor or {})
    has_output = np.ones(n, dtype=bool) if all_rows else np.isin(evids, OUTPUT_EVIDS)
    rows = table.index.to_numpy()
    plans = []
    for k, (a, b) in enumerate(bounds):
        out = np.full(b - a, -1)
        mask = has_output[a:b]
        out[mask] = np.arange(int(mask.sum()))
        plans.append(SubjectPlan(_plain(ids[a]), rows[a:b], times[a:b], evids[a:b], tuple(settings[a:b]),
                                 tuple(doses[a:b]), out, initial[k], tuple(after[a:b]) if after else ()))
    return plans


def _plain(value):
    """A whole-number float ID as int (1.0 -> 1)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value.item() if isinstance(value, np.generic) else value


def _dose(row: pd.Series, idx, options: DoseOptions, default_species, first_line, source_name,
          amount_factor: dict[str, float]) -> DoseRecord:
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
    factor = amount_factor.get(species, 1.0)
    if factor != 1.0:  # a modelled rate given as a number or column is in the dataset's amount units per time
        opts = [(k, v * factor if k == "modelled_rate" and not isinstance(v, str) else v) for k, v in opts]
    return DoseRecord(species, float(row["AMT"]) * factor, rate * factor if rate > 0 else rate, float(row["DUR"]),
                      float(row["II"]), int(row["ADDL"]), int(row["SS"]), tuple(opts))
