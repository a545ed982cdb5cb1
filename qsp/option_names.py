"""Option names in messages: Python keyword arguments, or command-line options while a CLI command runs.

Library code writes ``option("on_failure", "impute_mean")``: ``on_failure='impute_mean'`` from Python,
``--on-failure impute_mean`` inside ``with cli_options({...}):`` (set by the analyses' CLI handlers).
An argument the command line does not offer maps to None there, and :func:`offered` tells the message
to leave that advice out.
"""

from __future__ import annotations

import contextlib
import contextvars

__all__ = ["cli_options", "option", "offered"]

_MISSING = object()
_CLI: contextvars.ContextVar = contextvars.ContextVar("qsp_cli_options", default=None)


@contextlib.contextmanager
def cli_options(mapping: dict[str, str | None]):
    """Within the block, :func:`option` names command-line options: ``{python_name: "--flag" or None}``
    (names not listed become ``--name-with-dashes``)."""
    token = _CLI.set(dict(mapping))
    try:
        yield
    finally:
        _CLI.reset(token)


def offered(name: str) -> bool:
    """Whether the caller can set ``name`` (always from Python; on the command line if it has an option)."""
    mapping = _CLI.get()
    return mapping is None or mapping.get(name, "") is not None


def option(name: str, value=_MISSING) -> str:
    """``name=value`` (Python) or ``--flag value`` (command line); without ``value``: ``name=`` / ``--flag``."""
    mapping = _CLI.get()
    if mapping is None:
        return f"{name}=" if value is _MISSING else f"{name}={value!r}"
    flag = mapping.get(name) or "--" + name.replace("_", "-")
    return flag if value is _MISSING else f"{flag} {value}"
