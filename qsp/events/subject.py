"""Simulating one subject's event table on a model's warm instance, as NONMEM would.

Rows run in the order written. Doses a row implies for later (ADDL repeats, doses shifted by a lag
time, infusion ends, the tail of a steady-state train) run at their times, before any row written at
the same time (NONMEM's order: an observation at a lagged or additional dose's time sees the dose).
A reset (EVID 3, 4, SS 1) returns the state to the model's initial state with the subject's
parameters in force, stops running infusions and cancels doses still pending from earlier rows.
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np

from .. import engine
from ..errors import SimulationError
from .plan import DoseRecord, SubjectPlan
from .steady_state import SteadyState, periodic_state, train_window

__all__ = ["run_subject"]

_SAME_INSTANT = 1e-9  # relative: event times this close are one instant (e.g. 100 / 8.333333 vs 12)
_PSEUDO_PERIOD = 10.0  # model time units: the map whose fixed point is a constant infusion's steady state


class _Subject:
    def __init__(self, model, plan: SubjectPlan, outputs, base: dict[str, float], rtol: float, atol: float,
                 ss_tolerance: float):
        self.m, self.rr, self.plan = model, model._rr, plan
        self.outputs, self.rtol, self.atol, self.ss_tol = outputs, rtol, atol, ss_tolerance
        self.params = {**base, **dict(plan.initial)}
        self.heap: list = []
        self.seq = itertools.count()
        self.gen = 0
        self.rates: dict[str, dict[int, float]] = {}
        self.tc = float(plan.times[0]) if len(plan.times) else 0.0
        self.values = np.full((plan.n_outputs_rows, len(outputs)), np.nan)
        self.steady: list[tuple[int, float, SteadyState]] = []
        self.end = float(np.max(plan.times)) if len(plan.times) else 0.0
        ids = model._floating
        self.species_index = {s: i for i, s in enumerate(ids)}
        self.free = np.array([i for i, s in enumerate(ids) if s not in model._assigned], dtype=int)
        self.extra_state = _rate_rule_state(model)

    # ------------------------------------------------------------------ state
    def state(self) -> np.ndarray:
        amounts = np.asarray(engine.model_of(self.rr).getFloatingSpeciesAmounts(), dtype=float)[self.free]
        extra = [engine.get_value(self.rr, k) for k in self.extra_state]
        return np.concatenate([amounts, extra]) if extra else amounts

    def set_state(self, x: np.ndarray) -> None:
        m = engine.model_of(self.rr)
        amounts = np.asarray(m.getFloatingSpeciesAmounts(), dtype=float)
        amounts[self.free] = x[:len(self.free)]
        m.setFloatingSpeciesAmounts(amounts)
        for k, v in zip(self.extra_state, x[len(self.free):]):
            engine.set_value(self.rr, k, float(v))

    def reset(self) -> None:
        self.m._start(self.params, self.outputs, self.rtol, self.atol)
        self.gen += 1
        self.heap.clear()
        self.rates.clear()

    # ------------------------------------------------------------------ integration
    def advance(self, t: float, pts: np.ndarray | None = None) -> np.ndarray | None:
        """Integrate from ``tc`` to ``t``; return the outputs at ``pts`` (sorted, within [tc, t])."""
        if pts is None or not len(pts):
            if t > self.tc:
                self._simulate(np.array([self.tc, t]))
                self.tc = t
            return None
        times = np.unique(np.concatenate([[self.tc], pts, [t]]))
        if len(times) == 1:
            row = np.asarray(engine.selected_values(self.rr), dtype=float)
            return np.tile(row, (len(pts), 1))
        rows = self._simulate(times)
        self.tc = t
        return rows[np.searchsorted(times, pts)]

    def _simulate(self, times: np.ndarray) -> np.ndarray:
        """Integrate through ``times``; instants closer than round-off to the one before count as that one."""
        keep = np.concatenate([[True], np.diff(times) > _SAME_INSTANT * np.maximum(1.0, np.abs(times[1:]))])
        if not keep.all():
            index = np.cumsum(keep) - 1
            if keep.sum() == 1:
                row = np.asarray(engine.selected_values(self.rr), dtype=float)
                return np.tile(row, (len(times), 1))
            return self._simulate(times[keep])[index]
        try:
            return engine.simulate_at(self.rr, times)
        except RuntimeError as exc:
            msg = " ".join(str(exc).split())
            raise SimulationError(f"integration failed between t={times[0]:g} and t={times[-1]:g}: {msg}") from None

    # ------------------------------------------------------------------ infusions and doses
    def push(self, t: float, kind: str, *payload) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, payload, self.gen))

    def set_rate(self, species: str, key: int, rate: float | None) -> None:
        running = self.rates.setdefault(species, {})
        if rate is None:
            running.pop(key, None)
        else:
            running[key] = rate
        engine.set_value(self.rr, self.m._infusion[species], float(sum(running.values())) if running else 0.0)

    def infuse(self, t: float, species: str, rate: float, end: float) -> None:
        key = next(self.seq)
        self.push(t, "on", species, key, rate)
        self.push(end, "off", species, key)

    def option(self, record: DoseRecord, name: str, default: float) -> float:
        for key, value in record.options:
            if key == name:
                v = engine.get_value(self.rr, value) if isinstance(value, str) else float(value)
                if not np.isfinite(v) or v < 0:
                    raise SimulationError(f"the {name.replace('_', ' ')} of a dose into {record.species!r} is {v:g}")
                return float(v)
        return default

    def shape(self, record: DoseRecord) -> tuple[float, float, float | None, float]:
        """(amount given, lag, duration or None for a bolus, rate) of one administration."""
        amount = record.amount * self.option(record, "bioavailability", 1.0)
        lag = self.option(record, "lag", 0.0)
        if record.rate > 0:
            rate = record.rate
            return amount, lag, amount / rate, rate
        if record.rate == -1:
            rate = self.option(record, "modelled_rate", 0.0)
            if rate <= 0:
                raise SimulationError(f"the modelled rate of a dose into {record.species!r} is {rate:g}; it must be > 0")
            return amount, lag, amount / rate, rate
        if record.rate == -2 or record.duration > 0:
            dur = self.option(record, "modelled_duration", 0.0) if record.rate == -2 else record.duration
            if dur <= 0:
                raise SimulationError(f"the infusion duration of a dose into {record.species!r} is {dur:g}; it must "
                                      "be > 0")
            return amount, lag, dur, amount / dur
        return amount, lag, None, 0.0

    def give(self, t: float, record: DoseRecord, row: int) -> None:
        """A dose record at time ``t``: steady state first if asked, then the dose, then its ADDL repeats."""
        amount, lag, duration, rate = self.shape(record)
        if record.species not in self.m._infusion and duration is not None:
            raise SimulationError(f"{record.species!r} takes boluses only (it has a rate rule or a conversion factor)")
        if record.steady_state:
            self.steady_state(t, record, amount, lag, duration, rate, row)
        if amount > 0:
            if duration is None:
                self.push(t + lag, "bolus", record.species, amount)
            else:
                self.infuse(t + lag, record.species, rate, t + lag + duration)
        if record.additional and record.interval > 0:
            plain = DoseRecord(record.species, record.amount, record.rate, record.duration, 0.0, 0, 0, record.options)
            for k in range(1, record.additional + 1):
                tk = t + k * record.interval
                if tk > self.end:
                    break
                self.push(tk, "dose", plain, row)

    # ------------------------------------------------------------------ steady state
    def steady_state(self, t, record: DoseRecord, amount, lag, duration, rate, row) -> None:
        superimpose = record.steady_state == 2
        if superimpose:
            before, saved_rates = self.state(), {s: dict(r) for s, r in self.rates.items()}
            pending, gen = list(self.heap), self.gen
        self.reset()
        x0 = self.state()
        species, ii = record.species, record.interval
        pid = self.m._infusion.get(species)
        if ii == 0:  # a constant infusion (AMT 0, RATE > 0): its true steady state
            segments = [(0.0, _PSEUDO_PERIOD, rate)]
            boluses: list = []
            period, future, running = _PSEUDO_PERIOD, [], []
        else:
            spans, future, running = train_window(lag, ii, duration)
            period = ii
            if duration is None:
                boluses = [(a, amount) for a, _ in spans] if amount > 0 else []
                segments = []
            else:
                boluses = []
                segments = _rate_segments(spans, rate, ii) if amount > 0 else []
        idx = self.species_index[species]
        pos = int(np.searchsorted(self.free, idx))

        def one_interval(x: np.ndarray) -> np.ndarray:
            self.set_state(x)
            cuts = sorted({0.0, period, *[b for b, _ in boluses], *[a for a, _, _ in segments],
                           *[b for _, b, _ in segments]})
            for a, b in zip(cuts[:-1], cuts[1:]):
                for tb, amt in boluses:
                    if tb == a:
                        self.set_state(_add(self.state(), pos, amt))
                if pid is not None:
                    r = sum(rr for sa, sb, rr in segments if sa <= a < sb)
                    engine.set_value(self.rr, pid, float(r))
                self._simulate(np.array([a, b]))
            if pid is not None:
                engine.set_value(self.rr, pid, 0.0)
            return self.state()

        gate = self.m._time_gate
        if gate:
            engine.set_value(self.rr, gate, 1.0)
        try:
            x_ss, report = periodic_state(one_interval, x0, tolerance=self.ss_tol, atol=self.atol)
        finally:
            if gate:
                engine.set_value(self.rr, gate, 0.0)
        self.steady.append((row, t, report))
        if superimpose:
            self.set_state(before + x_ss - x0)
            self.rates = saved_rates
            for s in self.rates:
                self.set_rate(s, -1, None)
            self.heap, self.gen = pending, gen
            heapq.heapify(self.heap)
        else:
            self.set_state(x_ss)
        if ii == 0 or amount <= 0:
            return
        for start in future:
            if duration is None:
                self.push(t + start, "bolus", species, amount)
            else:
                self.infuse(t + start, species, rate, t + start + duration)
        for _, end in running:
            key = next(self.seq)
            self.set_rate(species, key, rate)
            self.push(t + end, "off", species, key)

    # ------------------------------------------------------------------ the loop
    def run(self) -> np.ndarray:
        plan = self.plan
        self.m._start(self.params, self.outputs, self.rtol, self.atol)
        n = len(plan.times)
        i = 0
        while i < n:
            t_row = float(plan.times[i])
            if self.heap and self.heap[0][0] <= t_row:
                te, _, kind, payload, gen = heapq.heappop(self.heap)
                if gen != self.gen:
                    continue
                self.advance(te)
                self.implied(te, kind, payload)
                continue
            if self.plain_output(i) and t_row >= self.tc:
                limit = self.heap[0][0] if self.heap else np.inf
                j = i
                while (j < n and self.plain_output(j)
                       and plan.times[j] < limit and (j == i or plan.times[j] >= plan.times[j - 1])):
                    j += 1
                pts = plan.times[i:j].astype(float)
                self.values[plan.output_row[i:j]] = self.advance(float(pts[-1]), pts)
                i = j
                continue
            self.row(i, t_row)
            i += 1
        return self.values

    def row(self, i: int, t: float) -> None:
        plan, evid = self.plan, int(self.plan.evids[i])
        if t < self.tc and evid in (3, 4):
            self.tc = t  # the clock goes back at a reset
        else:
            self.advance(t)
        for key, value in plan.settings[i]:
            self.params[key] = value
            engine.set_value(self.rr, key, value)
        if evid in (3, 4):
            self.reset()
        if evid in (1, 4):
            self.give(t, plan.doses[i], int(plan.rows[i]))
        if plan.output_row[i] >= 0:
            if evid != 0:  # a dose or reset row reports the state once what it starts at its time has run
                while self.heap and self.heap[0][0] <= t:
                    te, _, kind, payload, gen = heapq.heappop(self.heap)
                    if gen == self.gen:
                        self.implied(te, kind, payload)
            self.values[plan.output_row[i]] = self.advance(t, np.array([t]))[0]
        for key, value in self.after(i):
            self.params[key] = value
            engine.set_value(self.rr, key, value)

    def plain_output(self, i: int) -> bool:
        """Step ``i`` only reads outputs (an observation or EVID 2 row setting nothing)."""
        plan = self.plan
        return (plan.output_row[i] >= 0 and plan.evids[i] in (0, 2) and not plan.settings[i]
                and not self.after(i))

    def after(self, i: int) -> tuple:
        return self.plan.after[i] if self.plan.after else ()

    def implied(self, t: float, kind: str, payload) -> None:
        if kind == "bolus":
            species, amount = payload
            sid = species
            engine.set_value(self.rr, sid, engine.get_value(self.rr, sid) + amount)
        elif kind == "on":
            species, key, rate = payload
            self.set_rate(species, key, rate)
        elif kind == "off":
            species, key = payload
            self.set_rate(species, key, None)
        elif kind == "dose":
            record, row = payload
            self.give(t, record, row)


def _rate_rule_state(model) -> list[str]:
    """Ids integrated by rate rules that are not floating species (parameters, compartments)."""
    floating = set(model._floating)
    return [r.getVariable() for r in model._doc.getModel().getListOfRules()
            if r.isRate() and r.getVariable() not in floating]


def _add(x: np.ndarray, pos: int, amount: float) -> np.ndarray:
    y = x.copy()
    y[pos] += amount
    return y


def _rate_segments(spans, rate: float, period: float) -> list[tuple[float, float, float]]:
    """Piecewise-constant total rate on [0, period) from overlapping infusion ``spans``."""
    cuts = sorted({0.0, period, *[a for a, _ in spans], *[b for _, b in spans]})
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        k = sum(1 for sa, sb in spans if sa <= a < sb)
        if k:
            out.append((a, b, k * rate))
    return out


def run_subject(model, plan: SubjectPlan, outputs: tuple[str, ...], base: dict[str, float], *, rtol: float,
                atol: float, ss_tolerance: float) -> tuple[np.ndarray, list[tuple[int, float, SteadyState]]]:
    """Simulate one subject; return the outputs at its output rows and its steady-state reports."""
    with engine.quiet():
        sim = _Subject(model, plan, outputs, base, rtol, atol, ss_tolerance)
        values = sim.run()
    return values, sim.steady
