"""Simulated trials: every regimen across a virtual population in one ensemble call, then response rates."""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import ensemble
from ..dosing import Dose
from ..ensemble.metrics import Metric, as_metrics
from ..errors import QSPError, QSPWarning
from ..memory_limits import check_memory, ensemble_bytes
from ..option_names import offered, option
from .rates import fisher_exact, newcombe_difference, wilson_interval
from .responses import CATEGORIES, best_percent_change, classify_recist, grade_crs
from .result import parameter_names, pp_table
from .trial_result import TrialResult
from .weighting import effective_sample_size

__all__ = ["simulate_trial", "response_rates", "compare_arms"]


def _parameter_columns(model, table: pd.DataFrame, parameters, saved, others: bool = False) -> list[str]:
    """The parameter columns of the table; ``others``: the table has body-weight or covariate columns, so
    none is allowed."""
    if parameters is not None:
        missing = [p for p in parameters if p not in table.columns]
        if missing:
            raise QSPError(f"parameter column {missing[0]!r} is not in the virtual-population table")
        return list(parameters)
    if saved:  # the parameter list the generator recorded
        return [p for p in saved if p in table.columns]
    ids = set(model.parameters.index) | set(model.compartments.index) | set(model.species.index)
    cols = [c for c in table.columns if c in ids or (c.startswith("[") and c[1:-1] in ids)]
    if not cols and not others:
        advice = f"; pass {option('parameters')}" if offered("parameters") else " (name them after the model's ids)"
        raise QSPError(f"no column of the virtual-population table is a parameter of the model{advice}")
    return cols


def _individual_columns(table: pd.DataFrame, cols: list[str], body_weight, covariate_model) -> list[str]:
    """Columns besides the parameters that the simulation reads: the body weight and the covariates."""
    wanted = [body_weight if isinstance(body_weight, str) else "body_weight"]
    if covariate_model is not None:
        missing = [c for c in covariate_model.covariates if c not in table.columns]
        if missing:
            raise QSPError(f"covariate column {missing[0]!r} is not in the virtual-population table")
        wanted += covariate_model.covariates
    if isinstance(body_weight, str) and body_weight not in table.columns:
        raise QSPError(f"body_weight={body_weight!r} is not a column of the virtual-population table")
    return [c for c in dict.fromkeys(wanted) if c in table.columns and c not in cols]


def _typical(fixed: dict, covariate_model) -> dict | None:
    """The ``fixed`` values of parameters the covariate model sets: their typical values."""
    if covariate_model is None:
        return None
    return {k: v for k, v in fixed.items() if k in getattr(covariate_model, "parameters", ())} or None


def _regimens(model, regimens, fixed) -> dict:
    if isinstance(regimens, str):
        regimens = [regimens]
    if isinstance(regimens, (list, tuple)) and all(isinstance(r, str) for r in regimens):
        regimens = {r: r for r in regimens}
    if not isinstance(regimens, Mapping) or not regimens:
        raise QSPError("regimens must be a regimen name, a list of names or a mapping arm -> regimen")
    out = {}
    for arm, spec in regimens.items():
        if isinstance(spec, str):
            doses, params = model.regimen(spec)
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Mapping):
            doses, params = spec
        elif isinstance(spec, Dose) or isinstance(spec, (list, tuple)):
            doses, params = spec, {}
        else:
            raise QSPError(f"regimen of arm {arm!r} must be a name, doses or (doses, params). Got {spec!r}.")
        out[str(arm)] = (list(doses) if not isinstance(doses, Dose) else [doses], {**dict(params), **fixed})
    return out


def simulate_trial(model, vps, regimens, *, tumour: str, baseline: float = 0.0, until: float | None = None,
                   assess_every: float | None = None, assessments=None,
                   t_end: float | None = None, points: int | None = None, fixed: Mapping | None = None,
                   parameters=None, floor: float | None = None, cr: float = -100.0, pr: float = -30.0,
                   pd_threshold: float = 20.0, cytokine: str | None = None, crs_thresholds=None,
                   metrics=(), weights=None, responders=("CR", "PR"), confidence: float = 0.95,
                   backend="serial", chunk_size: int = 256, seed: int | None = 0, progress: bool | None = None,
                   out=None, body_weight: float | str | None = None, covariate_model=None) -> TrialResult:
    """Simulate each regimen across a virtual population and classify every patient's response.

    Parameters
    ----------
    model : qsp.Model
    vps : VirtualPopulation, PrevalenceWeights, PlausiblePatients or DataFrame
        Patients (one row each); the parameter columns are ``parameters`` or the columns that are model ids.
        A ``body_weight`` column (kg) is each patient's body weight for per-kg doses, and the covariate
        columns of ``covariate_model`` are each patient's covariates; both are kept in ``patients``.
    regimens : mapping arm -> regimen name | doses | (doses, params), or a list of regimen names
    tumour : str
        Output whose curve is classified (e.g. ``"TV_tot"``).
    baseline : float
        Time of the baseline value (model time unit), e.g. the first treatment day.
    until : float, optional
        Last time considered for the best response (default ``t_end``).
    assess_every : float, optional
        Read the tumour only at visits ``baseline + k * assess_every`` (k = 1, 2, ...; model time unit),
        as a trial does; default: at every output time. See :mod:`qsp.vpop.responses`.
    assessments : sequence of float, optional
        Explicit visit times instead of ``assess_every``.
    t_end, points : float, int, optional
        Simulation grid (default: the model metadata's).
    fixed : mapping, optional
        Overrides applied in every arm (e.g. ``{"cure_on": 1}``).
    floor : float, optional
        Detection limit: a nadir at or below it is a CR (model units).
    cr, pr, pd_threshold : float
        RECIST-like thresholds in % (see :mod:`qsp.vpop.responses`).
    cytokine : str, optional
        Output whose peak is graded with ``crs_thresholds`` (increasing values, model units).
    metrics : sequence of Metric or str
        Extra per-patient metrics to report.
    weights : array, str or True, optional
        Prevalence weights: an array in patient order, the name of a column, or True for the ``weight``
        column. Weighted rates use the effective sample size in their intervals.
    responders : sequence of str
        Categories that count as response (default CR and PR: objective response).
    confidence : float
        Level of the intervals.
    backend, chunk_size, seed : ensemble options
    progress : bool, optional
        Progress bar of the simulations on stderr (default: only when stderr is a terminal).
    out : path, optional
        Keep the simulations in this Parquet directory; a rerun with the same inputs reuses them.
    body_weight : float or str, optional
        kg for per-kg doses, or the column of the table holding each patient's kg (default: the
        ``body_weight`` column if there is one, else the model metadata's ``body_weight``).
    covariate_model : qsp.CovariateModel, optional
        Sets each patient's parameters from their covariates (the typical value is the patient's own
        parameter column if there is one, else ``fixed``, else the model's value); see
        :func:`qsp.ensemble.run`.

    Returns
    -------
    TrialResult

    Raises
    ------
    InputError
        Bad arms, weights or thresholds, or a trial above the memory bound (patients x arms x output
        points, or x visits with a very small ``assess_every``).
    """
    started = time.perf_counter()
    table = pp_table(vps)
    others = covariate_model is not None or isinstance(body_weight, str) or "body_weight" in table.columns
    cols = _parameter_columns(model, table, parameters, parameter_names(vps), others)
    fixed = dict(fixed or {})
    arms = _regimens(model, regimens, fixed)
    if weights is True:
        weights = "weight"
    if isinstance(weights, str):
        if weights not in table.columns:
            raise QSPError(f"column {weights!r} (the prevalence weights) is not in the virtual-population table; "
                           "weight the plausible patients first (qsp vpop weight, or qsp.vpop.weight)")
        weights = table[weights].to_numpy(float)
    if weights is not None:
        weights = np.asarray(weights, float)
        if weights.shape != (len(table),) or (weights < 0).any() or not np.isfinite(weights).all():
            raise QSPError(f"weights must be {len(table)} finite non-negative numbers")
    bad = [r for r in responders if r not in CATEGORIES]
    if bad:
        raise QSPError(f"responders must be among {CATEGORIES}. Got {bad[0]!r}.")
    extra = list(as_metrics(metrics))
    mets = extra + [Metric("final", tumour, name="final")]
    if cytokine:
        mets.append(Metric("cmax", cytokine, name="cytokine_peak"))
    people = _individual_columns(table, cols, body_weight, covariate_model)
    samples = table[cols + people].reset_index(drop=True)
    _check_size(model, len(samples) * len(arms), t_end, points, baseline, until, assess_every, assessments)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QSPWarning)  # failures are reported per arm below
        res = ensemble.run(model, samples, regimens=arms, metrics=mets, t_end=t_end, points=points,
                           trajectories=[tumour], backend=backend, chunk_size=chunk_size, seed=seed,
                           progress=progress, out=out, body_weight=body_weight, covariate_model=covariate_model,
                           params=_typical(fixed, covariate_model))
    t = res.table
    traj = res.trajectories
    grid = np.sort(traj["time"].unique())
    curves = traj.pivot(index="task", columns="time", values=tumour).reindex(index=t["task"], columns=grid)
    visits = _visits(assess_every, assessments, baseline, grid[-1] if until is None else min(until, grid[-1]))
    y0, nadir, best = best_percent_change(grid, curves.to_numpy(float), baseline, until, assessments=visits)
    ok = (t["status"] == "ok").to_numpy()
    best[~ok] = np.nan
    category = classify_recist(best, nadir=nadir, floor=floor, cr=cr, pr=pr, pd=pd_threshold)
    category[~ok] = ""
    patients = pd.DataFrame({"task": t["task"], "patient": t["sample"], "regimen": t["regimen"],
                             "status": t["status"], "message": t["message"]})
    if "pp" in table.columns:
        patients.insert(2, "pp", table["pp"].to_numpy()[t["sample"].to_numpy()])
    set_by_covariates = [] if covariate_model is None else [p for p in covariate_model.parameters if p not in cols]
    for c in cols + people + set_by_covariates:
        patients[c] = t[c].to_numpy()
    patients["baseline"] = np.where(ok, y0, np.nan)
    patients["nadir"] = np.where(ok, nadir, np.nan)
    patients["best_percent_change"] = best
    patients["final"] = t["final"].to_numpy()
    patients["category"] = category
    patients["responder"] = np.isin(category, list(responders)) & ok
    if cytokine:
        patients["cytokine_peak"] = t["cytokine_peak"].to_numpy()
        if crs_thresholds is not None:
            patients["crs_grade"] = np.where(ok, grade_crs(patients["cytokine_peak"], crs_thresholds), -1)
    for m in extra:
        patients[m.name] = t[m.name].to_numpy()
    patients["weight"] = (weights[t["sample"].to_numpy()] if weights is not None else 1.0)
    traj = traj.merge(patients[["task", "patient", "regimen"]], on="task")
    base = dict(zip(patients["task"], patients["baseline"]))
    traj["percent_change"] = 100.0 * (traj[tumour] / traj["task"].map(base) - 1.0)
    rates = response_rates(patients, weighted=weights is not None, confidence=confidence,
                           crs=bool(cytokine and crs_thresholds is not None))
    comparisons = compare_arms(patients, weighted=weights is not None, confidence=confidence)
    rule = {"tumour": tumour, "baseline": baseline, "until": until,
            "assessments": None if visits is None else [float(v) for v in visits], "floor": floor, "cr": cr, "pr": pr,
            "pd": pd_threshold, "responders": list(responders), "cytokine": cytokine,
            "crs_thresholds": None if crs_thresholds is None else list(map(float, crs_thresholds)),
            "confidence": confidence, "fixed": fixed}
    return TrialResult(patients, rates, comparisons, traj, rule=rule, n_failed=res.n_failed,
                       wall_seconds=time.perf_counter() - started, weighted=weights is not None)


def _check_size(model, tasks: int, t_end, points, baseline, until, every, times) -> None:
    """Refuse a trial whose simulations, kept tumour curves or visit readings exceed the memory bound."""
    if points is None:
        points = model.metadata.get("points") or 101
    end = until if until is not None else (t_end if t_end is not None else model.metadata.get("t_end"))
    visits = 0.0
    if every is not None and end is not None:
        try:
            visits = max(0.0, (float(end) - float(baseline)) / float(every))
        except (TypeError, ValueError, ZeroDivisionError):
            visits = 0.0  # refused with its own message below
    elif times is not None:
        visits = float(np.size(times))
    size = ensemble_bytes(tasks, trajectory_points=points, grid_points=points) + 16.0 * tasks * visits
    parts = [f"{tasks} simulations", option("points", points)] + ([option("assess_every", every)] if every else [])
    check_memory(size, ", ".join(parts), "use fewer output points or visits, or fewer patients")


def _visits(every, times, baseline: float, end: float):
    """Assessment times from ``assess_every`` or ``assessments`` (None: every output time)."""
    if every is not None and times is not None:
        raise QSPError("give assess_every or assessments, not both")
    if every is not None:
        try:
            every = float(every)
        except (TypeError, ValueError):
            raise QSPError(f"assess_every must be a number of time units. Got {every!r}.") from None
        if not every > 0:
            raise QSPError(f"assess_every must be > 0. Got {every!r}.")
        k = np.arange(1, int(np.floor((end - baseline) / every + 1e-9)) + 1)
        return baseline + every * k
    if times is not None:
        try:
            times = np.asarray(times, float).ravel()
        except (TypeError, ValueError):
            raise QSPError(f"assessments must be a sequence of times. Got {times!r}.") from None
        return np.sort(times)
    return None


def _rate_row(flags: np.ndarray, w: np.ndarray, weighted: bool, confidence: float) -> dict:
    n = len(flags)
    if n == 0:
        return {"count": 0, "rate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n_eff": 0.0}
    if weighted:
        total = w.sum()
        rate = float((w * flags).sum() / total) if total > 0 else np.nan
        n_eff = effective_sample_size(w)
        lo, hi = wilson_interval(rate * n_eff, n_eff, confidence) if n_eff > 0 else (np.nan, np.nan)
    else:
        rate, n_eff = float(flags.mean()), float(n)
        lo, hi = wilson_interval(float(flags.sum()), n, confidence)
    return {"count": int(flags.sum()), "rate": rate, "ci_low": lo, "ci_high": hi, "n_eff": n_eff}


def response_rates(patients: pd.DataFrame, *, weighted: bool = False, confidence: float = 0.95,
                   crs: bool = False) -> pd.DataFrame:
    """Per arm and endpoint (each category, 'response', CRS grades): count, rate and interval.

    Failed simulations are left out of the denominators and counted in ``n_failed``.
    """
    rows = []
    for arm, grp in patients.groupby("regimen", sort=False):
        ok = grp[grp["status"] == "ok"]
        w = ok["weight"].to_numpy(float)
        ends = [(c, (ok["category"] == c).to_numpy()) for c in CATEGORIES]
        ends.append(("response", ok["responder"].to_numpy(bool)))
        if crs:
            top = int(ok["crs_grade"].to_numpy().max(initial=0))
            ends += [(f"crs_grade>={g}", (ok["crs_grade"] >= g).to_numpy()) for g in range(1, top + 1)]
        for name, flags in ends:
            rows.append({"regimen": arm, "endpoint": name, "n": len(ok), "n_failed": len(grp) - len(ok),
                         **_rate_row(flags.astype(float), w, weighted, confidence), "weighted": weighted})
    return pd.DataFrame(rows)


def compare_arms(patients: pd.DataFrame, *, weighted: bool = False, confidence: float = 0.95) -> pd.DataFrame:
    """Every pair of arms: difference in response rate (first minus second) with Newcombe's interval,
    and Fisher's exact p-value (unweighted only)."""
    rows = []
    arms = list(dict.fromkeys(patients["regimen"]))
    stats_ = {}
    for arm in arms:
        ok = patients[(patients["regimen"] == arm) & (patients["status"] == "ok")]
        flags = ok["responder"].to_numpy(float)
        w = ok["weight"].to_numpy(float)
        if weighted:
            n = effective_sample_size(w)
            k = float((w * flags).sum() / w.sum()) * n if w.sum() > 0 else 0.0
        else:
            n, k = float(len(ok)), float(flags.sum())
        stats_[arm] = (k, n)
    for a, b in itertools.combinations(arms, 2):
        (k1, n1), (k2, n2) = stats_[a], stats_[b]
        if n1 == 0 or n2 == 0:
            continue
        d, lo, hi = newcombe_difference(k1, n1, k2, n2, confidence)
        p = np.nan if weighted else fisher_exact(int(k1), int(n1), int(k2), int(n2))
        rows.append({"arm": a, "versus": b, "rate_arm": k1 / n1, "rate_versus": k2 / n2, "difference": d,
                     "ci_low": lo, "ci_high": hi, "fisher_p": p})
    return pd.DataFrame(rows, columns=["arm", "versus", "rate_arm", "rate_versus", "difference", "ci_low",
                                       "ci_high", "fisher_p"])
