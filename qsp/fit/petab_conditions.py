"""Simulating the conditions of a PEtab problem on a model's warm instance.

Each distinct (pre-equilibration, simulation) condition pair of the measurement table is one
simulation per evaluation, with all of its output times at once. A condition sets model parameters,
compartment sizes and species initial values (a species by concentration unless it has only
substance units, as its id means in SBML math); NaN keeps the model's value (after a
pre-equilibration: the pre-equilibrated state). The parameter table's model parameters apply to
every condition. A pre-equilibration runs the model to a steady state that is checked (see
:func:`steady_state`), then the simulation condition's parameters are set, the species it names
are re-initialised, and the simulation starts from there at t = 0. A measurement at ``time = inf``
is the steady state of its simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from roadrunner import _roadrunner as _R

from .. import engine
from ..dosing import Schedule
from ..errors import InputError, SimulationError
from ..simulation import _simulate, integrate
from .petab_parameters import Pool

__all__ = ["Settings", "Condition", "Group", "ConditionRunner", "conditions_of", "groups_of", "steady_state",
           "STEADY_STATE_TOLERANCE", "STEADY_STATE_HORIZON"]

#: A state is steady when every |dx/dt| <= tolerance * max(|x|, 1) (amounts per model time unit).
STEADY_STATE_TOLERANCE = 1e-8
#: The longest simulated time (model time units) a steady-state search runs before it gives up.
STEADY_STATE_HORIZON = 1e10


@dataclass(frozen=True)
class Settings:
    """Override keys (qsp selectors: ``p``, ``[S]``, ``S``) and where their values are in the pool."""

    keys: tuple[str, ...]
    index: np.ndarray

    def values(self, pool: np.ndarray) -> dict[str, float]:
        return dict(zip(self.keys, pool[self.index].tolist()))


@dataclass(frozen=True)
class Condition:
    """A condition: its parameter and compartment settings, and its species initial values."""

    id: str
    params: Settings
    species: Settings
    #: Whether it resizes a compartment that holds species with initial assignments.
    resizes: bool = False


@dataclass(frozen=True)
class Group:
    """One simulation: a condition pair and its output times; rows ``offset...`` of the stacked output."""

    preeq: str | None
    sim: str
    times: np.ndarray
    steady: bool
    offset: int

    @property
    def n_rows(self) -> int:
        return len(self.times) + int(self.steady)


def _selector(model, sid: str) -> str:
    s = model._doc.getModel().getSpecies(sid)
    if s is None:
        return sid
    return sid if s.getHasOnlySubstanceUnits() else f"[{sid}]"


def conditions_of(condition_df: pd.DataFrame, needed: set[str], model, pool: Pool,
                  model_params: dict[str, int]) -> dict[str, Condition]:
    """The conditions in ``needed`` from the condition table; ``model_params`` (model id -> pool index) are
    the parameter table's model parameters, set in every condition unless the condition sets them."""
    species = set(model._floating) | set(model._boundary)
    settable = set(model._parameters) | set(model._compartments)
    columns = [c for c in condition_df.columns if c != "conditionName"]
    for col in columns:
        if col not in species and col not in settable:
            raise InputError(f"condition table column {col!r} is not a parameter, compartment or species of the "
                             f"model")
    doc = model._doc.getModel()
    assigned_in = {doc.getSpecies(ia.getSymbol()).getCompartment() for ia in doc.getListOfInitialAssignments()
                   if doc.getSpecies(ia.getSymbol()) is not None}
    out = {}
    for cid in needed:
        if cid not in condition_df.index:
            raise InputError(f"condition {cid!r} of the measurement table is not in the condition table")
        row = condition_df.loc[cid]
        params = dict(model_params)
        spec: dict[str, int] = {}
        for col in columns:
            value = row[col]
            if not isinstance(value, str) and pd.isna(value):
                params.pop(col, None)
                continue
            idx = pool.of(value, f"condition {cid!r}, column {col!r}")
            if col in species:
                spec[_selector(model, col)] = idx
            else:
                params[col] = idx
        resizes = any(c in assigned_in for c in params if c in model._compartments)
        out[cid] = Condition(cid, Settings(tuple(params), np.array(list(params.values()), dtype=int)),
                             Settings(tuple(spec), np.array(list(spec.values()), dtype=int)), resizes)
        # the keys are checked once, with placeholder values (the values are checked where they are used)
        model._override_keys({k: 1.0 for k in params}, {k: 1.0 for k in spec})
    return out


def groups_of(measurement_df: pd.DataFrame) -> tuple[list[Group], np.ndarray]:
    """The simulations the measurement table needs and, per measurement, its row in the stacked output."""
    preeq = measurement_df["preequilibrationConditionId"] if "preequilibrationConditionId" in measurement_df \
        else pd.Series([None] * len(measurement_df))
    keys = [(None if (not isinstance(p, str) or not p.strip()) else p.strip(), str(s).strip())
            for p, s in zip(preeq, measurement_df["simulationConditionId"])]
    times = measurement_df["time"].to_numpy(dtype=float)
    if np.isnan(times).any() or (times < 0).any() or np.isneginf(times).any():
        bad = times[np.isnan(times) | (times < 0)][0]
        raise InputError(f"measurement times must be >= 0 (or inf for a steady state); got {bad:g}")
    order: dict[tuple, list[int]] = {}
    for i, k in enumerate(keys):
        order.setdefault(k, []).append(i)
    groups, rows, offset = [], np.empty(len(keys), dtype=int), 0
    for (p, s), members in order.items():
        t = times[members]
        finite = np.unique(t[np.isfinite(t)])
        steady = bool(np.isinf(t).any())
        g = Group(p, s, finite, steady, offset)
        for i in members:
            rows[i] = offset + (len(finite) if np.isinf(times[i]) else int(np.searchsorted(finite, times[i])))
        groups.append(g)
        offset += g.n_rows
    return groups, rows


def _state_ids(rr) -> list[str]:
    return [c[:-1] for c in _R.RoadRunner_getRatesOfChangeNamedArray(rr).colnames]


def _residual(rr, ids: list[str]) -> float:
    rates = np.abs(np.asarray(_R.RoadRunner_getRatesOfChange(rr), float))
    if not len(rates):
        return 0.0
    x = np.abs(np.array([engine.get_value(rr, i) for i in ids], float))
    return float(np.max(rates / np.maximum(x, 1.0)))


def steady_state(rr, t0: float, breakpoints: np.ndarray, what: str, *, tolerance: float = STEADY_STATE_TOLERANCE,
                 horizon: float = STEADY_STATE_HORIZON) -> float:
    """Integrate ``rr`` from ``t0`` until its state is steady; return the time reached.

    Steady: every state variable's rate of change is at most ``tolerance * max(|x|, 1)`` per model time
    unit. The search stops at each switching time first, then integrates over horizons growing tenfold
    from 1 and checks after each, up to ``horizon``.

    Raises
    ------
    SimulationError
        No steady state within ``horizon`` (``what`` names the simulation in the message).
    """
    ids = _state_ids(rr)
    t = t0
    for b in breakpoints[breakpoints > t0]:
        _simulate(rr, np.array([t, b]))
        t = float(b)
    step = 1.0
    res = _residual(rr, ids)
    while not res <= tolerance:
        if t - t0 >= horizon or not math.isfinite(res):
            raise SimulationError(f"{what} reached no steady state: max |dx/dt| / max(|x|, 1) = {res:.3g} at "
                                  f"t = {t:g} (tolerance {tolerance:g})")
        try:
            _simulate(rr, np.array([t, t + step]))
        except SimulationError as exc:
            raise SimulationError(f"{what} reached no steady state by t = {t:g} (max |dx/dt| / max(|x|, 1) = "
                                  f"{res:.3g}, tolerance {tolerance:g}); {exc}") from None
        t += step
        step *= 10.0
        res = _residual(rr, ids)
    return t


def _schedule(times: np.ndarray) -> Schedule | None:
    if not len(times):
        return None
    return Schedule(times, [[] for _ in times], [[] for _ in times])


class ConditionRunner:
    """Runs the groups of a problem for a pool of values; picklable (holds no model)."""

    def __init__(self, conditions: dict[str, Condition], groups: list[Group], selections: tuple[str, ...],
                 breakpoints, rtol: float, atol: float, ss_tolerance: float = STEADY_STATE_TOLERANCE):
        self.conditions, self.groups, self.selections = conditions, groups, selections
        self.breakpoints = breakpoints
        self.rtol, self.atol, self.ss_tolerance = rtol, atol, ss_tolerance
        self.n_rows = sum(g.n_rows for g in groups)

    def run(self, model, pool: np.ndarray, which=None) -> np.ndarray:
        """The stacked outputs of every group (rows as :func:`groups_of` numbers them); with ``which``
        (group indices), of those groups only (the other rows are NaN)."""
        out = np.full((self.n_rows, len(self.selections)), np.nan)
        states: dict[str, np.ndarray] = {}
        with engine.quiet():
            for i in range(len(self.groups)) if which is None else which:
                g = self.groups[i]
                out[g.offset:g.offset + g.n_rows] = self._group(model, g, pool, states)
        return out

    def inputs(self, g: Group) -> set[int]:
        """The pool entries that the simulation of group ``g`` reads (its conditions' settings)."""
        used: set[int] = set()
        for cid in (g.sim, g.preeq):
            if cid is not None:
                c = self.conditions[cid]
                used.update(c.params.index.tolist(), c.species.index.tolist())
        return used

    def _group(self, model, g: Group, pool: np.ndarray, states: dict) -> np.ndarray:
        sim = self.conditions[g.sim]
        n = len(self.selections)
        if g.preeq is not None:
            pre = self.conditions[g.preeq]
            self._start(model, pre, pool)
            rr = model._rr
            saved = states.get(g.preeq)
            if saved is None:
                self._steady(model, f"pre-equilibration of condition {g.preeq!r}", hold_time_events=True)
                states[g.preeq] = _get_state(rr)
            else:
                _set_state(rr, saved)
            for key, v in {**sim.params.values(pool), **sim.species.values(pool)}.items():
                engine.set_value(rr, key, v)
        else:
            self._start(model, sim, pool)
            rr = model._rr
        bps = self.breakpoints.values(rr) if self.breakpoints else np.empty(0)
        rows = np.empty((g.n_rows, n))
        t_end = 0.0
        if len(g.times):
            t_end = float(g.times[-1])
            if t_end > 0:
                inner = bps[(bps > 0) & (bps < t_end)]
                rows[:len(g.times)] = integrate(rr, g.times, 0.0, t_end, _schedule(inner), n)
            else:  # t = 0 only: the initial state (the integrator cannot step from 0 to 0)
                rows[0] = np.asarray(engine.selected_values(rr), float)
        if g.steady:
            self._steady(model, f"the steady state of condition {g.sim!r}", t0=t_end, bps=bps, hold_time_events=False)
            rows[-1] = np.asarray(engine.selected_values(rr), float)
        return rows

    def _start(self, model, c: Condition, pool: np.ndarray) -> None:
        """Reset to the initial state of condition ``c``."""
        overrides = {**c.params.values(pool), **c.species.values(pool)}
        model._start(overrides, self.selections, self.rtol, self.atol)
        if c.resizes and model._ia_plan is not None:
            # initial assignments to concentrations hold in the resized compartment too
            model._ia_plan.apply(model._rr, keep={k.strip("[]") for k in overrides})

    def _steady(self, model, what: str, t0: float = 0.0, bps: np.ndarray | None = None, *,
                hold_time_events: bool) -> None:
        """Run to a steady state; a pre-equilibration holds time-triggered events back, as qsp's
        ``equilibrate`` does."""
        rr = model._rr
        if bps is None:
            bps = self.breakpoints.values(rr) if self.breakpoints else np.empty(0)
        gate = model._time_gate if hold_time_events else None
        if gate:
            engine.set_value(rr, gate, 1.0)
        try:
            steady_state(rr, t0, bps, what, tolerance=self.ss_tolerance)
        finally:
            if gate:
                engine.set_value(rr, gate, 0.0)


def _get_state(rr) -> np.ndarray:
    return np.array([engine.get_value(rr, i) for i in _state_ids(rr)], float)


def _set_state(rr, x: np.ndarray) -> None:
    for i, v in zip(_state_ids(rr), x.tolist()):
        engine.set_value(rr, i, v)
