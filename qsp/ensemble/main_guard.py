"""Finding a script that would run again in every worker process it starts.

Worker processes started by "spawn" (Dask's local workers always; ``ProcessBackend`` on macOS and
Windows) import the main script afresh. Code at its top level that starts workers then runs again
in each of them, and ``multiprocessing`` stops it with a long "bootstrapping phase" traceback.
:func:`check_main_guard` recognises that case before any worker is started and raises one
:class:`~qsp.InputError` telling to put the code under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import ast
import multiprocessing
import sys

from ..errors import InputError

GUARD_MESSAGE = ("{what} starts worker processes that import this script again, so the code that starts "
                 "them must be under an `if __name__ == \"__main__\":` guard (see docs/ensemble.md)")


def bootstrapping() -> bool:
    """Whether this process is a spawned worker still importing the parent's main script."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _is_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


def line_is_guarded(source: str, line: int) -> bool:
    """Whether ``line`` of module ``source`` lies in the body of an ``if __name__ == "__main__":`` block."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_guard(node.test) and node.body:
            if node.body[0].lineno <= line <= (node.body[-1].end_lineno or node.body[-1].lineno):
                return True
    return False


def _main_line() -> tuple[str, int] | None:
    """(path, line) of the main script's top-level statement now running, if a script is running."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    spec = getattr(main, "__spec__", None)
    if main is None or not path or not str(path).endswith(".py"):
        return None  # interactive, -c, a notebook, a frozen or console-script entry point
    if spec is not None and spec.name.endswith("__main__"):
        return None  # `python -m package`: workers do not run a package's __main__ again
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            return str(path), frame.f_lineno
        frame = frame.f_back
    return None


def check_main_guard(what: str) -> None:
    """Raise InputError when spawned workers would run the calling script's top-level code again.

    Parameters
    ----------
    what : str
        The starter named in the message (``"the Dask backend's local cluster"``).
    """
    if bootstrapping():
        raise InputError(GUARD_MESSAGE.format(what=what))
    found = _main_line()
    if found is None:
        return
    path, line = found
    try:
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
        guarded = line_is_guarded(source, line)
    except (OSError, SyntaxError, ValueError):
        return  # cannot tell: let it run
    if not guarded:
        raise InputError(GUARD_MESSAGE.format(what=what) + f"; {path}, line {line}, is not")
