"""Continuous dose (and schedule) search with NSGA-II: a pymoo ``Problem`` that hands every
population to :func:`qsp.ensemble.run` as one table of regimens.

Decision variables: the two treatment levels, optionally schedule variables (``every1``, ``every2``,
``time1``, ``time2``, rounded to ``schedule_step``). Objectives (all minimised) are any of the
MOOCS-DS indices ``loewe``, ``lsd``, ``hsa``, ``bliss``, plus ``tgi`` (minimises 1 - TGI), ``dose``
(EC50-normalised weighted total dose) and ``metric:NAME`` for an extra model metric such as a
toxicity AUC. An optional constraint keeps TGI >= ``tgi_min``. The algorithm and termination stay
pymoo's (Blank & Deb 2020, doi:10.1109/ACCESS.2020.2990567; Deb et al. 2002, doi:10.1109/4235.996017).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pymoo.core.problem import Problem

from ..errors import QSPError
from .pareto import non_dominated
from .result import TableResult
from ..memory_limits import check_memory, ensemble_bytes
from ..option_names import option
from .grid import default_mono_levels
from .mono import MonoCurve, check_rising
from .treatment import Response, Treatment

__all__ = ["OptimizationResult", "SynergyProblem", "nsga2"]

_SCHEDULE_VARS = {"every1": (1, "every"), "every2": (2, "every"), "time1": (1, "time"), "time2": (2, "time")}
_INDICES = ("loewe", "lsd", "hsa", "bliss")


class SynergyProblem(Problem):
    """Two-treatment combination search as a pymoo problem.

    Parameters
    ----------
    model : qsp.Model
    treatment1, treatment2 : Treatment
        The two axes and their default schedules.
    bounds1, bounds2 : (float, float)
        Dose boxes of the treatments.
    objectives : sequence of str, default ('loewe', 'hsa')
        From ``loewe, lsd, hsa, bliss, tgi, dose, metric:NAME``.
    response : str, default 'tgi:W:35'
        Efficacy, as in :func:`simulate_surface`.
    extra_metrics : sequence of str or Metric
        Metrics available to ``metric:NAME`` objectives (NAME = the metric's column name).
    schedule_bounds : dict, optional
        Schedule variables, e.g. ``{"every1": (1, 5), "every2": (1, 5)}`` (model time unit).
    schedule_step : float, default 1
        Schedule variables are rounded to this step (so the single-treatment curves needed for the
        potency indices are simulated once per distinct schedule and cached).
    tgi_min : float, optional
        Constraint effect >= tgi_min.
    params : dict, optional
        Fixed parameter overrides (e.g. a cell line).
    weights : (float, float)
        LSD / ``dose`` weights of the normalised doses.
    undefined_potency : {'exclude', 'zero'}, default 'exclude'
        Where a treatment alone cannot reach the combination's effect the potency indices are undefined:
        'exclude' penalises the ``loewe``/``lsd`` objectives there (as a failed point), 'zero' uses their
        limit values (see :func:`qsp.synergy.moocs`).
    mono_points, mono_factor
        Dense single-treatment levels per schedule (see :func:`simulate_surface`).
    t_end, points, rtol, atol, backend, seed
        Passed to :func:`qsp.ensemble.run`.

    Attributes
    ----------
    objective_columns : list of str
        Column names of the objectives in result tables: the objective, ``1-tgi`` for ``tgi`` and
        NAME for ``metric:NAME``.
    history_ : list of DataFrame
        Every evaluated population: variables, objectives, the schedule values actually simulated
        (``<name>_used``, rounded to ``schedule_step``), tgi (``effect`` when the response is not a TGI)
        and the run status.
    """

    def __init__(self, model, treatment1: Treatment, treatment2: Treatment, *, bounds1, bounds2,
                 objectives=("loewe", "hsa"), response="tgi:W:35", extra_metrics=(), schedule_bounds=None,
                 schedule_step: float = 1.0, tgi_min: float | None = None, params: dict | None = None,
                 weights=(1.0, 1.0), mono_points: int = 60, mono_factor: float = 20.0, t_end=None, points=None,
                 rtol: float = 1e-8, atol: float = 1e-12, backend="serial", seed: int | None = 0,
                 undefined_potency: str = "exclude"):
        from ..ensemble.metrics import as_metrics
        from .moocs import check_undefined_potency

        self.undefined_potency = check_undefined_potency(undefined_potency)
        objectives = tuple(objectives)
        for o in objectives:
            if o not in _INDICES + ("tgi", "dose") and not o.startswith("metric:"):
                raise QSPError(f"unknown objective {o!r}; use loewe, lsd, hsa, bliss, tgi, dose or metric:NAME")
        self.extra = as_metrics(extra_metrics)
        names = {m.name for m in self.extra}
        for o in objectives:
            if o.startswith("metric:") and o[7:] not in names:
                raise QSPError(f"objective {o!r} needs extra_metrics with a metric named {o[7:]!r}; "
                               f"have {sorted(names)}")
        sched = dict(schedule_bounds or {})
        for k in sched:
            if k not in _SCHEDULE_VARS:
                raise QSPError(f"unknown schedule variable {k!r}; use {', '.join(_SCHEDULE_VARS)}")
        self.model, self.treatments = model, (treatment1, treatment2)
        self.objectives, self.response = objectives, Response.parse(response)
        self.schedule_vars = tuple(sched)
        self.schedule_step, self.tgi_min = schedule_step, tgi_min
        self.params, self.weights = dict(params or {}), tuple(float(w) for w in weights)
        self.mono_points, self.mono_factor = mono_points, mono_factor
        self.run_options = {"t_end": t_end, "points": points, "rtol": rtol, "atol": atol, "backend": backend,
                            "seed": seed}
        self.objective_columns = ["1-tgi" if o == "tgi" else o.removeprefix("metric:")
                                  for o in objectives]
        self.dose_bounds = (tuple(bounds1), tuple(bounds2))
        if isinstance(mono_points, bool) or not isinstance(mono_points, (int, np.integer)) or mono_points < 1:
            raise QSPError(f"mono_points must be a positive integer. Got {mono_points!r}.")
        check_memory(ensemble_bytes(2 * (mono_points + 3), n_regimens=2 * (mono_points + 3)),
                     f"mono_points={mono_points}", "use fewer dense levels")
        xl = [bounds1[0], bounds2[0]] + [sched[k][0] for k in self.schedule_vars]
        xu = [bounds1[1], bounds2[1]] + [sched[k][1] for k in self.schedule_vars]
        super().__init__(n_var=len(xl), n_obj=len(objectives), n_ieq_constr=0 if tgi_min is None else 1,
                         xl=np.array(xl, float), xu=np.array(xu, float))
        self._mono: dict = {}
        self._control: float | None = None
        self.history_: list[pd.DataFrame] = []

    # ------------------------------------------------------------------ regimens and curves
    @property
    def variable_names(self) -> list[str]:
        return ["d1", "d2", *self.schedule_vars]

    def _schedule_key(self, x) -> tuple:
        vals = []
        for k, v in zip(self.schedule_vars, x[2:]):
            step = self.schedule_step
            vals.append(float(np.round(v / step) * step) if step else float(v))
        return tuple(vals)

    def _treatments_for(self, key: tuple) -> tuple[Treatment, Treatment]:
        t = list(self.treatments)
        changes = ({}, {})
        for (name, value) in zip(self.schedule_vars, key):
            which, fld = _SCHEDULE_VARS[name]
            changes[which - 1][fld] = value
        return tuple(tt.with_schedule(**c) if c else tt for tt, c in zip(t, changes))

    def _regimen(self, t1: Treatment, t2: Treatment, a: float, b: float):
        da, pa = t1.part(a) if a or t1.parameter else ([], {})
        db, pb = t2.part(b) if b or t2.parameter else ([], {})
        return da + db, {**self.params, **pa, **pb}

    def _run(self, regs: dict, metrics):
        from .. import ensemble

        return ensemble.run(self.model, None, regimens=regs, metrics=metrics, progress=False, **self.run_options)

    def _effect(self, raw: np.ndarray) -> np.ndarray:
        if self.response.kind == "tgi":
            return (self._control - raw) / self._control
        return raw

    def _ensure_curves(self, keys) -> None:
        need_potency = any(o in ("loewe", "lsd", "dose") for o in self.objectives)
        missing = [k for k in dict.fromkeys(keys) if k not in self._mono] if need_potency else []
        if self._control is None or missing:
            regs = {"control": self._regimen(*self.treatments, 0.0, 0.0)}
            levels = {}
            for n, key in enumerate(missing):
                t1, t2 = self._treatments_for(key)
                m1 = default_mono_levels(np.array(self.dose_bounds[0], float), self.mono_points, self.mono_factor)
                m2 = default_mono_levels(np.array(self.dose_bounds[1], float), self.mono_points, self.mono_factor)
                levels[key] = (m1, m2)
                for k, a in enumerate(m1):
                    regs[f"s{n}_m1_{k}"] = self._regimen(t1, t2, a, 0.0)
                for k, b in enumerate(m2):
                    regs[f"s{n}_m2_{k}"] = self._regimen(t1, t2, 0.0, b)
            res = self._run(regs, [self.response.metric])
            raw = res.table[res.metrics[0]].to_numpy(float)
            self._control = float(raw[0])
            if not np.isfinite(self._control):
                raise QSPError(f"the untreated control simulation failed: {res.table['message'][0]}")
            pos = 1
            for key in missing:
                m1, m2 = levels[key]
                e1 = self._effect(raw[pos:pos + m1.size])
                pos += m1.size
                e2 = self._effect(raw[pos:pos + m2.size])
                pos += m2.size
                what = option("response", self.response.text)
                for m, e, t in ((m1, e1, self.treatments[0]), (m2, e2, self.treatments[1])):  # from dose 0
                    check_rising(m, e, t.label, what, self.response.metric)
                c1, c2 = MonoCurve(m1, e1), MonoCurve(m2, e2)
                self._mono[key] = (c1, c2, c1.ec(0.5), c2.ec(0.5))

    # ------------------------------------------------------------------ pymoo hook
    def _evaluate(self, X, out, *args, **kwargs):
        X = np.atleast_2d(np.asarray(X, float))
        keys = [self._schedule_key(x) for x in X]
        self._ensure_curves(keys)
        need_single = any(o in ("hsa", "bliss") for o in self.objectives)
        regs = {}
        for r, (x, key) in enumerate(zip(X, keys)):
            t1, t2 = self._treatments_for(key)
            regs[f"c{r}"] = self._regimen(t1, t2, x[0], x[1])
            if need_single:
                regs[f"a{r}"] = self._regimen(t1, t2, x[0], 0.0)
                regs[f"b{r}"] = self._regimen(t1, t2, 0.0, x[1])
        res = self._run(regs, [self.response.metric, *self.extra])
        tab = res.table
        per = 3 if need_single else 1
        raw = tab[res.metrics[0]].to_numpy(float).reshape(len(X), per)
        E = self._effect(raw[:, 0])
        d1, d2 = X[:, 0], X[:, 1]
        cols = {"tgi": E}
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_single:
                E1, E2 = self._effect(raw[:, 1]), self._effect(raw[:, 2])
                cols["hsa"] = np.maximum(E1, E2) / E
                cols["bliss"] = (E1 + E2 - E1 * E2) / E
            if any(o in ("loewe", "lsd", "dose") for o in self.objectives):
                D1, D2, ec1, ec2 = (np.empty(len(X)) for _ in range(4))
                for r, key in enumerate(keys):
                    c1, c2, ec1[r], ec2[r] = self._mono[key]
                    D1[r], D2[r] = c1.inverse(E[r]), c2.inverse(E[r])
                w1, w2 = self.weights
                cols["loewe"] = np.where(d1 == 0, 0, d1 / D1) + np.where(d2 == 0, 0, d2 / D2)
                cols["lsd"] = (w1 * d1 / ec1 + w2 * d2 / ec2) / np.fmin(D1 / ec1, D2 / ec2)
                cols["dose"] = w1 * d1 / ec1 + w2 * d2 / ec2
                if self.undefined_potency == "exclude":
                    undefined = ~np.isfinite(D1) | ~np.isfinite(D2)
                    cols["loewe"] = np.where(undefined, np.nan, cols["loewe"])
                    cols["lsd"] = np.where(undefined, np.nan, cols["lsd"])
        bad = ~np.isfinite(E) | (E <= 0)
        F = np.empty((len(X), len(self.objectives)))
        for k, o in enumerate(self.objectives):
            if o == "tgi":
                v = 1.0 - E
            elif o.startswith("metric:"):
                v = tab[o[7:]].to_numpy(float).reshape(len(X), per)[:, 0]
            else:
                v = cols[o]
            F[:, k] = np.where(bad | ~np.isfinite(v), 1e6, v)  # failed or ineffective: heavily penalised
        out["F"] = F
        if self.tgi_min is not None:
            out["G"] = np.where(np.isfinite(E), self.tgi_min - E, 1e6)[:, None]
        hist = pd.DataFrame(X, columns=self.variable_names)
        for k, o in enumerate(self.objective_columns):
            hist[o] = F[:, k]
        for k, name in enumerate(self.schedule_vars):  # the values actually simulated (rounded)
            hist[f"{name}_used"] = [key[k] for key in keys]
        hist[self.response.column] = E
        hist["status"] = tab["status"].to_numpy().reshape(len(X), per)[:, 0]
        self.history_.append(hist)


class OptimizationResult(TableResult):
    """Final non-dominated solutions (one row each: variables, objectives, feasibility).

    Attributes
    ----------
    table : DataFrame
    pymoo_result : pymoo.core.result.Result
    """

    def __init__(self, table: pd.DataFrame, info: dict, pymoo_result=None):
        self.table = table.reset_index(drop=True)
        self.info = info
        self.pymoo_result = pymoo_result

    @property
    def F(self) -> np.ndarray:
        return self.table[self.info["objectives"]].to_numpy(float)

    def _facts(self) -> str:
        i = self.info
        return (f"{i['algorithm']}, {len(self.table)} non-dominated solutions of {i['n_evaluations']} evaluations, "
                f"objectives {', '.join(i['objectives'])}, seed {i['seed']}")

    def plot(self, ax=None, *, objectives=None, reference=None):
        """The front in two objectives (optionally over a reference cloud, e.g. a grid MOOCS table)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        ox, oy = objectives or self.info["objectives"][:2]
        if reference is not None:
            ax.scatter(reference[ox], reference[oy], s=6, c="0.75", label="grid dose pairs")
        t = self.table.sort_values(ox)
        ax.plot(t[ox], t[oy], "o", ms=4, c="tab:green", label="NSGA-II front")
        ax.set_xlabel(ox)
        ax.set_ylabel(oy)
        ax.legend(fontsize=7)
        return ax


def nsga2(problem: Problem, *, pop_size: int = 40, n_gen: int = 30, seed: int = 1, algorithm=None,
          termination=None, verbose: bool = False) -> OptimizationResult:
    """Run pymoo's NSGA-II (or ``algorithm``) on ``problem`` and return the non-dominated solutions.

    Parameters
    ----------
    problem : pymoo Problem
        A :class:`SynergyProblem` or any pymoo problem.
    pop_size, n_gen : int
        Population size and generations (used when ``algorithm``/``termination`` are not given).
    seed : int
        pymoo seed (same seed, same result).
    algorithm, termination : optional
        pymoo objects to use instead.
    """
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.optimize import minimize

    if isinstance(pop_size, bool) or not isinstance(pop_size, int) or pop_size < 4:
        raise QSPError(f"pop_size must be an integer >= 4. Got {pop_size!r}.")
    per_point = 3 if isinstance(problem, SynergyProblem) else 0  # the combination and each drug alone
    check_memory(ensemble_bytes(per_point * pop_size, n_regimens=per_point * pop_size)
                 + 8.0 * 16 * pop_size * (problem.n_var + problem.n_obj), f"pop_size={pop_size}",
                 "use a smaller population")
    alg = algorithm if algorithm is not None else NSGA2(pop_size=pop_size)
    term = termination if termination is not None else ("n_gen", int(n_gen))
    res = minimize(problem, alg, term, seed=seed, verbose=verbose)
    X = np.atleast_2d(res.X) if res.X is not None else np.empty((0, problem.n_var))
    F = np.atleast_2d(res.F) if res.F is not None else np.empty((0, problem.n_obj))
    obj = list(getattr(problem, "objective_columns", [f"f{k + 1}" for k in range(problem.n_obj)]))
    var = list(getattr(problem, "variable_names", [f"x{k + 1}" for k in range(problem.n_var)]))
    table = pd.DataFrame(X, columns=var)
    for k, o in enumerate(obj):
        table[o] = F[:, k]
    keep = non_dominated(table[obj].to_numpy(float)) if len(table) else np.zeros(0, bool)
    table = table[keep]
    if isinstance(problem, SynergyProblem) and problem.history_:
        hist = pd.concat(problem.history_, ignore_index=True)
        merged = table.merge(hist.drop_duplicates(var), on=var + obj, how="left") if len(table) else table
        table = merged
    info = {"algorithm": type(alg).__name__, "objectives": obj, "variables": var, "seed": seed,
            "n_evaluations": int(res.algorithm.evaluator.n_eval) if res.algorithm is not None else 0}
    return OptimizationResult(table.sort_values(obj[0]), info, res)
