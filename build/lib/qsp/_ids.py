"""Helpers that turn an unknown id into a message with close matches."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .errors import UnknownIdError


def unknown_id(kind: str, name: str, known: Iterable[str], where: str = "") -> UnknownIdError:
    """Return an :class:`UnknownIdError` naming ``name`` and its close matches."""
    known = sorted(set(known))
    lowered = {k.lower(): k for k in known}
    close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)]
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    msg = f"{name!r} is not {article} {kind}{where}"
    if close:
        msg += f"; did you mean {', '.join(repr(c) for c in close)}?"
    elif known:
        shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        msg += f"; known: {shown}"
    return UnknownIdError(msg)
