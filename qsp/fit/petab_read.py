"""Reading a PEtab v1 problem with the ``petab`` library, as one-line errors.

:func:`read_problem` loads the YAML file and its tables, runs ``petab.lint`` on them (with the
library's log kept off the terminal) and returns the tables and the SBML text that qsp works on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["PetabTables", "read_problem", "tables_of", "library_warnings_off"]


@dataclass
class PetabTables:
    """The tables of a PEtab v1 problem (as ``petab`` reads them) and its SBML model text."""

    sbml: str
    condition_df: pd.DataFrame
    measurement_df: pd.DataFrame
    observable_df: pd.DataFrame
    parameter_df: pd.DataFrame
    name: str
    location: str | None = None


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(" ".join(str(record.getMessage()).split()))


@contextlib.contextmanager
def _petab_log():
    """Collect the ``petab`` library's error messages; nothing it logs reaches the terminal."""
    logger = logging.getLogger("petab")
    handler = _Collect()
    propagate, level = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        logger.setLevel(level)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_problem(path: str | os.PathLike, *, lint: bool = True) -> PetabTables:
    """Load the PEtab v1 problem at ``path`` (its YAML file) and check it with ``petab.lint``.

    Raises
    ------
    InputError
        The file does not exist, is not a PEtab v1 problem, or the problem is invalid (the first
        error ``petab.lint`` reports).
    """
    with library_warnings_off():
        return _read(Path(path), lint)


@contextlib.contextmanager
def library_warnings_off():
    """Keep the ``petab`` library's deprecation warnings (not the user's to act on) inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _read(p: Path, lint: bool) -> PetabTables:
    import petab.v1 as petab

    if not p.exists():
        raise InputError(f"PEtab problem file {str(p)!r} does not exist")
    if not p.is_file():
        raise InputError(f"PEtab problem path {str(p)!r} is not a file")
    _check_version(p)
    with _petab_log() as log:
        try:
            problem = petab.Problem.from_yaml(str(p))
        except Exception as exc:  # the library raises ValueError, KeyError, OSError, yaml and pandas errors
            raise InputError(f"cannot read PEtab problem {str(p)!r}: {_short(exc) or type(exc).__name__}") from None
        if getattr(problem, "mapping_df", None) is not None:
            raise InputError(f"PEtab problem {str(p)!r} has a mapping table, which qsp does not support")
        if problem.model is None or not hasattr(problem.model, "sbml_model"):
            raise InputError(f"PEtab problem {str(p)!r} has no SBML model")
        for what in ("condition_df", "measurement_df", "observable_df", "parameter_df"):
            if getattr(problem, what) is None:
                raise InputError(f"PEtab problem {str(p)!r} has no {what.split('_')[0]} table")
        if lint:
            try:
                failed = petab.lint_problem(problem)
            except Exception as exc:  # noqa: BLE001 - a lint crash is an invalid problem too
                failed, log.errors = True, log.errors + [_short(exc) or type(exc).__name__]
            if failed:
                first = log.errors[0] if log.errors else "see petab.lint for details"
                raise InputError(f"invalid PEtab problem {str(p)!r}: {_short(first)}")
    return tables_of(problem, name=p.stem)


def _check_version(p: Path) -> None:
    import yaml

    try:
        config = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read PEtab problem {str(p)!r}: {_short(exc)}") from None
    if not isinstance(config, dict):
        raise InputError(f"{str(p)!r} is not a PEtab problem file (a YAML mapping with format_version)")
    version = str(config.get("format_version", "")).strip()
    if version not in ("1", "1.0", "1.0.0"):
        raise InputError(f"{str(p)!r} is a PEtab problem of format version {version or '(none)'}; qsp reads "
                         "PEtab v1 (format_version 1)")


def tables_of(problem, name: str = "petab", location: str | None = None) -> PetabTables:
    """The tables of a ``petab.v1.Problem`` and its SBML text."""
    rel, base = getattr(problem.model, "rel_path", None), getattr(problem.model, "base_path", None)
    if location is None and rel:
        location = str(Path(base, rel) if base else Path(rel))
    return PetabTables(sbml=problem.model.to_sbml_str(), condition_df=problem.condition_df.copy(),
                       measurement_df=problem.measurement_df.reset_index(drop=True).copy(),
                       observable_df=problem.observable_df.copy(), parameter_df=problem.parameter_df.copy(),
                       name=name, location=location or None)
