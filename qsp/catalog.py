"""The models shipped with qsp: where they are and what their metadata says."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from ._ids import unknown_id
from .errors import InputError, ModelError

__all__ = ["models_dir", "list_models", "model_path", "model_metadata", "check_metadata"]


def models_dir() -> Path:
    """Directory that holds the shipped ``<name>.xml`` models and their ``<name>.json`` metadata."""
    try:  # installed (wheel or editable): the qsp.sbml_models package
        import qsp.sbml_models as package

        return Path(package.__file__).resolve().parent
    except ImportError:  # run from a source checkout without installing
        return Path(__file__).resolve().parent.parent / "sbml_models"


def list_models() -> list[str]:
    """Names of the shipped models, sorted."""
    d = models_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.xml") if (d / f"{p.stem}.json").exists())


def model_path(name: str) -> Path:
    """SBML file of a shipped model; :class:`UnknownIdError` when there is none by that name."""
    if name not in list_models():
        raise unknown_id("shipped model", name, list_models(), where=" (see qsp.list_models())")
    return models_dir() / f"{name}.xml"


@lru_cache(maxsize=None)
def _read_metadata(path: str) -> dict:
    try:
        with open(path) as fh:
            meta = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read model metadata {path!r}: {exc}") from None
    check_metadata(meta, where=Path(path).name)
    return meta


def check_metadata(meta: Mapping, where: str = "model metadata") -> None:
    """Check the ``parameter_ranges`` and ``parameter_sets`` of a model's metadata.

    Raises
    ------
    ModelError
        One line naming ``where``, the parameter (or set) and the key at fault.
    """
    from .ensemble.sampling import check_ranges  # the ensemble package imports the model layer

    if not isinstance(meta, Mapping):
        raise ModelError(f"{where}: the metadata must be a JSON object")
    ranges = meta.get("parameter_ranges")
    if ranges:
        try:
            check_ranges(ranges)
        except InputError as exc:
            raise ModelError(f"{where}: parameter_ranges: {exc}") from None
    sets = meta.get("parameter_sets", {})
    if not isinstance(sets, Mapping):
        raise ModelError(f"{where}: parameter_sets must be an object {{name: {{description, params, provenance}}}}")
    for name, pset in sets.items():
        _check_parameter_set(name, pset, where)


def _check_parameter_set(name: str, pset, where: str) -> None:
    if not isinstance(pset, Mapping):
        raise ModelError(f"{where}: parameter set {name!r} must be an object {{description, params, provenance}}")
    for key in ("description", "params", "provenance"):
        if key not in pset:
            raise ModelError(f"{where}: parameter set {name!r} has no {key!r}")
    if not isinstance(pset["description"], str) or not pset["description"].strip():
        raise ModelError(f"{where}: parameter set {name!r}: 'description' must be a non-empty string")
    params = pset["params"]
    if not isinstance(params, Mapping) or not params:
        raise ModelError(f"{where}: parameter set {name!r}: 'params' must be a non-empty object {{id: value}}")
    for pid, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelError(f"{where}: parameter set {name!r}: value of {pid!r} must be a finite number. "
                             f"Got {value!r}.")
    prov = pset["provenance"]
    if not isinstance(prov, list) or not prov or not all(isinstance(p, str) and p.strip() for p in prov):
        raise ModelError(f"{where}: parameter set {name!r}: 'provenance' must be a non-empty list of strings")


def model_metadata(name: str) -> dict:
    """Metadata of a shipped model (drugs, regimens, outputs, parameter ranges and sets) as a new dict.

    Its parameter ranges and parameter sets are checked when the file is first read (:func:`check_metadata`).
    """
    model_path(name)
    return json.loads(json.dumps(_read_metadata(str(models_dir() / f"{name}.json"))))
