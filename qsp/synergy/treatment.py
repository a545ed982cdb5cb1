"""The two axes of a combination (:class:`Treatment`) and how its efficacy is measured (:class:`Response`).

A treatment is either a dose of a species (``Treatment("A1", unit="mg/kg", time=3, every=3,
count=5)``) or a parameter-driven intervention (``Treatment(("RT1_dose", "RT2_dose"),
parameter=True)``: the level sets each parameter, e.g. Gy per radiotherapy fraction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dosing import Dose
from ..ensemble.metrics import Metric
from ..errors import QSPError

__all__ = ["Response", "Treatment"]


@dataclass(frozen=True)
class Treatment:
    """One axis of a combination: a dosed species or parameter-driven treatment.

    Parameters
    ----------
    target : str or tuple of str
        Dose target species id; with ``parameter=True``, the parameter id(s) the level is written to
        (a string may join several with ``+``).
    unit : str, optional
        Dose unit (``'mg/kg'``, ``'mg'``...); None: model substance units. Ignored for parameters.
    time, every, count, duration
        Schedule of each dose level, as in :class:`qsp.Dose` (model time unit).
    times : sequence of float, optional
        Several first-dose times, each repeated ``count`` times every ``every`` (replaces ``time``):
        three times a week for three weeks from day 7 is ``times=(7, 9, 11), every=7, count=3``.
    name : str, optional
        Label in tables and plots (default: the target).
    parameter : bool, default False
        The level is a parameter value instead of a dose amount.
    """

    target: str | tuple
    unit: str | None = None
    time: float = 0.0
    every: float | None = None
    count: int = 1
    duration: float | None = None
    name: str | None = None
    parameter: bool = False
    times: tuple | None = None

    def __post_init__(self):
        tgt = self.target
        if isinstance(tgt, str):
            tgt = tuple(t.strip() for t in tgt.split("+")) if self.parameter else tgt.strip()
        elif isinstance(tgt, (list, tuple)):
            tgt = tuple(str(t) for t in tgt)
            if not self.parameter:
                raise QSPError("a dosed Treatment takes one target species; use parameter=True for several parameters")
        else:
            raise QSPError(f"Treatment target must be a string. Got {tgt!r}.")
        if not tgt:
            raise QSPError("Treatment target is empty")
        object.__setattr__(self, "target", tgt)
        if self.times is not None:
            try:
                times = tuple(float(t) for t in np.atleast_1d(self.times))
            except (TypeError, ValueError):
                raise QSPError(f"Treatment times must be numbers. Got {self.times!r}.") from None
            if not times:
                raise QSPError("Treatment times is empty; give at least one first-dose time or leave it None")
            object.__setattr__(self, "times", times)
            object.__setattr__(self, "time", times[0])
        if not self.parameter:  # validate the schedule once, at the boundary
            for t in self.times or (self.time,):
                Dose(tgt, 1.0, time=t, every=self.every, count=self.count, duration=self.duration, unit=self.unit)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return "+".join(self.target) if self.parameter else self.target

    def with_schedule(self, **changes) -> Treatment:
        """A copy with schedule fields changed (time, every, count, duration, times).

        Changing ``time`` of a treatment with several first-dose ``times`` shifts them all.
        """
        fields = {k: getattr(self, k) for k in ("target", "unit", "time", "every", "count", "duration", "name",
                                                 "parameter", "times")}
        if "time" in changes and self.times is not None and "times" not in changes:
            shift = float(changes["time"]) - self.times[0]
            changes = {**changes, "times": tuple(t + shift for t in self.times)}
        fields.update(changes)
        return Treatment(**fields)

    def part(self, level: float) -> tuple[list[Dose], dict[str, float]]:
        """Doses and parameter overrides that give this treatment at ``level``."""
        if self.parameter:
            return [], {p: float(level) for p in self.target}
        if level <= 0:
            return [], {}
        return [Dose(self.target, float(level), time=t, every=self.every, count=self.count,
                     duration=self.duration, unit=self.unit) for t in (self.times or (self.time,))], {}

    @classmethod
    def parse(cls, text: str, schedule: dict | None = None) -> Treatment:
        """``TARGET[:UNIT]`` or ``param:P1+P2+...`` with an optional schedule dict."""
        text = text.strip()
        schedule = dict(schedule or {})
        if text.startswith("param:"):
            return cls(text[len("param:"):], parameter=True)
        target, _, unit = text.partition(":")
        return cls(target, unit=unit or None, **schedule)


@dataclass(frozen=True)
class Response:
    """How the efficacy of a regimen is measured.

    ``kind='tgi'``: tumour growth inhibition ``(V_ctrl - V) / V_ctrl`` of ``metric`` against the
    untreated run of the same parameter set; ``kind='value'``: the metric itself (it must rise with dose).
    """

    metric: Metric
    kind: str = "tgi"
    text: str = ""

    def __post_init__(self):
        if self.kind not in ("tgi", "value"):
            raise QSPError(f"Response kind must be 'tgi' or 'value'. Got {self.kind!r}.")
        if not self.text:
            object.__setattr__(self, "text", self.metric.name)

    @classmethod
    def parse(cls, text) -> Response:
        """``tgi:OUTPUT:T`` (TGI of OUTPUT at time T) or any ensemble metric string (``value_at:E:10``)."""
        if isinstance(text, Response):
            return text
        if isinstance(text, Metric):
            return cls(text, "value")
        parts = str(text).split(":")
        if parts[0] == "tgi":
            if len(parts) != 3:
                raise QSPError(f"response {text!r} must look like tgi:OUTPUT:TIME, e.g. tgi:W:35")
            try:
                at = float(parts[2])
            except ValueError:
                raise QSPError(f"response {text!r}: time {parts[2]!r} is not a number") from None
            return cls(Metric("value_at", parts[1], {"at": at}, name="response_raw"), "tgi", str(text).strip())
        m = Metric.parse(str(text))
        return cls(Metric(m.function, m.output, m.kwargs, name="response_raw"), "value", str(text).strip())

    @property
    def label(self) -> str:
        """What the effect is: ``TGI`` or the metric as the user wrote it (``value_at:E:10``)."""
        return "TGI" if self.kind == "tgi" else self.text

    @property
    def column(self) -> str:
        """Name of the effect column in MOOCS-DS tables: ``tgi`` for a TGI response, ``effect`` otherwise."""
        return "tgi" if self.kind == "tgi" else "effect"
