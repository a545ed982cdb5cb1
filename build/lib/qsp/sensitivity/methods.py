"""The global methods, by name; each module has ``sample``, ``analyze`` and ``check_n`` with one signature."""

from __future__ import annotations

from ..errors import QSPError
from . import delta, efast, morris, pawn, sobol

METHODS = {"sobol": sobol, "morris": morris, "efast": efast, "delta": delta, "pawn": pawn}


def get_method(name: str):
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise QSPError(f"method must be one of {', '.join(METHODS)} (or 'local'). Got {name!r}.") from None
