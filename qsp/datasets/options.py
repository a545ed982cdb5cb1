"""Per-compartment dosing options of a dataset simulation, as NONMEM's ALAGn, Fn, Rn and Dn.

Each option maps a dosed species to a *source*: a number, a dataset column (read on the dose row) or
a model parameter (its value for that subject when the dose record is processed, covariates
applied). ``{"central": "LAGT"}`` is NONMEM's ``ALAG2 = LAGT`` for compartment 2 mapped to
``central``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["Source", "DoseOptions", "OPTION_NAMES"]

#: Option -> what it means, for messages and docs.
OPTION_NAMES = {"lag": "lag time", "bioavailability": "bioavailability",
                "modelled_rate": "modelled rate (RATE -1)", "modelled_duration": "modelled duration (RATE -2)"}


@dataclass(frozen=True)
class Source:
    """Where an option's value comes from: ``kind`` is ``"number"``, ``"column"`` or ``"parameter"``."""

    kind: str
    value: float | str


@dataclass(frozen=True)
class DoseOptions:
    """Checked options: for each option, species id -> :class:`Source`."""

    lag: Mapping[str, Source]
    bioavailability: Mapping[str, Source]
    modelled_rate: Mapping[str, Source]
    modelled_duration: Mapping[str, Source]

    @classmethod
    def build(cls, model, columns, *, lag=None, bioavailability=None, modelled_rate=None,
              modelled_duration=None, option_label=None) -> DoseOptions:
        """Check each ``{species: number | column | parameter}`` mapping against the model and the
        dataset's ``columns``; ``option_label(name)`` names the option in messages (CLI spelling)."""
        label = option_label or (lambda name: name)
        given = {"lag": lag, "bioavailability": bioavailability, "modelled_rate": modelled_rate,
                 "modelled_duration": modelled_duration}
        out = {}
        for name, mapping in given.items():
            out[name] = _sources(model, set(columns), mapping or {}, label(name))
        return cls(**out)

    def columns(self) -> set[str]:
        """Dataset columns the options read."""
        return {s.value for opt in (self.lag, self.bioavailability, self.modelled_rate, self.modelled_duration)
                for s in opt.values() if s.kind == "column"}


def _sources(model, columns: set[str], mapping, label: str) -> dict[str, Source]:
    if not isinstance(mapping, Mapping):
        raise InputError(f"{label} must map species ids to a number, a dataset column or a model parameter. "
                         f"Got {type(mapping).__name__} instead.")
    out: dict[str, Source] = {}
    for species, value in mapping.items():
        if species not in model.dose_targets and species not in model._floating:
            from .._ids import unknown_id

            raise unknown_id(f"dosed species of {label}", str(species), model._floating,
                             where=f" of model {model.name!r}")
        out[str(species)] = _source(model, columns, value, f"{label} of {species!r}")
    return out


def _source(model, columns: set[str], value, what: str) -> Source:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        if not math.isfinite(v) or v < 0:
            raise InputError(f"{what} must be a finite number >= 0. Got {value!r} instead.")
        return Source("number", v)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{what} must be a number, a dataset column or a model parameter. Got {value!r} instead.")
    text = value.strip()
    try:
        return _source(model, columns, float(text), what)
    except ValueError:
        pass
    in_data = text in columns
    in_model = text in model._parameters or text in model._selectors
    if in_data and in_model:
        raise InputError(f"{what}: {text!r} is both a dataset column and a model id; rename one of them")
    if in_data:
        return Source("column", text)
    if in_model:
        return Source("parameter", text)
    from .._ids import unknown_id

    raise unknown_id(f"dataset column or model parameter for {what}", text, sorted(columns) + model._parameters)
