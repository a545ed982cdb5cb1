"""A covariate model: effects declared once, applied to any table of individuals.

Assumptions, stated in :meth:`CovariateModel.describe` for reports: effects on the same parameter
multiply; each multiplies the parameter's typical value (the individual's own value before covariate
effects when the table has a column of that parameter, else ``typical=``, else the model's value);
covariates are read as given (no centring or unit conversion besides each effect's reference).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._ids import unknown_id
from ..atomic import json_text
from ..errors import InputError
from .effects import KINDS, Effect, categorical, exponential, linear, parse_effect, power

__all__ = ["CovariateModel"]

_MAKERS = {"power": power, "linear": linear, "exponential": exponential}


class CovariateModel:
    """Covariate effects on model parameters, applied row by row to a table of individuals.

    Parameters
    ----------
    effects : sequence of Effect
        From :func:`qsp.covariates.power`, :func:`~qsp.covariates.linear`,
        :func:`~qsp.covariates.exponential`, :func:`~qsp.covariates.categorical` (or
        :meth:`parse` for the text form). Effects on the same parameter multiply.

    Raises
    ------
    InputError
        No effects, an item that is not an Effect, the same parameter~covariate pair twice, or a
        covariate that is also a parameter the model sets.

    Examples
    --------
    >>> cov = CovariateModel([power("CL", "WT", reference=70, exponent=0.75)])
    >>> cov.apply(pd.DataFrame({"WT": [35.0, 70.0]}), typical={"CL": 4.0})["CL"].round(3).tolist()
    [2.378, 4.0]
    """

    def __init__(self, effects: Sequence[Effect]):
        if isinstance(effects, Effect):
            effects = [effects]
        if isinstance(effects, (str, bytes)) or not isinstance(effects, Iterable):
            raise InputError(f"effects must be a list of covariate effects. Got {type(effects).__name__}.")
        effects = tuple(effects)
        if not effects:
            raise InputError("a covariate model needs at least one effect")
        seen = set()
        for e in effects:
            if not isinstance(e, Effect):
                raise InputError(f"covariate effects must be made by qsp.covariates.power, linear, exponential or "
                                 f"categorical (or CovariateModel.parse). Got {e!r}.")
            if (e.parameter, e.covariate) in seen:
                raise InputError(f"the effect of {e.covariate!r} on {e.parameter!r} is given twice")
            seen.add((e.parameter, e.covariate))
        self.effects = effects
        both = [c for c in self.covariates if c in self.parameters]
        if both:
            raise InputError(f"{both[0]!r} is both a covariate and a parameter the covariate model sets")

    @property
    def parameters(self) -> list[str]:
        """Ids the model sets, in order of first appearance."""
        return list(dict.fromkeys(e.parameter for e in self.effects))

    @property
    def covariates(self) -> list[str]:
        """Columns the model reads, in order of first appearance."""
        return list(dict.fromkeys(e.covariate for e in self.effects))

    @property
    def categorical_covariates(self) -> list[str]:
        """Covariates read as levels (their columns may hold text)."""
        return list(dict.fromkeys(e.covariate for e in self.effects if e.kind == "categorical"))

    def check(self, model) -> None:
        """Refuse a parameter id that ``model`` cannot set (UnknownIdError with close matches, or InputError)."""
        settable = list(model._parameters) + list(model._compartments)
        for pid in self.parameters:
            if pid not in settable:
                raise unknown_id("parameter", pid, settable, where=f" of model {model.name!r} (covariate model)")
            if pid in model._assigned:
                raise InputError(f"parameter {pid!r} of the covariate model is set by an assignment rule of model "
                                 f"{model.name!r} and cannot be varied")

    def apply(self, covariates: pd.DataFrame, typical: Mapping | None = None, *, model=None) -> pd.DataFrame:
        """Per-row parameter values: each typical value times the factors of its effects.

        Parameters
        ----------
        covariates : DataFrame
            One row per individual, with every covariate column (units as the references).
        typical : mapping, optional
            Parameter id -> typical value (a number, or one value per row). A column of the same id in
            ``covariates`` (an individual's value before covariate effects) wins over it.
        model : qsp.Model, optional
            Checked with :meth:`check`; supplies the typical values not given otherwise (the model's values).

        Returns
        -------
        DataFrame
            One row per input row (same index), one column per id of :attr:`parameters`.

        Raises
        ------
        InputError
            A missing covariate column, a bad covariate value (see :meth:`Effect.factor`), a missing or
            non-finite typical value, or a typical value of a parameter no effect sets.
        """
        if not isinstance(covariates, pd.DataFrame):
            raise InputError(f"covariates must be a pandas DataFrame. Got {type(covariates).__name__}.")
        missing = [c for c in self.covariates if c not in covariates.columns]
        if missing:
            shown = ", ".join(map(str, list(covariates.columns)[:8])) or "none"
            raise InputError(f"covariate column {missing[0]!r} is not in the table (columns: {shown})")
        if typical is not None and not isinstance(typical, Mapping):
            raise InputError(f"typical must be a mapping parameter id -> value. Got {type(typical).__name__}.")
        typical = dict(typical or {})
        extra = [k for k in typical if k not in self.parameters]
        if extra:
            raise InputError(f"typical value given for {extra[0]!r}, which no covariate effect sets "
                             f"(parameters: {', '.join(self.parameters)})")
        if model is not None:
            self.check(model)
        out = {}
        for pid in self.parameters:
            value = self._typical(pid, covariates, typical, model)
            for e in self.effects:
                if e.parameter == pid:
                    value = value * e.factor(covariates[e.covariate])
            out[pid] = value
        return pd.DataFrame(out, index=covariates.index)

    def _typical(self, pid: str, table: pd.DataFrame, typical: dict, model) -> np.ndarray:
        n = len(table)
        if pid in table.columns:
            what, raw = f"column {pid!r} (typical value before covariate effects)", table[pid]
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        elif pid in typical:
            what = f"typical value of {pid!r}"
            try:
                values = np.broadcast_to(np.asarray(typical[pid], dtype=float), (n,)).copy()
            except (TypeError, ValueError):
                raise InputError(f"{what} must be a number or {n} numbers. Got {typical[pid]!r}.") from None
        elif model is not None:
            what, values = f"model value of {pid!r}", np.full(n, float(model._defaults[pid]))
        else:
            raise InputError(f"no typical value for {pid!r}: give typical={{{pid!r}: ...}}, a {pid!r} column, "
                             "or model=")
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{what}: row {table.index[i]} is not a finite number")
        return values

    def describe(self) -> pd.DataFrame:
        """The assumptions, one row per effect: parameter, covariate, kind, reference, value, formula.

        ``value`` is the exponent, slope or coefficient, or ``"F=0.8, M=1"`` for categorical effects
        (whose reference is NaN).
        """
        rows = [{"parameter": e.parameter, "covariate": e.covariate, "kind": e.kind,
                 "reference": np.nan if e.reference is None else e.reference,
                 "value": ", ".join(f"{lv}={f:g}" for lv, f in e.value) if e.kind == "categorical" else e.value,
                 "formula": e.formula()} for e in self.effects]
        return pd.DataFrame(rows, columns=["parameter", "covariate", "kind", "reference", "value", "formula"])

    @classmethod
    def parse(cls, texts: str | Sequence[str]) -> CovariateModel:
        """From text forms, e.g. ``["CL~WT:power(70,0.75)", "CL~SEX:categorical(F=0.8,M=1)"]``."""
        if isinstance(texts, str):
            texts = [texts]
        return cls([parse_effect(t) for t in texts])

    @classmethod
    def from_dict(cls, spec) -> CovariateModel:
        """From :meth:`to_dict` output, or a list of text forms and/or objects with the keys parameter,
        covariate, kind, reference and exponent | slope | coefficient, or levels (categorical)."""
        if isinstance(spec, Mapping) and "effects" in spec:
            spec = spec["effects"]
        if isinstance(spec, (str, bytes, Mapping)) or not isinstance(spec, Sequence):
            raise InputError("a covariate model is a list of effects: 'CL~WT:power(70,0.75)' strings or "
                             "{parameter, covariate, kind, ...} objects")
        return cls([parse_effect(s) if isinstance(s, str) else _effect(s) for s in spec])

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> CovariateModel:
        """From a JSON file holding what :meth:`from_dict` takes (as :meth:`to_json` writes)."""
        p = Path(path)
        if not p.is_file():
            raise InputError(f"covariate model file {str(p)!r} does not exist")
        try:
            spec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"cannot read covariate model file {str(p)!r}: {' '.join(str(exc).split())}") from None
        try:
            return cls.from_dict(spec)
        except InputError as exc:
            raise InputError(f"covariate model file {str(p)!r}: {exc}") from None

    def to_dict(self) -> dict:
        """``{"effects": [effect objects]}`` (read back by :meth:`from_dict`)."""
        return {"effects": [e.to_dict() for e in self.effects]}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """:meth:`to_dict` as JSON text, written whole to ``path`` when given."""
        return json_text(self.to_dict(), path)

    def to_strings(self) -> list[str]:
        """The text form of every effect (what :meth:`parse` reads)."""
        return [str(e) for e in self.effects]

    def __eq__(self, other) -> bool:
        return isinstance(other, CovariateModel) and self.effects == other.effects

    def __hash__(self) -> int:
        return hash(self.effects)

    def __len__(self) -> int:
        return len(self.effects)

    def __repr__(self) -> str:
        return f"CovariateModel({', '.join(self.to_strings())})"


def _effect(spec) -> Effect:
    if not isinstance(spec, Mapping):
        raise InputError(f"a covariate effect must be a string or an object. Got {spec!r}.")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise InputError(f"covariate effect {dict(spec)!r}: kind must be one of {', '.join(KINDS)}. Got {kind!r}.")
    value = KINDS[kind]
    keys = {"parameter", "covariate", "kind", value} | (set() if kind == "categorical" else {"reference"})
    missing, extra = sorted(keys - set(spec)), sorted(set(spec) - keys)
    if missing or extra:
        problem = f"needs the key {missing[0]!r}" if missing else f"has the unknown key {extra[0]!r}"
        raise InputError(f"covariate effect {dict(spec)!r} {problem} (a {kind} effect has {', '.join(sorted(keys))})")
    if kind == "categorical":
        return categorical(spec["parameter"], spec["covariate"], spec["levels"])
    return _MAKERS[kind](spec["parameter"], spec["covariate"], **{"reference": spec["reference"], value: spec[value]})
