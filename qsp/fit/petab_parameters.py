"""The parameter table of a PEtab problem: the estimated parameters' space, the values of all
parameters for a point of that space, and the objective priors.

Every value an evaluation needs (parameter-table parameters, numeric overrides from the condition
and measurement tables) lives in one vector, the *pool*: the table's parameters first (linear
values: nominal for fixed ones, from ``x`` for estimated ones), then the constants. Tables refer
to entries of the pool by index, so an evaluation is one vector update and fancy indexing.

Priors (``objectivePriorType`` / ``objectivePriorParameters``), as negative log densities without
truncation to the bounds: ``normal`` (mean, sd), ``laplace`` (location, scale), ``uniform`` (low,
high), ``logNormal`` (mean and sd of the log), ``logLaplace`` (location and scale of the log), all
of the linear parameter value; ``parameterScaleNormal``, ``parameterScaleLaplace`` and
``parameterScaleUniform`` the same of the value on the parameter scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .objective import SCALES, ParameterSpace, to_linear, to_scale

__all__ = ["PRIOR_TYPES", "Prior", "ParameterTable", "Pool", "parameter_table"]

PRIOR_TYPES = ("normal", "laplace", "uniform", "logNormal", "logLaplace", "parameterScaleNormal",
               "parameterScaleLaplace", "parameterScaleUniform")


@dataclass(frozen=True)
class Prior:
    """One objective prior: its PEtab type, its two parameters and the scale it applies on."""

    kind: str
    a: float
    b: float

    def nlog(self, value: float, scaled: float) -> float:
        """Negative log density at ``value`` (linear) / ``scaled`` (on the parameter scale)."""
        kind, a, b = self.kind, self.a, self.b
        v = scaled if kind.startswith("parameterScale") else value
        base = kind.replace("parameterScale", "").lower()
        if base in ("lognormal", "loglaplace"):
            if not v > 0:
                return math.inf
            jac, v = math.log(v), math.log(v)
            base = base[3:]
        else:
            jac = 0.0
        if base == "normal":
            return 0.5 * math.log(2 * math.pi * b * b) + 0.5 * ((v - a) / b) ** 2 + jac
        if base == "laplace":
            return math.log(2 * b) + abs(v - a) / b + jac
        return math.log(b - a) if a <= v <= b else math.inf  # uniform


@dataclass
class ParameterTable:
    """The parameter table in the form an evaluation uses."""

    ids: tuple[str, ...]
    nominal: np.ndarray           # linear nominal values of all table parameters
    estimated: np.ndarray         # positions (in ids) of the estimated parameters
    space: ParameterSpace
    priors: tuple[Prior | None, ...]

    @property
    def with_prior(self) -> bool:
        return any(p is not None for p in self.priors)

    def neg_log_prior(self, x: np.ndarray) -> float:
        """Sum of the negative log priors at ``x`` (on the parameter scale)."""
        if not self.with_prior:
            return 0.0
        lin = to_linear(x, self.space.scales)
        return float(sum(p.nlog(float(v), float(s)) for p, v, s in zip(self.priors, lin, x) if p is not None))


def _number(value, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number; got {value!r}") from None


def parameter_table(df: pd.DataFrame) -> ParameterTable:
    """Read a PEtab parameter table (indexed by parameterId)."""
    ids = tuple(str(i) for i in df.index)
    n = len(ids)
    scales = [str(s) if isinstance(s, str) and s else "lin" for s in df.get("parameterScale", ["lin"] * n)]
    for pid, s in zip(ids, scales):
        if s not in SCALES:
            raise InputError(f"parameter {pid!r}: parameterScale must be one of {', '.join(SCALES)}; got {s!r}")
    est = np.array([bool(int(_number(e, f"estimate of parameter {pid!r}"))) for pid, e in
                    zip(ids, df["estimate"] if "estimate" in df else [0] * n)], dtype=bool)
    nominal = np.array([_number(v, f"nominalValue of parameter {pid!r}") if not pd.isna(v) else np.nan
                        for pid, v in zip(ids, df["nominalValue"] if "nominalValue" in df else [np.nan] * n)])
    fixed_missing = [pid for pid, e, v in zip(ids, est, nominal) if not e and not np.isfinite(v)]
    if fixed_missing:
        raise InputError(f"fixed parameter {fixed_missing[0]!r} has no finite nominalValue")
    pos = np.flatnonzero(est)
    e_ids = tuple(ids[i] for i in pos)
    e_scales = tuple(scales[i] for i in pos)
    lower = np.array([_number(df["lowerBound"].iloc[i], f"lowerBound of {ids[i]!r}") for i in pos])
    upper = np.array([_number(df["upperBound"].iloc[i], f"upperBound of {ids[i]!r}") for i in pos])
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = to_scale(lower[None, :], e_scales)[0] if len(pos) else lower
        hi = to_scale(upper[None, :], e_scales)[0] if len(pos) else upper
        nom = to_scale(nominal[pos][None, :], e_scales)[0] if len(pos) else nominal[pos]
    for k, i in enumerate(pos):
        if not np.isfinite(lo[k]) and e_scales[k] != "lin":
            raise InputError(f"parameter {ids[i]!r}: lowerBound {lower[k]:g} must be > 0 on a {e_scales[k]} scale")
    nom = np.where(np.isfinite(nom), nom, (lo + hi) / 2)
    space = ParameterSpace(e_ids, e_scales, lo, hi, nom)
    nominal = nominal.copy()
    nominal[pos] = to_linear(nom[None, :], e_scales)[0] if len(pos) else nominal[pos]
    return ParameterTable(ids, nominal, pos, space, _priors(df, pos, ids))


def _priors(df: pd.DataFrame, pos: np.ndarray, ids: tuple[str, ...]) -> tuple[Prior | None, ...]:
    if "objectivePriorType" not in df:
        return tuple(None for _ in pos)
    out = []
    for i in pos:
        kind = df["objectivePriorType"].iloc[i]
        if not isinstance(kind, str) or not kind.strip():
            out.append(None)
            continue
        kind = kind.strip()
        if kind not in PRIOR_TYPES:
            raise InputError(f"parameter {ids[i]!r}: objectivePriorType must be one of {', '.join(PRIOR_TYPES)}; "
                             f"got {kind!r}")
        raw = df["objectivePriorParameters"].iloc[i] if "objectivePriorParameters" in df else None
        parts = str(raw).split(";") if isinstance(raw, str) else []
        if len(parts) != 2:
            raise InputError(f"parameter {ids[i]!r}: objectivePriorParameters must be two numbers 'a;b' for a "
                             f"{kind} prior; got {raw!r}")
        a, b = (_number(s.strip(), f"objectivePriorParameters of {ids[i]!r}") for s in parts)
        if kind.lower().endswith("uniform") and not a < b:
            raise InputError(f"parameter {ids[i]!r}: a uniform prior needs low < high; got {a:g};{b:g}")
        if not kind.lower().endswith("uniform") and not b > 0:
            raise InputError(f"parameter {ids[i]!r}: the scale of a {kind} prior must be > 0; got {b:g}")
        out.append(Prior(kind, a, b))
    return tuple(out)


class Pool:
    """Values referred to by index: the parameter table's parameters, then constants."""

    def __init__(self, table: ParameterTable):
        self.table = table
        self._index = {pid: i for i, pid in enumerate(table.ids)}
        self._constants: list[float] = []
        self._constant_index: dict[float, int] = {}

    def __contains__(self, pid: str) -> bool:
        return pid in self._index

    def of(self, value, what: str) -> int:
        """Index of a number or of a parameter-table id (``what`` names the place, for errors)."""
        if isinstance(value, str):
            text = value.strip()
            if text in self._index:
                return self._index[text]
            try:
                value = float(text)
            except ValueError:
                raise InputError(f"{what}: {text!r} is neither a number nor a parameter of the parameter "
                                 "table") from None
        v = float(value)
        key = v if not math.isnan(v) else "nan"
        if key not in self._constant_index:
            self._constant_index[key] = len(self.table.ids) + len(self._constants)
            self._constants.append(v)
        return self._constant_index[key]

    def base(self) -> np.ndarray:
        """The pool at the nominal parameters."""
        return np.concatenate([self.table.nominal, np.asarray(self._constants, float)])

    def values(self, base: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The pool at ``x`` (estimated parameters on their scales), from :meth:`base`."""
        out = base.copy()
        out[self.table.estimated] = to_linear(x, self.table.space.scales)
        return out
