"""Metric descriptions: which function of which output an ensemble reports per simulation.

A metric given as a string (``"value_at:TV:28"``) is reported in a column named exactly as typed
(outer spaces removed). A :class:`Metric` built in Python is reported under its ``name``
(default ``function(output,key=value...)``, e.g. ``value_at(TV,at=28.0)``).
Arguments are checked when a metric is made, and against the output grid by :func:`check_metrics`
before an ensemble simulates anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import metrics as _m
from ..errors import InputError

#: name -> (function of (t, y, **kwargs), positional argument names accepted after the output in the short form)
_FUNCTIONS = {
    "auc": (_m.auc, ()),
    "cmax": (_m.cmax, ()),
    "tmax": (_m.tmax, ()),
    "cmin": (_m.cmin, ()),
    "nadir": (_m.nadir, ()),
    "time_of_nadir": (_m.time_of_nadir, ()),
    "value_at": (_m.value_at, ("at",)),
    "trough": (_m.trough, ("dose_time",)),
    "time_above": (_m.time_above, ("threshold",)),
    "best_percent_change": (_m.best_percent_change, ()),
    "final": (lambda t, y: float(y[-1]), ()),
    "initial": (lambda t, y: float(y[0]), ()),
    "percent_change_final": (lambda t, y: float(_m.percent_change(t, y)[-1]), ()),
}

_WINDOW = {"t_start": "time", "t_end": "time"}
#: name -> {argument: kind}; kind is "time" (a time on the output grid), "number", or a tuple of choices
_ARGUMENTS: dict[str, dict[str, object]] = {
    "auc": {"method": ("linear", "log-down"), **_WINDOW},
    "cmax": dict(_WINDOW), "tmax": dict(_WINDOW), "cmin": dict(_WINDOW),
    "value_at": {"at": "time"},
    "trough": {"dose_time": "time"},
    "time_above": {"threshold": "number"},
    "best_percent_change": {"baseline": "time"},
    "percent_change_final": {},
}


def _check_arguments(function: str, kwargs: dict) -> dict:
    """Return ``kwargs`` with numbers as floats; raise InputError naming a wrong, missing or unknown argument."""
    allowed = _ARGUMENTS.get(function, {})
    out = {}
    for key, value in kwargs.items():
        kind = allowed.get(key)
        if kind is None:
            known = ", ".join(allowed) or "none"
            raise InputError(f"{function} takes no argument {key!r} (arguments: {known})")
        if isinstance(kind, tuple):
            if value not in kind:
                raise InputError(f"{key} of {function} must be one of {', '.join(kind)}. Got {value!r}.")
            out[key] = value
            continue
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(value)):
            raise InputError(f"{key} of {function} must be a finite number. Got {value!r}.")
        out[key] = float(value)
    for key in _FUNCTIONS[function][1]:
        if key not in out:
            raise InputError(f"{function} needs {key} (e.g. {function}:OUTPUT:VALUE)")
    return out


@dataclass(frozen=True)
class Metric:
    """A per-simulation summary: ``function`` (see :data:`METRICS`) applied to one ``output``.

    Parameters
    ----------
    function : str
        One of ``auc, cmax, tmax, cmin, nadir, time_of_nadir, value_at, trough, time_above,
        best_percent_change, final, initial, percent_change_final``.
    output : str
        Output selector (``[Cp]``, ``TV``...).
    kwargs : dict
        Extra arguments of the function (``at=28`` for value_at, ``threshold=...`` for time_above,
        ``method='log-down'`` for auc, ``t_start``/``t_end`` windows; times in the model time unit).
    name : str, optional
        Column name; default ``function(output)`` plus kwargs. :meth:`parse` names a metric by the text parsed.
    """

    function: str
    output: str
    kwargs: dict = field(default_factory=dict)
    name: str = ""

    def __post_init__(self):
        if self.function not in _FUNCTIONS:
            raise InputError(f"unknown metric {self.function!r}; use one of {', '.join(_FUNCTIONS)}")
        if not isinstance(self.output, str) or not self.output.strip():
            raise InputError(f"metric {self.function!r} needs an output id. Got {self.output!r}.")
        if not isinstance(self.kwargs, dict):
            raise InputError(f"kwargs of metric {self.function!r} must be a dict. Got {self.kwargs!r}.")
        object.__setattr__(self, "kwargs", _check_arguments(self.function, self.kwargs))
        if not self.name:
            extra = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
            object.__setattr__(self, "name", f"{self.function}({self.output}{',' + extra if extra else ''})")

    def __hash__(self):
        return hash((self.function, self.output, tuple(sorted(self.kwargs.items())), self.name))

    def compute(self, t: np.ndarray, y: np.ndarray) -> float:
        """Apply the metric to one column."""
        return float(_FUNCTIONS[self.function][0](t, y, **self.kwargs))

    def check_grid(self, grid: np.ndarray) -> None:
        """Refuse times outside the output grid ``grid`` (model time unit), before any simulation."""
        lo, hi = float(grid[0]), float(grid[-1])
        kinds = _ARGUMENTS.get(self.function, {})
        for key, value in self.kwargs.items():
            if kinds.get(key) == "time" and not lo <= value <= hi:
                raise InputError(f"metric {self.name!r}: {key}={value:g} is outside the simulated time range "
                                 f"[{lo:g}, {hi:g}]")
        if self.function == "trough" and not self.kwargs["dose_time"] > lo:
            raise InputError(f"metric {self.name!r}: no output time before dose_time={self.kwargs['dose_time']:g} "
                             f"(the grid starts at {lo:g})")
        a, b = self.kwargs.get("t_start", lo), self.kwargs.get("t_end", hi)
        if b < a:
            raise InputError(f"metric {self.name!r}: t_end={b:g} is before t_start={a:g}")

    @classmethod
    def parse(cls, text: str) -> Metric:
        """Parse ``function:output[:value][:key=value...]``, e.g. ``value_at:TV:28`` or ``auc:[Cp]:method=log-down``.

        The metric's name (its column in ensemble tables) is ``text`` itself, outer spaces removed.
        """
        if not isinstance(text, str):
            raise InputError(f"a metric must be a string like 'cmax:[Cp]' or a Metric. Got {text!r}.")
        text = text.strip()
        parts = text.split(":")
        if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            raise InputError(f"metric {text!r} must look like FUNCTION:OUTPUT[:VALUE], "
                             "e.g. cmax:[Cp] or value_at:TV:28")
        fn, output, rest = parts[0].strip(), parts[1].strip(), parts[2:]
        if fn not in _FUNCTIONS:
            raise InputError(f"unknown metric {fn!r} in {text!r}; use one of {', '.join(_FUNCTIONS)}")
        positional = list(_FUNCTIONS[fn][1])
        kwargs: dict = {}
        for item in rest:
            if "=" in item:
                k, v = (s.strip() for s in item.split("=", 1))
            elif positional:
                k, v = positional.pop(0), item.strip()
            else:
                raise InputError(f"metric {text!r}: unexpected value {item!r}")
            if k in kwargs:
                raise InputError(f"metric {text!r}: {k} is given twice")
            kwargs[k] = v
        try:
            return cls(fn, output, kwargs, name=text)
        except InputError as exc:
            raise InputError(f"metric {text!r}: {exc}") from None


def as_metrics(metrics) -> tuple[Metric, ...]:
    """Accept Metric objects or their short strings (names must be unique)."""
    if metrics is None:
        return ()
    if isinstance(metrics, (str, Metric)):
        metrics = [metrics]
    out = tuple(m if isinstance(m, Metric) else Metric.parse(m) for m in metrics)
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"metric names must be unique; {', '.join(repr(n) for n in twice)} appears twice")
    return out


def check_metrics(metrics: Sequence[Metric], model, grid: np.ndarray | None) -> None:
    """Check every metric's output exists in ``model`` and its times lie on ``grid`` (when given);
    raise one QSPError naming the metric."""
    from ..errors import UnknownIdError

    for m in metrics:
        try:
            model._check_outputs([m.output])
        except UnknownIdError as exc:
            raise UnknownIdError(f"metric {m.name!r}: {exc}") from None
        except InputError as exc:
            raise InputError(f"metric {m.name!r}: {exc}") from None
        if grid is not None:
            m.check_grid(grid)
