"""One covariate effect: how a covariate column scales one parameter, as a multiplicative factor.

Four forms (``x`` is the covariate value of a row, ``P`` the parameter's typical value):

- ``power``: ``P * (x / reference) ** exponent`` (allometry; ``x`` must be > 0)
- ``linear``: ``P * (1 + slope * (x - reference))`` (the factor must stay > 0)
- ``exponential``: ``P * exp(coefficient * (x - reference))``
- ``categorical``: ``P * levels[x]`` (one factor per level; a level not in the map is an error)

Each has a text form, ``PARAMETER~COVARIATE:KIND(ARGS)``: ``CL~WT:power(70,0.75)``,
``V~AGE:linear(40,0.01)``, ``KA~AGE:exponential(40,-0.02)``, ``CL~SEX:categorical(F=0.8,M=1)``
(arguments by position or by name: ``power(reference=70,exponent=0.75)``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["Effect", "KINDS", "power", "linear", "exponential", "categorical", "parse_effect"]

#: kind -> the name of its value (the second argument of its text form)
KINDS = {"power": "exponent", "linear": "slope", "exponential": "coefficient", "categorical": "levels"}
_TEXT = re.compile(r"^\s*([^~:()]+?)\s*~\s*([^~:()]+?)\s*:\s*(\w+)\s*\((.*)\)\s*$")


def _num(x: float) -> str:
    """Shortest text that reads back as the same float (``70`` rather than ``70.0``)."""
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


def level_name(value) -> str:
    """A categorical level as text: ``1``, ``1.0`` and ``"1"`` are the same level; ``"F"`` stays ``F``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _num(value)
    return str(value).strip()


def _finite(value, what: str) -> float:
    if isinstance(value, bool):
        raise InputError(f"{what} must be a finite number. Got {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a finite number. Got {value!r}.") from None
    if not math.isfinite(v):
        raise InputError(f"{what} must be a finite number. Got {value!r}.")
    return v


def _id(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{what} must be a non-empty string. Got {value!r}.")
    return value.strip()


@dataclass(frozen=True)
class Effect:
    """How ``covariate`` scales ``parameter``: ``kind``, its ``reference`` and its ``value``.

    ``value`` is the exponent (power), slope (linear, per covariate unit), coefficient (exponential,
    per covariate unit) or, for categorical, ``((level, factor), ...)``. Build one with :func:`power`,
    :func:`linear`, :func:`exponential`, :func:`categorical` or :func:`parse_effect`.
    """

    parameter: str
    covariate: str
    kind: str
    reference: float | None
    value: float | tuple[tuple[str, float], ...]

    @property
    def levels(self) -> dict[str, float] | None:
        """Level -> factor (categorical), else None."""
        return dict(self.value) if self.kind == "categorical" else None

    def factor(self, column: pd.Series) -> np.ndarray:
        """The multiplicative factor of every row of ``column`` (the covariate's values).

        Raises
        ------
        InputError
            A missing or non-numeric value, a non-positive value of a power effect, a linear factor
            <= 0, or a level not in the map; the message names the row (index label) and the value.
        """
        where = f"covariate {self.covariate!r} ({self})"
        if self.kind == "categorical":
            levels = dict(self.value)
            names = [None if _missing(v) else level_name(v) for v in column.tolist()]
            for label, name, raw in zip(column.index, names, column.tolist()):
                if name is None:
                    raise InputError(f"{where}: row {label} has no value")
                if name not in levels:
                    raise InputError(f"{where}: row {label} has level {raw!r}, which is not in the map "
                                     f"(levels: {', '.join(levels)})")
            return np.array([levels[n] for n in names], dtype=float)
        x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{where}: row {column.index[i]} is {plain(column.iloc[i])!r}, not a finite number")
        if self.kind == "power":
            low = x <= 0
            if low.any():
                i = int(np.flatnonzero(low)[0])
                raise InputError(f"{where}: row {column.index[i]} is {x[i]:g}; a power effect needs values > 0")
            with np.errstate(over="ignore"):
                f = (x / self.reference) ** self.value
        elif self.kind == "linear":
            f = 1.0 + self.value * (x - self.reference)
            low = f <= 0
            if low.any():
                i = int(np.flatnonzero(low)[0])
                raise InputError(f"{where}: row {column.index[i]} ({x[i]:g}) gives the factor {f[i]:g}; a linear "
                                 "effect's factor must stay > 0")
        else:
            with np.errstate(over="ignore"):
                f = np.exp(self.value * (x - self.reference))
        bad = ~np.isfinite(f)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{where}: row {column.index[i]} ({x[i]:g}) gives a non-finite factor")
        return f

    def formula(self) -> str:
        """The factor as a formula, e.g. ``CL *= (WT / 70)^0.75``."""
        p, c = self.parameter, self.covariate
        if self.kind == "power":
            return f"{p} *= ({c} / {_num(self.reference)})^{_num(self.value)}"
        if self.kind == "linear":
            return f"{p} *= 1 + {_num(self.value)} * ({c} - {_num(self.reference)})"
        if self.kind == "exponential":
            return f"{p} *= exp({_num(self.value)} * ({c} - {_num(self.reference)}))"
        return f"{p} *= " + ", ".join(f"{_num(f)} if {c} = {lv}" for lv, f in self.value)

    def to_dict(self) -> dict:
        """``{parameter, covariate, kind, reference, exponent | slope | coefficient}`` or ``{..., levels}``."""
        d = {"parameter": self.parameter, "covariate": self.covariate, "kind": self.kind}
        if self.kind == "categorical":
            d["levels"] = dict(self.value)
        else:
            d["reference"] = self.reference
            d[KINDS[self.kind]] = self.value
        return d

    def __str__(self) -> str:
        head = f"{self.parameter}~{self.covariate}:{self.kind}"
        if self.kind == "categorical":
            return f"{head}({','.join(f'{lv}={_num(f)}' for lv, f in self.value)})"
        return f"{head}({_num(self.reference)},{_num(self.value)})"


def plain(value):
    """A numpy scalar as the Python value (for messages: ``nan``, not ``np.float64(nan)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _missing(v) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)) or v is pd.NA


def _continuous(kind: str, parameter: str, covariate: str, reference, value) -> Effect:
    parameter, covariate = _id(parameter, "parameter"), _id(covariate, "covariate")
    name = f"{parameter}~{covariate}:{kind}"
    ref = _finite(reference, f"the reference of {name}")
    if kind == "power" and ref <= 0:
        raise InputError(f"the reference of {name} must be > 0 (a covariate value). Got {reference!r}.")
    return Effect(parameter, covariate, kind, ref, _finite(value, f"the {KINDS[kind]} of {name}"))


def power(parameter: str, covariate: str, *, reference: float, exponent: float) -> Effect:
    """``parameter * (covariate / reference) ** exponent`` (e.g. allometric clearance, exponent 0.75)."""
    return _continuous("power", parameter, covariate, reference, exponent)


def linear(parameter: str, covariate: str, *, reference: float, slope: float) -> Effect:
    """``parameter * (1 + slope * (covariate - reference))``; ``slope`` per covariate unit."""
    return _continuous("linear", parameter, covariate, reference, slope)


def exponential(parameter: str, covariate: str, *, reference: float, coefficient: float) -> Effect:
    """``parameter * exp(coefficient * (covariate - reference))``; ``coefficient`` per covariate unit."""
    return _continuous("exponential", parameter, covariate, reference, coefficient)


def categorical(parameter: str, covariate: str, levels: Mapping) -> Effect:
    """``parameter * levels[covariate]``: one factor (> 0) per level, e.g. ``{"F": 0.8, "M": 1.0}``."""
    parameter, covariate = _id(parameter, "parameter"), _id(covariate, "covariate")
    name = f"{parameter}~{covariate}:categorical"
    if not isinstance(levels, Mapping) or not levels:
        raise InputError(f"the levels of {name} must be a non-empty mapping level -> factor. Got {levels!r}.")
    out: dict[str, float] = {}
    for level, factor in levels.items():
        key = level_name(level)
        if not key:
            raise InputError(f"{name} has an empty level name")
        if key in out:
            raise InputError(f"level {key!r} of {name} is given twice")
        f = _finite(factor, f"the factor of level {key!r} of {name}")
        if f <= 0:
            raise InputError(f"the factor of level {key!r} of {name} must be > 0. Got {factor!r}.")
        out[key] = f
    return Effect(parameter, covariate, "categorical", None, tuple(out.items()))


def parse_effect(text: str) -> Effect:
    """An :class:`Effect` from its text form, e.g. ``"CL~WT:power(70,0.75)"`` (see the module docstring)."""
    if not isinstance(text, str):
        raise InputError(f"a covariate effect must be a string such as 'CL~WT:power(70,0.75)'. Got {text!r}.")
    m = _TEXT.match(text)
    if not m:
        raise InputError(f"covariate effect {text!r} is not PARAMETER~COVARIATE:KIND(ARGS), e.g. "
                         "'CL~WT:power(70,0.75)' or 'CL~SEX:categorical(F=0.8,M=1)'")
    parameter, covariate, kind, body = m.groups()
    kind = kind.lower()
    if kind not in KINDS:
        raise InputError(f"covariate effect {text!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    args = [a.strip() for a in body.split(",")] if body.strip() else []
    if kind == "categorical":
        levels = {}
        for a in args:
            key, eq, value = a.partition("=")
            if not eq or not key.strip():
                raise InputError(f"covariate effect {text!r}: {a!r} is not LEVEL=FACTOR")
            if key.strip() in levels:
                raise InputError(f"covariate effect {text!r}: level {key.strip()!r} is given twice")
            levels[key.strip()] = _text_number(value, text)
        return categorical(parameter, covariate, levels)
    names = ("reference", KINDS[kind])
    values: dict[str, float] = {}
    for pos, a in enumerate(args):
        key, eq, value = a.rpartition("=")
        key = key.strip() if eq else (names[pos] if pos < 2 else "")
        if key not in names:
            raise InputError(f"covariate effect {text!r}: {kind} takes (reference, {names[1]}); got {a!r}")
        if key in values:
            raise InputError(f"covariate effect {text!r}: {key} is given twice")
        values[key] = _text_number(value, text)
    if len(values) != 2:
        raise InputError(f"covariate effect {text!r}: {kind} takes two numbers (reference, {names[1]})")
    return _continuous(kind, parameter, covariate, values["reference"], values[names[1]])


def _text_number(value: str, text: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InputError(f"covariate effect {text!r}: {value.strip()!r} is not a number") from None
