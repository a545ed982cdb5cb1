"""Running a model's one warm libRoadRunner instance: from the initial state with overrides, through
an optional pre-equilibration, along a dosing schedule.

:class:`WarmInstance` holds the part of :class:`qsp.Model` that talks to the compiled instance; the
arguments are checked before these methods are called (:mod:`qsp.arguments`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from . import engine
from .errors import InputError
from .simulation import integrate

__all__ = ["WarmInstance"]


class WarmInstance:
    """Mixin of :class:`qsp.Model`: reset, overrides, equilibration and integration of ``self._rr``."""

    def _run(self, grid, t_start, t_end, outputs, overrides, schedule, rtol, atol,
             equilibrate: float | None = None, treatment: Iterable[str] = ()) -> np.ndarray:
        """Simulate with checked arguments; ``treatment`` names the overrides that belong to the regimen.

        With ``equilibrate``, the pre-run sees the other overrides only, and time-triggered events are
        held back during it; the regimen's overrides are set when the dosed run starts.
        """
        with engine.quiet():
            if equilibrate:
                held = {k: overrides[k] for k in treatment if k in overrides}
                base = {k: v for k, v in overrides.items() if k not in held}
                self._start(base, outputs, rtol, atol)
                self._equilibrate(t_start, equilibrate, held)
            else:
                self._start(overrides, outputs, rtol, atol)
            return integrate(self._rr, grid, t_start, t_end, schedule, len(outputs))

    def _start(self, overrides: dict[str, float], outputs, rtol: float, atol: float) -> None:
        """Bring the instance to the model's initial state with ``overrides`` applied."""
        # A fresh instance needs no reset (and libRoadRunner's reset queues t=0 events again); a used one is
        # reset, unless it has delayed events: those may still be pending from the last call and no reset
        # clears them, so it is rebuilt (from libRoadRunner's compiled-model cache: ~1 ms).
        fresh = not self._used
        if self._used and self._has_delayed_events:
            self._rr = self._compile(self._sim_sbml)
            self._selection = self._tolerances = None
            self._dirty = {}
            fresh = True
        self._used = True
        rr = self._rr
        slow = {k: v for k, v in overrides.items() if k.strip("[]") in self._ia_inputs} if self._ia_plan is None \
            else {}
        self._prepare(slow, outputs, rtol, atol, reset=not fresh)
        fast = {k: v for k, v in overrides.items() if k not in slow}
        if fast:
            watched = [t for t in self._triggers if any(k.strip("[]") in t.reads for k in fast)]
            # libRoadRunner settles which events fire at the start when it resets (at t = 0, whatever
            # t_start), from the values then. An override that turns a trigger on or off there is set as
            # an init() value instead, so that the reset sees it.
            before = [t.expr is not None and t.value(rr, 0.0) for t in watched]
            self._set_fast_overrides(fast, overrides)
            if any(t.expr is None or t.value(rr, 0.0) != b for t, b in zip(watched, before)):
                slow = {**slow, **{k: v for k, v in fast.items()
                                   if any(k.strip("[]") in t.reads for t in watched)}}
                self._prepare(slow, outputs, rtol, atol, reset=True)
                fast = {k: v for k, v in overrides.items() if k not in slow}
                self._set_fast_overrides(fast, overrides)

    def _equilibrate(self, t_start: float, duration: float, held: dict[str, float]) -> None:
        """Run undosed for ``duration`` with time-triggered events held back, then set ``held`` values.

        The clock goes back to ``t_start`` when the dosed run starts; the state reached is kept.
        """
        from .simulation import _simulate

        rr = self._rr
        if self._time_gate:
            engine.set_value(rr, self._time_gate, 1.0)
        try:
            _simulate(rr, np.array([t_start, t_start + duration]))
        finally:
            if self._time_gate:
                engine.set_value(rr, self._time_gate, 0.0)
        for key, value in held.items():
            engine.set_value(rr, key, value)

    def _prepare(self, slow: dict[str, float], outputs, rtol: float, atol: float, *, reset: bool) -> None:
        """Set ``slow`` overrides as init() values, selections and tolerances, and reset if needed."""
        rr = self._rr
        changed = self._set_slow_overrides(slow)
        if self._selection != outputs:
            engine.set_selections(rr, outputs)
            self._selection = outputs
        if self._tolerances != (rtol, atol):
            self._tolerances = None  # unknown until both are set: a refused value must not be cached
            engine.set_tolerances(rr, rtol, atol)
            self._tolerances = (rtol, atol)
        if changed or reset:
            engine.reset_all(rr)

    def _set_slow_overrides(self, slow: dict[str, float]) -> bool:
        """Change compiled initial values (``init()``), restoring those of earlier calls not in ``slow``.

        libRoadRunner regenerates the model for such a change (tens of ms), so only overrides that
        need it take this path: those read by initial assignments qsp cannot evaluate itself, and
        those that turn an event trigger on or off at the start time.
        """
        rr, dirty = self._rr, self._dirty
        if not slow and not dirty:
            return False
        changed = False
        for key in [k for k in dirty if k not in slow]:
            engine.set_value(rr, f"init({key})", self._defaults[key])
            del dirty[key]
            changed = True
        for key, value in slow.items():
            if dirty.get(key) != value:
                try:
                    engine.set_value(rr, f"init({key})", value)
                except RuntimeError as exc:
                    raise InputError(f"cannot override {key!r} of model {self.name!r}: libRoadRunner refused to "
                                     f"set its initial value ({' '.join(str(exc).split())[:200]})") from None
                dirty[key] = value
                changed = True
        if changed:  # regeneration resets selections and integrator settings
            self._selection = None
            self._tolerances = None
        return changed

    def _set_fast_overrides(self, fast: dict[str, float], overrides: dict[str, float]) -> None:
        """Set ``fast`` overrides on the reset state; a resized compartment keeps its species' initial
        concentrations (unless ``overrides`` sets them); initial assignments are evaluated again."""
        rr = self._rr
        ordered = sorted(fast.items(), key=lambda kv: kv[0] not in self._conc_species)
        plan = self._ia_plan
        reassign = False
        for key, value in ordered:
            if key.strip("[]") in self._ia_inputs:
                reassign = True
            if key in self._conc_species:
                kept = {f"[{s}]": engine.get_value(rr, f"[{s}]") for s in self._conc_species[key]}
                engine.set_value(rr, key, value)
                for sel, conc in kept.items():
                    if sel not in overrides:
                        engine.set_value(rr, sel, conc)
            else:
                engine.set_value(rr, key, value)
        if reassign and plan is not None:  # initial assignments read an override: evaluate them again
            plan.apply(rr, keep={k.strip("[]") for k in overrides})
