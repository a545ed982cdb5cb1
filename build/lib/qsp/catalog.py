"""The models shipped with qsp: where they are and what their metadata says."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ._ids import unknown_id
from .errors import ModelError

__all__ = ["models_dir", "list_models", "model_path", "model_metadata"]


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
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read model metadata {path!r}: {exc}") from None


def model_metadata(name: str) -> dict:
    """Metadata of a shipped model (drugs, regimens, outputs, parameter ranges) as a new dict."""
    model_path(name)
    return json.loads(json.dumps(_read_metadata(str(models_dir() / f"{name}.json"))))
