"""SIGTERM during a run is handled like Ctrl-C: KeyboardInterrupt, finished chunks kept, workers stopped.

``kill PID``, a job scheduler's time limit or ``docker stop`` send SIGTERM, whose default action ends
the process at once: the backend's workers would be left to the parent-death watchdog and the chunk
being written lost. While a run is in progress (in the main thread, and only when nobody else has
installed a SIGTERM handler), qsp turns the first SIGTERM into :class:`KeyboardInterrupt`; a second
one acts as usual.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, the first SIGTERM raises KeyboardInterrupt in the main thread."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, OSError):
        previous = None
    if previous is not signal.SIG_DFL:  # a handler of the application's own (or unknown): leave it
        yield
        return

    def on_sigterm(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt("terminated (SIGTERM)")

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
