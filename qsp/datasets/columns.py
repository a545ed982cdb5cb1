"""The column vocabulary of event tables and the case-insensitive mapping of a file's header onto it.

Canonical names are upper case (``ID``, ``TIME``, ``EVID``, ...); a file may spell them in any
case (``time``, ``Amt``), and a few common synonyms are accepted (``BQL`` for ``BLQ``, ``LOQ`` for
``LLOQ``). Every other column is kept under its own name (a covariate or an extra column). ``C`` is
NONMEM's comment column: it is read, used to drop comment rows, then dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import InputError

__all__ = ["DatasetError", "CANONICAL", "REQUIRED", "NUMERIC", "COMMENT", "canonical_name", "map_columns"]


class DatasetError(InputError):
    """An event table (NONMEM-style dataset) is malformed; the message names the row and column."""


#: Canonical columns, in the order a :class:`~qsp.datasets.Dataset` holds them.
CANONICAL: tuple[str, ...] = ("ID", "TIME", "EVID", "AMT", "CMT", "RATE", "DUR", "II", "ADDL", "SS",
                              "MDV", "DV", "DVID", "BLQ", "LLOQ")
#: Columns a dataset must have.
REQUIRED: tuple[str, ...] = ("ID", "TIME")
#: Canonical columns that must hold numbers (CMT may hold names, DVID anything).
NUMERIC: tuple[str, ...] = ("ID", "TIME", "EVID", "AMT", "RATE", "DUR", "II", "ADDL", "SS", "MDV", "DV",
                            "BLQ", "LLOQ")
#: NONMEM's comment column.
COMMENT = "C"

_SYNONYMS = {"BQL": "BLQ", "LOQ": "LLOQ"}


def canonical_name(name: str) -> str | None:
    """The canonical name of column ``name`` (any case), ``"C"`` for the comment column, else None."""
    key = str(name).strip().upper()
    key = _SYNONYMS.get(key, key)
    if key in CANONICAL or key == COMMENT:
        return key
    return None


def map_columns(names: Iterable[str], *, what: str = "dataset") -> dict[str, str]:
    """Map each column name as written to the name the dataset uses (canonical, or itself stripped).

    Raises
    ------
    DatasetError
        When two columns map to the same name (``time`` and ``TIME``, ``BLQ`` and ``BQL``).
    """
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name in names:
        target = canonical_name(name) or str(name).strip()
        if target in seen:
            raise DatasetError(f"{what}: columns {seen[target]!r} and {name!r} both mean {target!r}")
        seen[target] = str(name)
        out[str(name)] = target
    return out
