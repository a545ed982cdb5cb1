"""Writing files whole or not at all: write to a temporary file beside the target, then rename.

An interrupted write (Ctrl-C, a killed process, a full disk, an exception in the writer) leaves
the previous file, if any, untouched and no partial file under the target name. The temporary
file sits in the target's directory (so the rename is atomic on POSIX and Windows) and its name
starts with ``.`` (so Parquet dataset readers skip it).

>>> with atomic_write("table.csv") as fh:
...     fh.write("a,b\\n1,2\\n")
>>> with atomic_path("table.parquet") as tmp:     # for libraries that want a path
...     df.to_parquet(tmp)
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "atomic_path", "json_text"]


def _temporary_name(path: Path) -> Path:
    """A unique hidden name beside ``path`` that keeps its suffix (libraries infer formats from it)."""
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")


def _keep_mode(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the permission bits of the file it replaces, if there is one."""
    try:
        os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
    except FileNotFoundError:
        pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, fsync: bool = True,
                 **open_kwargs) -> Iterator[IO]:
    """Open a temporary file for writing; on success it replaces ``path``, on error it is removed.

    Parameters
    ----------
    path : path of the file to write.
    mode : ``"w"`` (text) or ``"wb"`` (binary); ``"x"`` modes refuse an existing ``path``.
    fsync : flush the data to disk before the rename (survives a power cut, not only a kill).
    open_kwargs : passed to :func:`open` (``encoding=``, ``newline=``...).
    """
    if not mode.startswith(("w", "x")) or "+" in mode:
        raise ValueError(f"atomic_write writes new files; mode must be 'w', 'wb', 'x' or 'xb'. Got {mode!r}.")
    path = Path(path)
    if mode.startswith("x") and path.exists():
        raise FileExistsError(f"{str(path)!r} exists")
    tmp = _temporary_name(path)
    # O_EXCL: never follow a link or reuse a file someone else made; 0o666 lets the umask decide.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with open(fd, mode.replace("x", "w"), **open_kwargs) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        _keep_mode(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, fsync: bool = True) -> Iterator[str]:
    """Yield a temporary path beside ``path`` for a library to write; on success it replaces ``path``.

    The temporary name keeps ``path``'s suffix (``.parquet``, ``.png``), so format detection works.
    If the block raises, or writes nothing, ``path`` is left as it was.
    """
    path = Path(path)
    tmp = _temporary_name(path)
    try:
        yield str(tmp)
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to the temporary file for {str(path)!r}")
        if fsync and tmp.is_file():
            _fsync(tmp)
        _keep_mode(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            _remove(tmp)
        raise


def json_text(obj, path: str | os.PathLike | None = None) -> str:
    """``obj`` as indented JSON text, also written whole to ``path`` when given."""
    import json

    text = json.dumps(obj, indent=1)
    if path is not None:
        with atomic_write(path) as fh:
            fh.write(text)
    return text
