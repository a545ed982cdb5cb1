"""``simulate_dataset``: a model run through every subject's event table, one ensemble task per subject."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError, QSPWarning
from .dataset import Dataset
from .job import DatasetJob, SubjectChunk, run_subjects
from .options import DoseOptions
from .plan import OUTPUT_EVIDS, build_plans
from .read import read_dataset
from .result import DatasetSimulation

__all__ = ["simulate_dataset", "prepare", "Prepared"]


def simulate_dataset(model, data, outputs: str | Sequence[str] | None = None, *,
                     cmt_map: Mapping[int, str] | None = None,
                     lag: Mapping[str, float | str] | None = None,
                     bioavailability: Mapping[str, float | str] | None = None,
                     modelled_rate: Mapping[str, float | str] | None = None,
                     modelled_duration: Mapping[str, float | str] | None = None,
                     params: Mapping[str, float] | None = None, covariate_model=None,
                     backend="serial", chunk_size: int | None = None, rtol: float = 1e-8, atol: float = 1e-12,
                     ss_tolerance: float | None = None, max_steps: int | None = None,
                     rows: str = "observations", covariate_interpolation: str = "locf",
                     amount_unit: str | None = None, option_label=None) -> DatasetSimulation:
    """Simulate ``model`` through the event table ``data`` (NONMEM's dosing rules, see docs/datasets.md).

    Parameters
    ----------
    model : qsp.Model
    data : Dataset, or a path / data frame for :func:`read_dataset` (with ``cmt_map``)
    outputs : model selectors reported at every observation (EVID 0) and EVID 2 row
    cmt_map : compartment numbers to dosed species, e.g. ``{1: "depot", 2: "central"}``
    lag, bioavailability, modelled_rate, modelled_duration : per dosed species, a number, a dataset
        column or a model parameter: NONMEM's ALAGn, Fn, Rn (RATE -1) and Dn (RATE -2)
    params : parameter values for every subject; dataset columns named like a model parameter set it
        per subject (time-varying ones from their row on, carried forward)
    covariate_model : a :class:`qsp.CovariateModel` turning covariate columns into parameter values
    backend : ``"serial"``, ``"processes"``, ``"dask"`` or a backend object (one task per subject)
    rtol, atol : CVODE tolerances; ss_tolerance : relative change over one dosing interval below which
        a steady state counts as reached (default ``100 * rtol``)
    rows : ``"observations"`` (outputs at EVID 0 and 2 rows) or ``"all"`` (every row; a dose or reset
        row reports the state just after it, as NONMEM's tables do)
    covariate_interpolation : ``"locf"`` (a time-varying value holds from its row on) or ``"nocb"``
        (it holds over the interval that ends at its row: NONMEM's default)
    amount_unit : unit of AMT and RATE (``"mg"``, ``"ug"``, ``"nmol"`` ...), converted into each dosed
        species' substance units (molecular weight from the model's drug metadata); default: model units

    Returns
    -------
    DatasetSimulation
        ``.table``: the input rows in order with one column per output (NaN on other rows);
        ``.steady_state``: how each SS record converged; ``.failures``: subjects that failed.
    """
    from ..ensemble.backends import task_results

    prep = prepare(model, data, outputs, cmt_map=cmt_map, lag=lag, bioavailability=bioavailability,
                   modelled_rate=modelled_rate, modelled_duration=modelled_duration, params=params,
                   covariate_model=covariate_model, rtol=rtol, atol=atol, ss_tolerance=ss_tolerance, rows=rows,
                   covariate_interpolation=covariate_interpolation, amount_unit=amount_unit,
                   option_label=option_label)
    table, outs, base, plans = prep.table, prep.outputs, prep.base, prep.plans
    rtol, atol, ss_tol = prep.rtol, prep.atol, prep.ss_tolerance
    from ..ensemble.job import sbml_key

    sbml = _job_sbml(model)
    job = DatasetJob(sbml, model.name, model.metadata, sbml_key(sbml), outs, tuple(base.items()), rtol, atol,
                     ss_tol, max_steps)
    size = chunk_size or max(1, min(64, math.ceil(len(plans) / (4 * (os.cpu_count() or 1)))))
    chunks = (SubjectChunk(np.arange(a, min(a + size, len(plans))), plans[a:a + size])
              for a in range(0, len(plans), size))
    results = {}
    with task_results(backend, run_subjects, job, chunks) as stream:
        for res in stream:
            for k, task in enumerate(res.task):
                results[int(task)] = (res.status[k], res.message[k], res.values[k], res.steady[k])
    sim = _assemble(table, plans, outs, results, model)
    if len(sim.failures):
        warnings.warn(f"{len(sim.failures)} of {len(plans)} subjects failed (their outputs are NaN); see the "
                      "failures of the result", QSPWarning, stacklevel=2)
    return sim


@dataclass(frozen=True)
class Prepared:
    """A dataset checked against a model: its table, outputs, common overrides and per-subject plans."""

    dataset: Dataset
    table: pd.DataFrame
    outputs: tuple[str, ...]
    base: dict
    plans: list
    rtol: float
    atol: float
    ss_tolerance: float


def prepare(model, data, outputs=None, *, cmt_map=None, lag=None, bioavailability=None, modelled_rate=None,
            modelled_duration=None, params=None, covariate_model=None, rtol: float = 1e-8, atol: float = 1e-12,
            ss_tolerance: float | None = None, rows: str = "observations", covariate_interpolation: str = "locf",
            amount_unit: str | None = None, option_label=None) -> Prepared:
    """Check ``data`` against ``model`` and build one plan per subject (the options of :func:`simulate_dataset`)."""
    from ..arguments import check_tolerances

    ds = _as_dataset(data, cmt_map)
    _choice(rows, "rows", ("observations", "all"), option_label)
    _choice(covariate_interpolation, "covariate_interpolation", ("locf", "nocb"), option_label)
    rtol, atol = check_tolerances(rtol, atol)
    ss_tol = 100 * rtol if ss_tolerance is None else _positive(ss_tolerance, "ss_tolerance")
    outs = model._check_outputs(outputs)
    table = ds.to_pandas()
    options = DoseOptions.build(model, table.columns, lag=lag, bioavailability=bioavailability,
                                modelled_rate=modelled_rate, modelled_duration=modelled_duration,
                                option_label=option_label)
    _check_species(model, table, ds)
    base = model._override_keys(dict(params or {}), None)
    settable = set(model._parameters) | set(model._compartments)
    by_column = {c: c for c in ds.covariates if c in settable}
    clash = sorted(set(by_column) & set(base))
    if clash:
        raise InputError(f"parameter(s) {', '.join(map(repr, clash))} are given by params and by dataset columns; "
                         "give each once")
    per_row = None
    if covariate_model is not None:
        per_row = _covariate_parameters(covariate_model, model, table, base, by_column)
    for col in by_column:
        model._override_keys({col: 1.0}, None)  # refuses assignment-rule targets by name
    default = ds.cmt_map.get(1) if ds.cmt_map else None
    factors = _amount_factors(model, table, amount_unit, default) if amount_unit is not None else None
    plans = build_plans(table, first_line=ds.first_line, source_name=ds.source, options=options,
                        parameter_columns=by_column, default_species=default, per_row_parameters=per_row,
                        interpolation=covariate_interpolation, all_rows=rows == "all", amount_factor=factors)
    return Prepared(ds, table, outs, base, plans, rtol, atol, ss_tol)


def _job_sbml(model) -> str:
    """The SBML a worker compiles (as the ensemble does: the model as loaded, flattened)."""
    import libsbml

    return libsbml.writeSBMLToString(model._doc)


def _choice(value, name: str, allowed: tuple[str, ...], label) -> None:
    if value not in allowed:
        shown = (label(name) if label else None) or name
        raise InputError(f"{shown} must be one of {', '.join(map(repr, allowed))}. Got {value!r} instead.")


def _amount_factors(model, table: pd.DataFrame, unit: str, default) -> dict[str, float]:
    """Model amount units per dataset amount unit, for each dosed species."""
    from ..errors import DosingError
    from ..units import parse_dose_unit, substance_unit, to_model_amount

    if not isinstance(unit, str):
        raise InputError(f"amount_unit must be a unit such as 'mg'. Got {unit!r} instead.")
    if parse_dose_unit(unit)[2]:
        raise DosingError(f"amount_unit {unit!r} is per kg: AMT in a dataset is the amount given; multiply by the "
                          "body weight column first")
    species = {c if isinstance(c, str) else default for c in table.loc[table["EVID"].isin((1, 4)), "CMT"]}
    mw = {d["target"]: d.get("molecular_weight") for d in model.metadata.get("drugs", []) if "target" in d}
    sbml = model._doc.getModel()
    return {s: to_model_amount(1.0, unit, substance_unit(sbml, s), molecular_weight=mw.get(s), body_weight=None,
                               species=s) for s in species if isinstance(s, str) and s in model._floating}


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a finite number > 0. Got {value!r} instead.")
    return float(value)


def _as_dataset(data, cmt_map) -> Dataset:
    if isinstance(data, Dataset):
        if cmt_map is None or data.cmt_map is not None:
            return data
        t = data.to_pandas()
        by_number = {float(k): str(v) for k, v in cmt_map.items()}
        t["CMT"] = [by_number.get(c, c) if isinstance(c, float) else c for c in t["CMT"]]
        return Dataset(t, covariates=list(data.covariates), cmt_map=cmt_map, source=data.source,
                       first_line=data.first_line)
    return read_dataset(data, cmt_map=cmt_map)


def _check_species(model, table: pd.DataFrame, ds: Dataset) -> None:
    """Every compartment a dose row names must be a floating species of the model."""
    from .._ids import unknown_id
    from .validate import where

    doses = table.loc[table["EVID"].isin((1, 4))]
    for idx, cmt in doses["CMT"].items():
        if isinstance(cmt, str) and cmt not in model._floating:
            err = unknown_id("dosed species", cmt, model._floating, where=f" of model {model.name!r}")
            raise InputError(f"{ds.source}: {where(idx, ds.first_line)}, column 'CMT': {err}")


def _covariate_parameters(cov, model, table, base, by_column) -> pd.DataFrame:
    clash = sorted(set(cov.parameters) & set(by_column))
    if clash:
        raise InputError(f"parameter(s) {', '.join(map(repr, clash))} are set by dataset columns and by the "
                         "covariate model; give each once")
    typical = {p: base.get(p, model._defaults.get(p)) for p in cov.parameters}
    # a covariate is carried forward within a subject (missing cells take the last value, leading ones the first)
    filled = table.copy()
    cols = [c for c in cov.covariates if c in filled.columns]
    filled[cols] = filled.groupby("ID", sort=False)[cols].transform(lambda s: s.ffill().bfill())
    return cov.apply(filled, typical=typical).set_axis(table.index)


def _assemble(table: pd.DataFrame, plans, outs, results, model) -> DatasetSimulation:
    out = table.copy()
    columns = {o: np.full(len(out), np.nan) for o in outs}
    position = {idx: k for k, idx in enumerate(out.index)}
    failures, steady = [], []
    for t, plan in enumerate(plans):
        status, message, values, ss = results.get(t, (1, "not run", None, []))
        rows = plan.rows[plan.output_row >= 0]
        if status == 0 and values is not None:
            where = [position[r] for r in rows]
            for j, o in enumerate(outs):
                columns[o][where] = values[:, j]
        else:
            failures.append({"ID": plan.subject, "message": message})
        for row, time, rep in ss:
            steady.append({"ID": plan.subject, "row": row, "TIME": time, "method": rep.method,
                           "intervals": rep.intervals, "residual": rep.residual, "converged": rep.converged})
    for o in outs:
        out[o] = columns[o]
    from ..model_units import output_units

    return DatasetSimulation(out, list(outs), pd.DataFrame(failures, columns=["ID", "message"]),
                             pd.DataFrame(steady, columns=["ID", "row", "TIME", "method", "intervals", "residual",
                                                           "converged"]),
                             units=output_units(model, list(outs)), output_evids=OUTPUT_EVIDS)
