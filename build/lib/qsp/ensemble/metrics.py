"""Metric descriptions: which function of which output an ensemble reports per simulation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import metrics as _m
from ..errors import InputError

#: name -> (function of (t, y, **kwargs), positional keyword names accepted after the output in the short form)
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
        ``method='log-down'`` for auc...).
    name : str, optional
        Column name; default ``function(output)`` plus kwargs.
    """

    function: str
    output: str
    kwargs: dict = field(default_factory=dict)
    name: str = ""

    def __post_init__(self):
        if self.function not in _FUNCTIONS:
            raise InputError(f"unknown metric {self.function!r}; use one of {', '.join(_FUNCTIONS)}")
        if not self.name:
            extra = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
            object.__setattr__(self, "name", f"{self.function}({self.output}{',' + extra if extra else ''})")

    def __hash__(self):
        return hash((self.function, self.output, tuple(sorted(self.kwargs.items())), self.name))

    def compute(self, t: np.ndarray, y: np.ndarray) -> float:
        """Apply the metric to one column."""
        return float(_FUNCTIONS[self.function][0](t, y, **self.kwargs))

    @classmethod
    def parse(cls, text: str) -> Metric:
        """Parse ``function:output[:value][:key=value...]``, e.g. ``value_at:TV:28`` or ``auc:[Cp]:method=log-down``."""
        parts = text.split(":")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise InputError(f"metric {text!r} must look like FUNCTION:OUTPUT[:VALUE], "
                             "e.g. cmax:[Cp] or value_at:TV:28")
        fn, output, rest = parts[0].strip(), parts[1].strip(), parts[2:]
        if fn not in _FUNCTIONS:
            raise InputError(f"unknown metric {fn!r} in {text!r}; use one of {', '.join(_FUNCTIONS)}")
        positional = list(_FUNCTIONS[fn][1])
        kwargs = {}
        for item in rest:
            if "=" in item:
                k, v = item.split("=", 1)
            elif positional:
                k, v = positional.pop(0), item
            else:
                raise InputError(f"metric {text!r}: unexpected value {item!r}")
            try:
                kwargs[k.strip()] = float(v)
            except ValueError:
                kwargs[k.strip()] = v.strip()
        missing = [p for p in positional if p not in kwargs]
        if missing:
            raise InputError(f"metric {text!r} needs {missing[0]} (e.g. {fn}:{output}:VALUE)")
        return cls(fn, output, kwargs)


def as_metrics(metrics) -> tuple[Metric, ...]:
    """Accept Metric objects or their short strings."""
    if metrics is None:
        return ()
    if isinstance(metrics, (str, Metric)):
        metrics = [metrics]
    out = tuple(m if isinstance(m, Metric) else Metric.parse(str(m)) for m in metrics)
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise InputError(f"metric names must be unique. Got {names}.")
    return out
