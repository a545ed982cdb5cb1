"""Worker processes that never outlive the run that started them.

:func:`init_worker` runs first in every :class:`~qsp.ensemble.ProcessBackend` worker. It

- asks Linux to kill the worker when its parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); this
  works even while the worker is busy inside libRoadRunner, and is used only when the pool was
  started from the main thread (the signal follows the thread that forked, not the process);
- starts a watchdog thread that exits the worker once its parent process is gone (it polls the
  parent pid; portable, and a fallback to the above);
- ignores SIGINT, so that Ctrl-C (sent to the whole process group) reaches the parent alone, which
  stops the workers itself, and restores the default SIGTERM action.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

#: seconds between two checks of the parent pid by the watchdog thread
WATCH_INTERVAL = 0.2
_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> bool:
    """Linux: have the kernel send SIGKILL to this process when its parent thread ends."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parent_alive(parent_pid: int) -> bool:
    return os.getppid() == parent_pid


def _watch(parent_pid: int, interval: float) -> None:
    while True:
        time.sleep(interval)
        if not _parent_alive(parent_pid):
            os._exit(0)  # the run is gone: nobody will read what this worker computes


def init_worker(parent_pid: int, pdeathsig: bool) -> None:
    """Make this worker exit when process ``parent_pid`` ends (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if pdeathsig:
        _set_parent_death_signal()
    if not _parent_alive(parent_pid):  # it died before we could ask to be told
        os._exit(0)
    threading.Thread(target=_watch, args=(parent_pid, WATCH_INTERVAL), name="qsp-parent-watchdog",
                     daemon=True).start()
