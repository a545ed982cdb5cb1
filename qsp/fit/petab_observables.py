"""Observable and noise formulas of a PEtab problem, compiled to numpy over the measurement rows.

Formulas are parsed as ``petab`` parses them (``petab.v1.math.sympify_petab``) and compiled with
``sympy.lambdify``. A formula's symbols are, in this order of precedence: ``time``; the placeholders
``observableParameterN_<obsId>`` / ``noiseParameterN_<obsId>`` (replaced per measurement row from
the ``observableParameters`` / ``noiseParameters`` columns: numbers or parameter ids); in a noise
formula, the observable's own id (its simulated value); model quantities (species as their SBML
math means them, parameters, compartments, rule variables, reactions), read from the simulation;
and the parameter table's other parameters. Anything else is refused when the problem is read.

Everything here is picklable: the compiled functions are rebuilt on first use after unpickling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from . import noise
from .petab_parameters import Pool

__all__ = ["Formula", "Observable", "parse_formula", "observables_of", "bind_rows"]

_PLACEHOLDER = re.compile(r"^(observable|noise)Parameter(\d+)_(.+)$")


def parse_formula(text, what: str):
    """A PEtab formula (text or number) as a sympy expression; one-line error when it does not parse."""
    from petab.v1.math import sympify_petab

    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        text = repr(float(text))
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{what} is empty")
    try:
        return sympify_petab(text.strip())
    except Exception as exc:  # noqa: BLE001 - antlr and sympy raise many kinds
        raise InputError(f"{what} {text.strip()!r} does not parse: {' '.join(str(exc).split())[:200]}") from None


@dataclass
class Formula:
    """An expression and its symbols, each bound to a source: ('sel', column), ('pool', index),
    ('obs', k) / ('noise', k) (placeholder k), ('time', None) or ('y', None)."""

    expr: object
    names: tuple[str, ...]
    sources: tuple[tuple[str, object], ...]
    _fn: object = field(default=None, repr=False, compare=False)

    def __getstate__(self):
        return {"expr": self.expr, "names": self.names, "sources": self.sources, "_fn": None}

    def evaluate(self, args: list[np.ndarray], n: int) -> np.ndarray:
        if self._fn is None:
            import sympy

            syms = sorted(self.expr.free_symbols, key=lambda s: s.name)
            self._fn = sympy.lambdify(syms, self.expr, modules="numpy", dummify=True)
        with np.errstate(all="ignore"):
            v = np.asarray(self._fn(*args), dtype=float)
        return np.broadcast_to(v, (n,)) if v.shape != (n,) else v


@dataclass
class Observable:
    """One observable: formulas, noise model and, for its measurement rows, the placeholder values."""

    id: str
    formula: Formula
    noise: Formula
    distribution: str
    rows: np.ndarray = None            # measurement rows of this observable
    obs_index: np.ndarray = None       # (rows, placeholders) pool indices
    noise_index: np.ndarray = None


def _symbol_names(expr) -> set[str]:
    return {s.name for s in expr.free_symbols}


def _placeholders(names: set[str], obs_id: str, kind: str, what: str) -> int:
    ks = []
    for n in names:
        m = _PLACEHOLDER.match(n)
        if m and m.group(1) == kind:
            if m.group(3) != obs_id:
                raise InputError(f"{what} uses {n!r}, a placeholder of another observable")
            ks.append(int(m.group(2)))
    if sorted(ks) != list(range(1, len(ks) + 1)):
        raise InputError(f"{what}: {kind}Parameter placeholders must be numbered 1..N without gaps; got "
                         f"{', '.join(map(str, sorted(ks)))}")
    return len(ks)


def observables_of(observable_df: pd.DataFrame, resolve) -> dict[str, Observable]:
    """Parse and bind every observable. ``resolve(name)`` -> ('sel', id) for a model quantity,
    ('pool', index) for a parameter-table parameter, or None."""
    out = {}
    for oid, row in observable_df.iterrows():
        oid = str(oid)
        trafo = row.get("observableTransformation", "lin")
        dist = row.get("noiseDistribution", "normal")
        dist_name = noise.distribution_name(trafo if isinstance(trafo, str) and trafo else "lin",
                                            dist if isinstance(dist, str) and dist else "normal")
        f = parse_formula(row["observableFormula"], f"observableFormula of {oid!r}")
        s = parse_formula(row["noiseFormula"], f"noiseFormula of {oid!r}") if "noiseFormula" in row else None
        if s is None:
            raise InputError(f"observable {oid!r} has no noiseFormula")
        out[oid] = Observable(oid, _bind(f, oid, resolve, f"observableFormula of {oid!r}", noise=False),
                              _bind(s, oid, resolve, f"noiseFormula of {oid!r}", noise=True), dist_name)
    return out


def _bind(expr, oid: str, resolve, what: str, *, noise: bool) -> Formula:
    names = sorted(_symbol_names(expr))
    _placeholders(set(names), oid, "noise" if noise else "observable", what)
    sources = []
    for n in names:
        m = _PLACEHOLDER.match(n)
        if n == "time":
            sources.append(("time", None))
        elif m:
            if m.group(3) != oid:
                raise InputError(f"{what} uses {n!r}, a placeholder of another observable")
            if m.group(1) == "noise" and not noise:
                raise InputError(f"{what} uses the noise placeholder {n!r}")
            sources.append(("obs" if m.group(1) == "observable" else "noise", int(m.group(2)) - 1))
        elif noise and n == oid:
            sources.append(("y", None))
        else:
            src = resolve(n)
            if src is None:
                raise InputError(f"{what} uses {n!r}, which is not a model quantity, a parameter of the parameter "
                                 f"table or a placeholder")
            sources.append(src)
    return Formula(expr, tuple(names), tuple(sources))


def _overrides(value, n: int, what: str) -> list:
    from petab.v1 import split_parameter_replacement_list

    if n == 0:
        return []
    parts = split_parameter_replacement_list(value) if not (isinstance(value, float) and np.isnan(value)) else []
    if len(parts) != n:
        raise InputError(f"{what}: the observable has {n} placeholder(s) but the row gives {len(parts)} value(s)")
    return parts


def _count(sources, kind: str) -> int:
    return 1 + max((p for k, p in sources if k == kind), default=-1)


def bind_rows(observables: dict[str, Observable], measurement_df: pd.DataFrame, pool: Pool) -> None:
    """Fill in each observable's measurement rows and their placeholder values (as pool indices)."""
    ids = measurement_df["observableId"].astype(str).to_numpy()
    unknown = sorted(set(ids) - set(observables))
    if unknown:
        raise InputError(f"measurement table uses observable {unknown[0]!r}, which the observable table does not "
                         "define")
    obs_col = measurement_df["observableParameters"] if "observableParameters" in measurement_df else None
    noise_col = measurement_df["noiseParameters"] if "noiseParameters" in measurement_df else None
    for oid, o in observables.items():
        rows = np.flatnonzero(ids == oid)
        n_obs = _count(o.formula.sources + o.noise.sources, "obs")
        n_noise = _count(o.noise.sources, "noise")
        oi = np.empty((len(rows), n_obs), dtype=int)
        ni = np.empty((len(rows), n_noise), dtype=int)
        for j, r in enumerate(rows):
            where = f"measurement row {r + 1} ({oid})"
            ov = _overrides(obs_col.iloc[r] if obs_col is not None else np.nan, n_obs, f"{where}, observableParameters")
            nv = _overrides(noise_col.iloc[r] if noise_col is not None else np.nan, n_noise,
                            f"{where}, noiseParameters")
            oi[j] = [pool.of(v, f"{where}, observableParameters") for v in ov]
            ni[j] = [pool.of(v, f"{where}, noiseParameters") for v in nv]
        o.rows, o.obs_index, o.noise_index = rows, oi, ni
