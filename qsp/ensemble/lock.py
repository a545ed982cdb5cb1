"""One writer per output directory: an exclusive, non-blocking lock on a file inside it.

The lock is an advisory ``flock`` (POSIX) or ``msvcrt.locking`` (Windows) on ``_writer.lock``,
held for as long as a run writes. The operating system releases it when the process ends, however
it ends (a kill, a crash), so a stale lock never blocks a later run. The file keeps the pid of the
last writer, which the refusal names.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError

LOCK_NAME = "_writer.lock"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


def _try_lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt

    try:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return
    import msvcrt

    os.lseek(fd, 0, os.SEEK_SET)
    msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class WriterLock:
    """Exclusive lock of ``directory`` for one writing run; :meth:`release` (or the process's end) frees it."""

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory) / LOCK_NAME
        self._fd: int | None = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError(f"cannot write to {str(Path(directory))!r}: {exc.strerror or exc}") from None
        if not _try_lock(fd):
            holder = _read_pid(fd)
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise InputError(f"{str(Path(directory))!r} is being written by another run{who}; wait for it to "
                             "finish or use another output path")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Free the lock (the file stays: removing it would let two runs lock different files)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                _unlock(fd)
            finally:
                os.close(fd)

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self):
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", errors="replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None
