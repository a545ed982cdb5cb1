"""A dataset and a population model checked against a model: per-subject plans, observations, covariates.

The observations are chosen and matched to model outputs exactly as for a single-model fit
(:class:`qsp.fit.dataset_objective.DatasetObjective`: EVID 0, MDV 0, DV present; DVID per output;
BLQ 1 rows censored at LLOQ); doses and dosing rules come from the dataset layer. Dataset columns
named like an estimated parameter would set it per subject, so they are refused (leave them out
with ``ignore_columns``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .job import PopulationJob, SubjectData
from .spec import PopulationModel

__all__ = ["Problem", "build_problem"]


@dataclass
class Problem:
    """Everything a population fit of ``model`` to a dataset needs (see :func:`build_problem`)."""

    population: PopulationModel
    dataset: object
    subjects: list[SubjectData]
    baseline: pd.DataFrame
    c: np.ndarray
    o: np.ndarray
    measurements: pd.DataFrame
    job: PopulationJob

    @property
    def ids(self) -> list:
        return [s.subject for s in self.subjects]

    @property
    def n_observations(self) -> int:
        return int(sum(len(s.y) for s in self.subjects))


def _dataset(data, pop: PopulationModel, cmt_map):
    from ..datasets.dataset import Dataset
    from ..datasets.read import read_dataset

    if not isinstance(data, Dataset):
        if isinstance(data, (str, os.PathLike)) and not os.path.exists(data):
            raise InputError(f"dataset {str(data)!r} does not exist")
        data = read_dataset(data, cmt_map=cmt_map, evid_style=pop.evid_style, missing=pop.missing)
    ignore = list(pop.ignore_columns or ())
    table = data.to_pandas()
    absent = [c for c in ignore if c not in table.columns]
    if absent:
        raise InputError(f"ignore_columns: {absent[0]!r} is not a column of the dataset")
    covs = [c for c in data.covariates if c not in ignore]
    clash = [c for c in covs if c in pop.parameters]
    if clash:
        raise InputError(f"dataset column {clash[0]!r} would set the estimated parameter {clash[0]!r} per subject; "
                         f"leave it out (ignore_columns = [{clash[0]!r}])")
    if ignore:
        data = Dataset(table.drop(columns=ignore), covariates=covs, cmt_map=data.cmt_map, source=data.source,
                       first_line=data.first_line)
    return data


def _estimate_spec(name: str, p) -> tuple:
    """A bounds spec for the dataset objective (its bounds are not used here)."""
    if p.transform == "log":
        return name, p.initial / 1e6, p.initial * 1e6, "log", p.initial
    if p.transform == "logit":
        return name, p.low, p.high, "lin", p.initial
    span = 1e6 * (abs(p.initial) + 1)
    return name, p.initial - span, p.initial + span, "lin", p.initial


def _baseline(table: pd.DataFrame, ids: list, pop: PopulationModel) -> pd.DataFrame:
    """One row per subject: its first value of each covariate the covariate model reads."""
    cov = pop.covariates
    cols = list(cov.covariates) if cov is not None else []
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise InputError(f"covariate column {missing[0]!r} is not in the dataset")
    from ..datasets.plan import _plain

    groups = {_plain(k): g for k, g in table.groupby("ID", sort=False)}
    rows = []
    for sid in ids:
        group, rec = groups[sid], {}
        for c in cols:
            values = group[c].dropna()
            if values.empty:
                raise InputError(f"subject {sid} has no value of covariate {c!r}")
            if values.nunique() > 1:
                raise InputError(f"covariate {c!r} changes within subject {sid}: the population model reads one "
                                 "value per subject (time-varying covariates are not supported)")
            rec[c] = values.iloc[0]
        rows.append(rec)
    return pd.DataFrame(rows, columns=cols, index=pd.Index(ids, name="ID"))


def _warn_slow_parameters(model, pop: PopulationModel) -> None:
    """Warn when an estimated parameter is read by an initial assignment that qsp cannot evaluate itself
    (e.g. the initial value of a rate-rule variable): libRoadRunner then regenerates the model at every
    simulation, tens of times slower."""
    import warnings

    from ..errors import QSPWarning

    inputs = getattr(model, "_ia_inputs", None) or set()
    if getattr(model, "_ia_plan", None) is not None:
        return
    slow = [n for n in pop.names if n in inputs]
    if slow:
        warnings.warn(f"estimated parameter(s) {', '.join(slow)} set initial values through initial assignments "
                      f"that libRoadRunner evaluates by regenerating model {model.name!r}: every simulation of the fit "
                      "will be tens of times slower", QSPWarning, stacklevel=3)


def build_problem(model, data, pop: PopulationModel, *, kernels=(2, 2, 2), cmt_map=None, max_steps=None,
                  **options) -> Problem:
    """Check ``data`` and ``pop`` against ``model``; ``options`` are dataset-simulation options (``lag``,
    ``bioavailability``, ``rtol``, ``atol``, ``ss_tolerance`` ...)."""
    from ..datasets.simulate import _job_sbml
    from ..ensemble.job import sbml_key
    from ..fit.dataset_objective import DatasetObjective

    cmt_map = cmt_map if cmt_map is not None else pop.cmt
    _warn_slow_parameters(model, pop)
    ds = _dataset(data, pop, cmt_map)
    if pop.covariates is not None:
        pop.covariates.check(model)
    specs = [_estimate_spec(k, p) for k, p in pop.parameters.items()]
    dist = "lognormal" if pop.error == "exponential" else "normal"
    obj = DatasetObjective(model, ds, observe=pop.observe, estimate=specs, error="additive", sigma={"add": 1.0},
                           distribution=dist, params=dict(pop.params), cmt_map=cmt_map, **options)
    meas = obj.measurements.reset_index(drop=True)
    where = {}
    for i, plan in enumerate(obj.plans):
        for k, r in enumerate(plan.rows[plan.output_row >= 0]):
            where[int(r)] = (i, k)
    pos = np.array([where[int(r)] for r in meas["row"]], dtype=int).reshape(-1, 2)
    meas["subject_index"] = pos[:, 0]
    out_col = np.array([obj.outputs.index(o) for o in meas["output"]], dtype=int)
    subjects = []
    for i, plan in enumerate(obj.plans):
        sel = np.flatnonzero(pos[:, 0] == i)
        if not len(sel):
            raise InputError(f"subject {plan.subject} has no observation to fit (EVID 0, MDV 0, DV present)")
        subjects.append(SubjectData(plan.subject, plan, pos[sel, 1], out_col[sel],
                                    meas["measurement"].to_numpy(float)[sel], meas["censored"].to_numpy(bool)[sel]))
    ids = [s.subject for s in subjects]
    baseline = _baseline(ds.to_pandas(), ids, pop)
    c, o = pop.design(baseline)
    sbml = _job_sbml(model)
    job = PopulationJob(sbml, model.name, dict(model.metadata), sbml_key(sbml), tuple(obj.outputs),
                        tuple(sorted(obj.base.items())), obj.rtol, obj.atol, obj.ss_tolerance, tuple(pop.names),
                        pop.transforms, pop.ranges, pop.error, tuple(int(k) for k in kernels), max_steps)
    return Problem(pop, ds, subjects, baseline, c, o, meas, job)


def initial_sigma(pop: PopulationModel, problem: Problem) -> np.ndarray:
    """(a, b): the spec's initial residual error, else a = 10 % of the mean |DV| (0.3 on the log scale), b = 0.3."""
    y = np.concatenate([s.y for s in problem.subjects])
    mean_abs = float(np.mean(np.abs(y))) if len(y) else 1.0
    a = pop.sigma.get("add", 0.3 if pop.error == "exponential" else 0.1 * mean_abs or 1.0)
    b = pop.sigma.get("prop", 0.3)
    if pop.error == "proportional":
        a = 0.0
    if pop.error in ("additive", "exponential"):
        b = 0.0
    if not all(math.isfinite(v) for v in (a, b)):
        raise InputError("the initial residual error is not finite")
    return np.array([float(a), float(b)])
