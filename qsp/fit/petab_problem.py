"""A PEtab v1 problem as a qsp :class:`~qsp.fit.objective.Objective`.

:class:`PetabObjective` reads the problem with the ``petab`` library (``from_yaml``), simulates each
condition pair of the measurement table once per evaluation on the model's warm libRoadRunner
instance (:mod:`qsp.fit.petab_conditions`), evaluates the observable and noise formulas over all
rows at once (:mod:`qsp.fit.petab_observables`) and sums PEtab's noise model terms
(:mod:`qsp.fit.noise`). Its gradient (and the Jacobian of its residuals) is exact through those
formulas and uses finite differences of the simulations only (:mod:`qsp.fit.petab_gradient`). It is
picklable: a worker rebuilds the compiled model on first use, once per distinct SBML text (a
per-process cache, as the ensemble workers keep).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._ids import unknown_id
from ..errors import InputError, SimulationError
from ..ensemble.job import sbml_key
from . import noise
from .objective import Objective, ParameterSpace, to_scale
from .petab_breakpoints import find_breakpoints
from .petab_conditions import STEADY_STATE_TOLERANCE, ConditionRunner, conditions_of, groups_of
from .petab_derivatives import PetabDerivatives
from .petab_gradient import FormulaDerivatives, Sensitivities
from .petab_observables import bind_rows, observables_of
from .petab_parameters import Pool, parameter_table
from .petab_read import PetabTables, read_problem, tables_of

__all__ = ["PetabObjective"]

_MODELS: dict = {}


def _model_for(sbml: str, name: str, location: str | None):
    """The compiled model of ``sbml``, one per distinct text in this process."""
    from ..model import Model

    key = sbml_key(sbml)
    model = _MODELS.get(key)
    if model is None:
        if len(_MODELS) > 8:
            _MODELS.clear()
        loc = location if location and os.path.exists(location) else None
        model = _MODELS[key] = Model(sbml, name=name, location=loc)
    return model


class PetabObjective(PetabDerivatives, Objective):
    """The negative log-likelihood of a PEtab v1 problem (plus its objective priors, if it has any).

    Build one with :meth:`from_yaml` (or :meth:`from_tables` from a ``petab.v1.Problem``).

    Attributes
    ----------
    space : ParameterSpace
        The estimated parameters (estimate = 1): ids, scales, bounds and nominal values on their scales.
    with_prior : bool
        Whether some estimated parameter has an objective prior (then :meth:`nllh` includes it).
    n_measurements : int
        Rows of the measurement table.
    name : str
        The problem's name (its YAML file's stem).
    differences : str
        How :meth:`gradient` and :meth:`jacobian` differentiate the simulations: ``"forward"`` (one
        simulation per parameter that a simulation reads) or ``"central"`` (two, more accurate).
    noise_residuals : bool
        Whether :meth:`residuals` adds one residual per measurement for estimated noise scales
        (:meth:`with_noise_residuals`).
    """

    def __init__(self, tables: PetabTables, *, rtol: float = 1e-8, atol: float = 1e-12,
                 ss_tolerance: float = STEADY_STATE_TOLERANCE, differences: str = "forward",
                 gradient_step: float | None = None):
        self.name = tables.name
        self._tables = tables
        self.rtol, self.atol = float(rtol), float(atol)
        if differences not in ("forward", "central"):
            raise InputError(f"differences must be 'forward' or 'central'; got {differences!r}")
        if gradient_step is not None and not (isinstance(gradient_step, (int, float)) and 0 < gradient_step < 1):
            raise InputError(f"gradient_step must be a number in (0, 1); got {gradient_step!r}")
        self.differences, self.gradient_step = differences, gradient_step
        model = _model_for(tables.sbml, tables.name, tables.location)
        self._table = parameter_table(tables.parameter_df)
        self.space: ParameterSpace = self._table.space
        self.with_prior = self._table.with_prior
        pool = Pool(self._table)
        settable = set(model._parameters) | set(model._compartments)
        model_params = {pid: i for i, pid in enumerate(self._table.ids) if pid in settable}
        mdf = tables.measurement_df
        self.n_measurements = len(mdf)
        if not len(mdf):
            raise InputError(f"PEtab problem {self.name!r} has no measurements")
        groups, self._rows = groups_of(mdf)
        selected: dict[str, int] = {"time": 0}
        quantities = model._selectors | model._assigned

        def resolve(name: str):
            if name in quantities:
                sel = _species_selector(model, name)
                return "sel", selected.setdefault(sel, len(selected))
            if name in pool:
                return "pool", pool.of(name, name)
            return None

        self._observables = observables_of(tables.observable_df, resolve)
        bind_rows(self._observables, mdf, pool)
        self._measured = mdf["measurement"].to_numpy(dtype=float)
        self._times = mdf["time"].to_numpy(dtype=float)
        self._check_measurements()
        needed = {g.sim for g in groups} | {g.preeq for g in groups if g.preeq}
        conditions = conditions_of(tables.condition_df, needed, model, pool, model_params)
        self._runner = ConditionRunner(conditions, groups, tuple(selected), find_breakpoints(model._doc),
                                       self.rtol, self.atol, ss_tolerance)
        self._pool, self._base = pool, pool.base()
        self._by_distribution: dict[str, np.ndarray] = {}
        for o in self._observables.values():
            rows = self._by_distribution.get(o.distribution, np.empty(0, dtype=int))
            self._by_distribution[o.distribution] = np.sort(np.concatenate([rows, o.rows]))
        self._sigma_fixed = all(_sigma_fixed(o, self._table.estimated) for o in self._observables.values())
        self._model = model
        self._formula_derivatives = {o.id: (FormulaDerivatives.of(o.formula), FormulaDerivatives.of(o.noise))
                                     for o in self._observables.values()}
        self._sensitivities = Sensitivities.of(self._runner, self._table.estimated)
        self._estimated_at = {int(p): j for j, p in enumerate(self._table.estimated)}
        self._last: tuple | None = None
        self._noise_offset: float | None = None
        #: The message of the last evaluation that failed (``nllh`` returns inf then).
        self.last_error: str | None = None
        #: Simulations of condition groups run so far (evaluations and differences).
        self.n_simulations = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **options) -> PetabObjective:
        """Read and check (``petab.lint``) the PEtab v1 problem whose YAML file is ``path``.

        ``options``: ``rtol``, ``atol`` (CVODE tolerances, default 1e-8 and 1e-12), ``ss_tolerance``
        (the steady-state criterion of pre-equilibrations, see
        :func:`qsp.fit.petab_conditions.steady_state`), ``differences`` (``"forward"`` or
        ``"central"``) and ``gradient_step`` (the finite-difference step, default ``sqrt(rtol)``; see
        :func:`qsp.fit.petab_gradient.steps`).
        """
        return cls(read_problem(path), **options)

    @classmethod
    def from_problem(cls, problem, *, name: str = "petab", **options) -> PetabObjective:
        """From a ``petab.v1.Problem`` already in memory (not linted here)."""
        return cls(tables_of(problem, name=name), **options)

    def _check_measurements(self) -> None:
        m = self._measured
        if not np.isfinite(m).all():
            raise InputError(f"measurement row {int(np.flatnonzero(~np.isfinite(m))[0]) + 1}: the measurement must "
                             "be a finite number")
        for o in self._observables.values():
            if o.distribution.startswith("log") and (m[o.rows] <= 0).any():
                r = int(o.rows[np.flatnonzero(m[o.rows] <= 0)[0]])
                raise InputError(f"measurement row {r + 1} ({o.id}): a {o.distribution} observable needs measurements "
                                 f"> 0; got {m[r]:g}")

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        state = dict(self.__dict__)
        state["_model"] = None
        state["_last"] = None
        return state

    def _compiled(self):
        if self._model is None:
            t = self._tables
            self._model = _model_for(t.sbml, t.name, t.location)
        return self._model

    # ------------------------------------------------------------------ evaluation
    def _x(self, x) -> np.ndarray:
        if x is None:
            return self.space.nominal.copy()
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self.space),):
            raise InputError(f"x must have one value per estimated parameter ({len(self.space)}); got shape "
                             f"{x.shape}")
        return x

    def _simulated(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pool and the stacked simulation outputs at ``x`` (the last ones are kept; raises on a failed
        simulation)."""
        last = self._last
        if last is not None and np.array_equal(last[0], x):
            return last[1], last[2]
        pool = self._pool.values(self._base, x)
        self.n_simulations += len(self._runner.groups)
        sim = self._runner.run(self._compiled(), pool)
        self._last = (x.copy(), pool, sim)
        return pool, sim

    def _run_groups(self, pool: np.ndarray, groups) -> np.ndarray:
        return self._runner.run(self._compiled(), pool, groups)

    def _evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Simulated observables and noise scales, per measurement row (raises on a failed simulation)."""
        pool, sim = self._simulated(x)
        q = sim[self._rows]
        y = np.empty(self.n_measurements)
        s = np.empty(self.n_measurements)
        for o in self._observables.values():
            rows = o.rows
            y[rows] = o.formula.evaluate(self._args(o.formula, o, q[rows], pool, None), len(rows))
            s[rows] = o.noise.evaluate(self._args(o.noise, o, q[rows], pool, y[rows]), len(rows))
        return y, s

    def _args(self, formula, o, q: np.ndarray, pool: np.ndarray, y) -> list:
        out = []
        for kind, where in formula.sources:
            if kind == "sel":
                out.append(q[:, where])
            elif kind == "pool":
                out.append(pool[where])
            elif kind == "obs":
                out.append(pool[o.obs_index[:, where]])
            elif kind == "noise":
                out.append(pool[o.noise_index[:, where]])
            elif kind == "time":
                out.append(self._times[o.rows])
            else:  # "y"
                out.append(y)
        return out

    def _terms(self, y: np.ndarray, s: np.ndarray) -> np.ndarray:
        terms = np.empty(self.n_measurements)
        for dist, rows in self._by_distribution.items():
            terms[rows] = noise.nllh_terms(self._measured[rows], y[rows], s[rows], dist)
        return terms

    def nllh(self, x: np.ndarray) -> float:
        """Negative log-likelihood (+ negative log prior when :attr:`with_prior`) at ``x``; inf where a
        simulation fails (its message is kept in :attr:`last_error`)."""
        x = self._x(x)
        try:
            y, s = self._evaluate(x)
        except SimulationError as exc:
            self.last_error = str(exc)
            return float("inf")
        value = float(self._terms(y, s).sum())
        if self.with_prior:
            value += self._table.neg_log_prior(x)
        return value if np.isfinite(value) else float("inf")

    def llh(self, x: np.ndarray | None = None) -> float:
        """Log-likelihood at ``x`` (None: the nominal parameters), without priors; raises if a simulation fails."""
        y, s = self._evaluate(self._x(x))
        return -float(self._terms(y, s).sum())

    def chi2(self, x: np.ndarray | None = None) -> float:
        """Sum of squared weighted residuals ``((t(m) - t(y)) / sigma)^2`` at ``x`` (None: nominal)."""
        y, s = self._evaluate(self._x(x))
        return float(self._chi2_terms(y, s).sum())

    def statistics(self, x: np.ndarray | None = None) -> dict:
        """``{"llh", "chi2", "n_measurements"}`` at ``x`` (None: nominal), from one simulation."""
        y, s = self._evaluate(self._x(x))
        return {"llh": -float(self._terms(y, s).sum()), "chi2": float(self._chi2_terms(y, s).sum()),
                "n_measurements": self.n_measurements}

    def _chi2_terms(self, y, s) -> np.ndarray:
        terms = np.empty(self.n_measurements)
        for dist, rows in self._by_distribution.items():
            terms[rows] = noise.chi2_terms(self._measured[rows], y[rows], s[rows], dist)
        return terms

    def simulate(self, x: np.ndarray | None = None) -> pd.DataFrame:
        """The measurement table at ``x`` (None: nominal) with ``simulation`` (the observables, untransformed)
        after ``measurement``, then ``sigma`` (noise scale, on the transformed scale) and ``residual``
        (weighted: ``(t(m) - t(y)) / sigma``). Drop ``measurement`` for a PEtab simulation table."""
        y, s = self._evaluate(self._x(x))
        df = self._tables.measurement_df.copy()
        at = list(df.columns).index("measurement") + 1
        df.insert(at, "simulation", y)
        df["sigma"] = s
        df["residual"] = self._residuals(y, s)
        return df

    def noise_scales(self, x: np.ndarray | None = None) -> np.ndarray:
        """The noise formulas' values (sigma, on the transformed scale) per measurement at ``x``."""
        return self._evaluate(self._x(x))[1]

    # ------------------------------------------------------------------ parameter values
    @property
    def parameter_df(self) -> pd.DataFrame:
        """The parameter table (nominal values as this objective has them)."""
        return self._tables.parameter_df.copy()

    @property
    def measurement_df(self) -> pd.DataFrame:
        return self._tables.measurement_df.copy()

    def point(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """``x`` (on the parameter scales) with the estimated parameters in ``values`` (linear) and the rest nominal."""
        x = self.space.nominal.copy()
        for pid, v in (values or {}).items():
            if pid not in self.space.ids:
                raise unknown_id("estimated parameter", str(pid), self.space.ids, where=f" of {self.name!r}")
            i = self.space.ids.index(pid)
            x[i] = to_scale(np.array([[float(v)]]), (self.space.scales[i],))[0, 0]
        return x

    def with_nominal(self, values: Mapping[str, float]) -> PetabObjective:
        """A copy whose parameter table has these nominal values (linear; fixed or estimated parameters)."""
        ids = self._table.ids
        out = copy.copy(self)
        table = copy.copy(self._table)
        table.nominal = self._table.nominal.copy()
        pdf = self._tables.parameter_df.copy()
        for pid, v in values.items():
            if pid not in ids:
                raise unknown_id("parameter of the parameter table", str(pid), ids, where=f" of {self.name!r}")
            v = float(v)
            if not np.isfinite(v):
                raise InputError(f"the value of parameter {pid!r} must be a finite number; got {v!r}")
            table.nominal[ids.index(pid)] = v
            pdf.loc[pid, "nominalValue"] = v
        scales = self.space.scales
        nominal = to_scale(table.nominal[table.estimated][None, :], scales)[0] if len(scales) else self.space.nominal
        table.space = ParameterSpace(self.space.ids, scales, self.space.lower, self.space.upper, nominal)
        out._table, out.space = table, table.space
        out._tables = copy.copy(self._tables)
        out._tables.parameter_df = pdf
        out._base = self._base.copy()
        out._base[:len(ids)] = table.nominal
        out._last, out._noise_offset = None, None
        return out

    def to_petab(self, directory: str | os.PathLike, x: np.ndarray | None = None) -> str:
        """Write the problem to ``directory`` with the estimated parameters' nominal values set to ``x``
        (None: as they are); checked with ``petab.lint``. Returns the YAML file's path."""
        from .petab_export import write_problem

        obj = self if x is None else self.with_nominal(self.space.linear(self._x(x)))
        return write_problem(obj._tables, directory)

    def __repr__(self) -> str:
        return (f"PetabObjective({self.name!r}: {len(self.space)} estimated parameters, {self.n_measurements} "
                f"measurements, {len(self._runner.groups)} simulations per evaluation)")


def _species_selector(model, name: str) -> str:
    s = model._doc.getModel().getSpecies(name)
    if s is None or s.getHasOnlySubstanceUnits():
        return name
    return f"[{name}]"


def _sigma_fixed(o, estimated: np.ndarray) -> bool:
    """Whether an observable's noise formula depends neither on an estimated parameter nor on the simulation."""
    est = set(estimated.tolist())
    for kind, where in o.noise.sources:
        if kind in ("sel", "y"):
            return False
        if kind == "pool" and where in est:
            return False
        if kind in ("obs", "noise"):
            index = o.obs_index if kind == "obs" else o.noise_index
            if est & set(index[:, where].tolist()):
                return False
    return True
