"""Per-row body weight and covariates: what each row of an ensemble's samples runs with.

A covariate model turns covariate columns into per-row parameter values (the typical value is the
row's own column of that parameter, else ``params=``, else the model's value). The body weight of
a row comes from the reserved ``body_weight`` column or the column that ``body_weight="COLUMN"``
names; it only scales per-kg doses. Columns that are not model ids (covariates, the body weight)
are carried to the result table but never sent to the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..covariates.effects import plain
from ..dosing import Dose
from ..errors import InputError
from ..model import Model
from ..units import parse_dose_unit

__all__ = ["BODY_WEIGHT", "Individuals", "prepare", "per_kg"]

#: The reserved sample column of per-row body weights (kg).
BODY_WEIGHT = "body_weight"


@dataclass
class Individuals:
    """The samples to run (covariate effects applied) and where the body weight comes from."""

    samples: pd.DataFrame
    carried: tuple[str, ...]
    body_weight: float | None
    weights: np.ndarray | None = None
    weight_column: str | None = None


def _model_ids(model: Model) -> set[str]:
    species = set(model._floating) | set(model._boundary)
    return set(model._parameters) | set(model._compartments) | species | {f"[{s}]" for s in species}


def per_kg(regs) -> bool:
    """Whether any dose of ``regs`` (``[(name, doses, params)]``) is per kg of body weight."""
    return any(isinstance(d, Dose) and d.unit is not None and parse_dose_unit(d.unit)[2]
               for _, doses, _ in regs for d in doses)


def _weights(samples: pd.DataFrame, column: str) -> np.ndarray:
    raw = samples[column]
    if pd.api.types.is_bool_dtype(raw):
        raise InputError(f"body weight column {column!r} holds true/false values, not kg")
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"body weight column {column!r}: row {i} is {plain(raw.iloc[i])!r}; body weights must be "
                         "positive numbers of kg")
    return values


def _weight_column(model: Model, samples: pd.DataFrame, body_weight) -> str | None:
    """The column of per-row body weights, or None (after refusing ambiguous combinations)."""
    if isinstance(body_weight, str):
        if body_weight not in samples.columns:
            shown = ", ".join(map(str, list(samples.columns)[:8])) or "none"
            raise InputError(f"body_weight={body_weight!r} is not a column of samples (columns: {shown})")
        if body_weight != BODY_WEIGHT and BODY_WEIGHT in samples.columns:
            raise InputError(f"samples have a {BODY_WEIGHT!r} column (per-row body weight) and body_weight="
                             f"{body_weight!r} names another; drop or rename one")
        return body_weight
    if BODY_WEIGHT not in samples.columns:
        return None
    if BODY_WEIGHT in _model_ids(model):
        if body_weight is None:
            raise InputError(f"sample column {BODY_WEIGHT!r} is an id of model {model.name!r} and also the reserved "
                             f"name of the per-row body weight; pass body_weight={BODY_WEIGHT!r} to use it for both, "
                             "or body_weight=KG to set only the model's value")
        return None  # an explicit number: the column is only the model's value
    if body_weight is not None:
        raise InputError(f"samples have a {BODY_WEIGHT!r} column (per-row body weight) and body_weight="
                         f"{body_weight!r} is also given; give one")
    return BODY_WEIGHT


def prepare(model: Model, samples: pd.DataFrame, body_weight, covariate_model,
            fixed: Mapping[str, float]) -> Individuals:
    """Apply ``covariate_model`` to ``samples`` and resolve the body weight (number, column or none).

    Raises
    ------
    InputError
        A covariate model that is not one or does not fit the model or the samples, a body-weight
        column that is missing, ambiguous or holds a non-positive or non-finite value (the row is named).
    """
    from ..covariates import CovariateModel

    ids = _model_ids(model)
    carried: list[str] = []
    if covariate_model is not None:
        if not isinstance(covariate_model, CovariateModel):
            raise InputError(f"covariate_model must be a qsp.CovariateModel. Got {type(covariate_model).__name__}.")
        typical = {p: v for p, v in dict(fixed).items() if p in covariate_model.parameters}
        values = covariate_model.apply(samples, typical, model=model)
        samples = samples.copy()
        for pid in covariate_model.parameters:
            samples[pid] = values[pid].to_numpy()
        carried += [c for c in covariate_model.covariates if c not in ids]
    number = isinstance(body_weight, (int, float, np.integer, np.floating)) and not isinstance(body_weight, bool)
    if not (body_weight is None or isinstance(body_weight, str) or number):
        raise InputError(f"body_weight must be a positive number of kg or the name of a samples column. "
                         f"Got {body_weight!r}.")
    column = _weight_column(model, samples, body_weight)
    if column is None:
        scalar = model.metadata.get("body_weight") if body_weight is None else body_weight
        return Individuals(samples, tuple(carried), scalar)
    weights = _weights(samples, column)
    if column not in ids and column not in carried:
        carried.append(column)
    return Individuals(samples, tuple(carried), None, weights, column)
