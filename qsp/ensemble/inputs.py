"""Checking what an ensemble is given, once, before anything is simulated."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import pandas as pd

from .._ids import unknown_id
from ..dosing import Dose, as_dose_list
from ..errors import InputError
from ..model import Model
from .job import Job


def regimens(model: Model, regimens, fixed: Mapping[str, float] | None = None
             ) -> list[tuple[str, tuple[Dose, ...], dict]]:
    """``[(name, doses, overrides)]``; ``fixed`` overrides (``params=``/``initial=``) win over a regimen's own."""
    fixed = dict(fixed or {})
    if regimens is None:
        return [("none", (), fixed)]
    if isinstance(regimens, (Dose, list, tuple)):
        regimens = {"regimen": regimens}
    if not isinstance(regimens, Mapping) or not regimens:
        raise InputError("regimens must be a non-empty mapping name -> doses (or (doses, params), or a "
                         "regimen name of the model's metadata)")
    out = []
    for name, spec in regimens.items():
        if isinstance(spec, str):
            doses, params = model.regimen(spec)
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Mapping):
            doses, params = spec
        else:
            doses, params = spec, {}
        out.append((str(name), as_dose_list(doses), {**dict(params), **fixed}))
    return out


def check_regimen_overrides(model: Model, regs) -> None:
    """Every regimen's parameter and initial-value overrides name settable ids of ``model``."""
    settable = set(model._parameters) | set(model._compartments)
    for _, _, params in regs:
        model._override_keys({k: v for k, v in params.items() if k in settable},
                             {k: v for k, v in params.items() if k not in settable})


def fixed_overrides(model: Model, params: Mapping | None, initial: Mapping | None) -> dict[str, float]:
    """Checked ``params`` (parameter/compartment id -> value) and ``initial`` (S or [S] -> value)."""
    for what, value in (("params", params), ("initial", initial)):
        if value is not None and not isinstance(value, Mapping):
            raise InputError(f"{what} must be a mapping id -> value. Got {type(value).__name__}.")
    return model._override_keys(dict(params or {}), dict(initial or {}))


def columns(model: Model, samples: pd.DataFrame, carried: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The sample columns sent to the model, after checking each is a numeric, settable id of ``model``.

    ``carried`` columns (covariates, the body weight) are reported but not sent, so not checked here.
    """
    species = set(model._floating) | set(model._boundary)
    if samples.columns.has_duplicates:
        twice = samples.columns[samples.columns.duplicated()][0]
        raise InputError(f"sample column {twice!r} appears twice")
    for col in samples.columns:
        if col in carried:
            continue
        if not isinstance(col, str):
            raise InputError(f"sample columns must be parameter or species ids. Got {col!r}.")
        sid = col[1:-1] if col.startswith("[") and col.endswith("]") else col
        if col not in model._parameters and col not in model._compartments and sid not in species:
            raise unknown_id("parameter or species", col, model._parameters + sorted(species),
                             where=f" of model {model.name!r} (sample column)")
        if col in model._assigned or sid in model._assigned:
            raise InputError(f"sample column {col!r} is set by an assignment rule and cannot be varied")
        if not pd.api.types.is_numeric_dtype(samples[col]) or pd.api.types.is_bool_dtype(samples[col]):
            raise InputError(f"sample column {col!r} must be numeric")
    return tuple(c for c in samples.columns if c not in carried)


def fingerprint(job: Job, samples: pd.DataFrame, seed, weight_column: str | None = None) -> str:
    """A hash of everything that decides the results, to refuse resuming with other inputs.

    ``weight_column``: the samples column of per-row body weights (hashed only when there is one, so
    the fingerprints of runs without one are unchanged).
    """
    h = hashlib.sha1()
    h.update(job.key.encode())
    h.update(pd.util.hash_pandas_object(samples, index=False).values.tobytes())
    metrics = [(m.name, m.function, m.output, sorted(m.kwargs.items())) for m in job.metrics]
    h.update(json.dumps([repr(job.regimens), metrics, job.grid.tolist(), job.outputs,
                         job.trajectory_outputs, job.body_weight, job.rtol, job.atol, job.max_steps, seed,
                         job.equilibrate],
                        default=str).encode())
    if weight_column is not None:
        h.update(json.dumps(["body_weight_column", weight_column]).encode())
    return h.hexdigest()
