"""Doses and regimens.

A :class:`Dose` is an IV-style bolus (``duration=None``) that adds an amount
to a species at an instant, or a zero-order infusion that adds the same
amount at a constant rate over ``duration``. ``every`` and ``count`` repeat
it. A regimen is a plain list of doses: step-up (priming) sequences are
doses of different amounts at different times; overlapping infusions add
their rates.

Times are in the model's time unit. Amounts are in ``unit`` (``None``: the
model's substance units of the target species).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import DosingError

__all__ = ["Dose", "Schedule", "build_schedule"]


def _number(owner: str, name: str, value, *, positive=False, allow_zero=True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DosingError(f"The {name!r} of {owner} must be a number. Got {value!r} instead.")
    v = float(value)
    if not math.isfinite(v):
        raise DosingError(f"The {name!r} of {owner} must be finite. Got {value!r} instead.")
    if positive and (v < 0 or (v == 0 and not allow_zero)):
        bound = "(0, inf)" if not allow_zero else "[0, inf)"
        raise DosingError(f"The {name!r} of {owner} must be in {bound}. Got {value!r} instead.")
    return v


@dataclass(frozen=True)
class Dose:
    """One dose, or a train of identical doses.

    Parameters
    ----------
    target : str
        Id of the species that receives the drug.
    amount : float
        Amount per administration, in ``unit``; >= 0.
    time : float, default 0
        Time of the first administration (model time unit); >= 0.
    every : float, optional
        Interval between administrations (model time unit); needed when ``count > 1``.
    count : int, default 1
        Total number of administrations, the first included (``count=3``: three doses).
    repeat : int, optional
        Number of administrations *after* the first, as SimBiology's ``RepeatCount`` and NONMEM's
        ``ADDL`` count them (``repeat=2`` is ``count=3``). Give ``count`` or ``repeat``, not both.
    duration : float, optional
        Infusion duration (model time unit). ``None`` gives a bolus.
    unit : str, optional
        ``'mg'``, ``'ug'``, ``'ng'``, ``'g'``, ``'mol'``, ``'nmol'`` ..., or any of them per ``'kg'`` of
        body weight (``'mg/kg'``). ``None``: the model's substance units.
    molecular_weight : float, optional
        g/mol, for converting mass to moles; defaults to the model's drug metadata.
    lag : float, default 0
        Lag time (model time unit): each administration happens ``lag`` after its nominal time, as
        NONMEM's ALAGn.
    bioavailability : float, default 1
        Fraction of each amount that reaches ``target`` (>= 0), as NONMEM's Fn; an infusion keeps its
        duration and its rate scales.
    steady_state : bool, default False
        The train has been given for ever before ``time``: the model starts from the train's periodic
        steady state at ``time`` (NONMEM's SS 1: a reset, then the steady state, found by a converged
        method), then the administrations from ``time`` on follow. Needs ``every``.

    Only the administrations up to the simulation's end time are ever enumerated, so a large
    ``count`` costs nothing beyond what is simulated.

    Examples
    --------
    >>> Dose("A_c", 100, unit="mg", every=24, count=7)            # daily 100 mg IV bolus for a week
    >>> Dose("A_c", 5, unit="mg/kg", duration=1, every=21, count=4) # 1-h infusion q3w
    """

    target: str
    amount: float
    time: float = 0.0
    every: float | None = None
    count: int = 1
    duration: float | None = None
    unit: str | None = None
    molecular_weight: float | None = None
    repeat: int | None = None
    lag: float = 0.0
    bioavailability: float = 1.0
    steady_state: bool = False

    def __post_init__(self):
        owner = f"Dose({self.target!r})" if isinstance(self.target, str) else "Dose"
        if not isinstance(self.target, str) or not self.target.strip():
            raise DosingError(f"The 'target' of Dose must be a species id. Got {self.target!r} instead.")
        if self.repeat is not None:
            if isinstance(self.repeat, bool) or not isinstance(self.repeat, (int, np.integer)) or self.repeat < 0:
                raise DosingError(f"The 'repeat' of {owner} must be an integer >= 0. Got {self.repeat!r} instead.")
            if self.count != 1 and self.count != self.repeat + 1:
                raise DosingError(f"{owner} gives both count={self.count!r} (total doses) and repeat={self.repeat!r} "
                                  "(doses after the first); give one of them")
            object.__setattr__(self, "count", int(self.repeat) + 1)
        object.__setattr__(self, "amount", _number(owner, "amount", self.amount, positive=True))
        object.__setattr__(self, "time", _number(owner, "time", self.time, positive=True))
        if isinstance(self.count, bool) or not isinstance(self.count, (int, np.integer)) or self.count < 1:
            raise DosingError(f"The 'count' of {owner} must be an integer >= 1. Got {self.count!r} instead.")
        object.__setattr__(self, "count", int(self.count))
        object.__setattr__(self, "repeat", self.count - 1)
        if self.every is not None:
            object.__setattr__(self, "every", _number(owner, "every", self.every, positive=True, allow_zero=False))
        elif self.count > 1:
            raise DosingError(f"{owner} has count={self.count} but no 'every' interval.")
        if self.duration is not None:
            object.__setattr__(self, "duration",
                               _number(owner, "duration", self.duration, positive=True, allow_zero=False))
        object.__setattr__(self, "lag", _number(owner, "lag", self.lag, positive=True))
        object.__setattr__(self, "bioavailability", _number(owner, "bioavailability", self.bioavailability,
                                                            positive=True))
        if not isinstance(self.steady_state, (bool, np.bool_)):
            raise DosingError(f"The 'steady_state' of {owner} must be True or False. Got {self.steady_state!r} instead.")
        if self.steady_state and self.every is None:
            raise DosingError(f"{owner} has steady_state=True but no 'every' interval.")
        if self.molecular_weight is not None:
            object.__setattr__(self, "molecular_weight", _number(
                owner, "molecular_weight", self.molecular_weight, positive=True, allow_zero=False))
        if self.unit is not None:
            from .units import parse_dose_unit

            if not isinstance(self.unit, str):
                raise DosingError(f"The 'unit' of {owner} must be a string. Got {self.unit!r} instead.")
            parse_dose_unit(self.unit)

    @property
    def is_infusion(self) -> bool:
        """True for a zero-order infusion, False for a bolus."""
        return self.duration is not None

    def times(self, until: float | None = None) -> np.ndarray:
        """Start time of each administration (model time unit), only those at or before ``until`` if given."""
        step = self.every or 0.0
        n = self.count
        if until is not None and step > 0:
            n = min(n, max(0, int(math.floor((until - self.time) / step + 1e-9)) + 1))
        elif until is not None and self.time > until:
            n = 0
        return self.time + step * np.arange(n)

    @classmethod
    def from_dict(cls, d: dict) -> Dose:
        """Build a dose from a mapping with the constructor's keys (as in model metadata)."""
        allowed = {"target", "amount", "time", "every", "count", "repeat", "duration", "unit", "molecular_weight",
                   "lag", "bioavailability", "steady_state"}
        extra = set(d) - allowed
        if extra:
            raise DosingError(f"unknown dose field(s) {sorted(extra)}; allowed: {sorted(allowed)}")
        return cls(**d)


@dataclass(frozen=True)
class Schedule:
    """A regimen resolved into model units: what happens at each instant.

    ``times`` are sorted unique instants; for instant ``i``, ``boluses[i]`` is a list
    of (species id, amount) and ``rate_changes[i]`` a list of (rate parameter id, rate in force from then on).
    """

    times: np.ndarray
    boluses: list = field(default_factory=list)
    rate_changes: list = field(default_factory=list)


#: Most administrations one simulation may hold (before its end time); more is refused, not enumerated.
MAX_ADMINISTRATIONS = 1_000_000


def build_schedule(doses: Sequence[Dose], amount_of: Callable[[Dose], float],
                   rate_param_of: Callable[[Dose], str], until: float | None = None) -> Schedule:
    """Resolve ``doses`` into a :class:`Schedule`, keeping administrations at or before ``until``.

    ``amount_of(dose)`` returns the per-administration amount in model
    substance units; ``rate_param_of(dose)`` the infusion-rate parameter
    of its target (only called for infusions).
    """
    starts = [dose.times(until) for dose in doses]
    if until is not None:
        total = sum(len(t) for t in starts)
        if total > MAX_ADMINISTRATIONS:
            raise DosingError(f"the regimen has {total} administrations before t={until:g}, more than the "
                              f"{MAX_ADMINISTRATIONS} one simulation can hold; shorten it or lengthen 'every'")
    events: dict[float, tuple[list, list]] = {}
    intervals: dict[str, list[tuple[float, float, float]]] = {}

    def at(t: float):
        return events.setdefault(float(t), ([], []))

    for dose, times_of_dose in zip(doses, starts):
        amt = amount_of(dose) * dose.bioavailability
        if dose.lag:
            times_of_dose = times_of_dose + dose.lag
            if until is not None:
                times_of_dose = times_of_dose[times_of_dose <= until]
        if dose.is_infusion:
            rate = amt / dose.duration
            pid = rate_param_of(dose)
            for t in times_of_dose:
                intervals.setdefault(pid, []).append((float(t), float(t + dose.duration), rate))
                at(t), at(t + dose.duration)
        else:
            for t in times_of_dose:
                at(t)[0].append((dose.target, amt))
    times = np.array(sorted(events), dtype=float)
    # Rate of each parameter from each instant on: the sum of the infusions running then, exactly 0
    # once none is running (a sweep over start and end instants).
    for pid, spans in intervals.items():
        changes: dict[float, list[tuple[float, int]]] = {}
        for a, b, r in spans:
            changes.setdefault(a, []).append((r, 1))
            changes.setdefault(b, []).append((-r, -1))
        rate, running = 0.0, 0
        for t in times:
            for dr, dn in changes.get(float(t), ()):
                rate += dr
                running += dn
            if running == 0:
                rate = 0.0
            events[float(t)][1].append((pid, rate))
    return Schedule(times, [events[t][0] for t in times], [events[t][1] for t in times])


def as_dose_list(doses: Dose | Iterable[Dose] | None) -> tuple[Dose, ...]:
    """Accept one dose, a list of doses or None, and return a tuple of doses."""
    if doses is None:
        return ()
    if isinstance(doses, Dose):
        return (doses,)
    out = tuple(doses)
    for d in out:
        if not isinstance(d, Dose):
            raise DosingError(f"doses must be qsp.Dose objects. Got {type(d).__name__} instead.")
    return out
