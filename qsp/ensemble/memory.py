"""Refusing, up front, an ensemble whose arrays cannot fit in memory.

A request such as a billion output points, or trajectories of every task kept in memory, is
refused with one line before anything is allocated, instead of the process being killed by the
operating system part-way. The estimate is deliberately rough (within a small factor) and counts
only what grows with the request: the output grid, the per-simulation arrays in each worker, the
chunks in flight, and the tables kept in memory when results are not streamed to ``out``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import InputError

_F8 = 8                   # bytes per float64
_ROW_OVERHEAD = 200       # bytes per table row for its strings (regimen, status, message) and index
_WORKER_BASE = 50 << 20   # bytes a worker process needs before its first simulation
_NO_LIMIT = 1 << 60       # cgroup "max" values at or above this mean no limit


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_bytes() -> int | None:
    """Memory this process can still use (bytes): the smaller of the system's available memory and
    the room left under a container (cgroup) limit; None where neither is known."""
    candidates = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not candidates and hasattr(os, "sysconf"):
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and limit < _NO_LIMIT and usage is not None:
            candidates.append(max(0, limit - usage))
    return min(candidates) if candidates else None


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1e3:.0f} kB"


@dataclass(frozen=True)
class Request:
    """The sizes of an ensemble run that drive its memory use."""

    n_tasks: int
    n_points: int
    n_outputs: int
    n_kept: int            # outputs whose trajectories are kept
    n_columns: int         # sample columns
    n_metrics: int
    chunk_size: int
    local_workers: int     # worker processes on this machine (0: runs in this process, or on remote workers)
    in_process: bool       # simulations run in this process (serial backend)
    streamed: bool         # results go to a Parquet directory instead of memory

    def parts(self) -> dict[str, tuple[int, str]]:
        """Estimated bytes of each part and what reduces it, keyed by a description for the message."""
        t, p = self.n_tasks, self.n_points
        procs = max(1, self.local_workers)
        in_flight = 3 * procs  # chunks submitted ahead of the results
        fewer_points = "use fewer points"
        parts = {
            f"the output grid ({p} points)": (p * _F8, fewer_points),
            "the task arrays": (4 * t * _F8, "use fewer samples or regimens"),
        }
        if self.local_workers or self.in_process:
            where = "in this process" if self.in_process else f"in each of {procs} worker processes"
            parts[f"per-simulation arrays ({p} points x {self.n_outputs} outputs, {where})"] = (
                procs * (3 * p * (self.n_outputs + 1) * _F8 + _WORKER_BASE), f"{fewer_points} or workers")
        if self.n_kept:
            parts[f"trajectories of the chunks in flight ({in_flight} chunks x {self.chunk_size} tasks x {p} "
                  f"points x {self.n_kept} outputs)"] = (2 * in_flight * self.chunk_size * p * self.n_kept * _F8,
                                                        f"{fewer_points} or a smaller chunk_size")
        if not self.streamed:
            parts[f"the result table ({t} rows)"] = (
                2 * t * ((self.n_columns + self.n_metrics + 3) * _F8 + _ROW_OVERHEAD),
                "stream the results to disk with out=")
            if self.n_kept:
                parts[f"trajectories kept in memory ({t} tasks x {p} points x {self.n_kept} outputs)"] = (
                    2 * t * p * (self.n_kept + 2) * _F8,
                    f"{fewer_points}, keep fewer trajectories, or stream them to disk with out=")
        return parts


def check_request(request: Request, available: int | None = None) -> None:
    """Raise InputError, in one line naming the largest part, when ``request`` cannot fit in memory."""
    available = available_bytes() if available is None else available
    if available is None:
        return
    parts = request.parts()
    need = sum(size for size, _ in parts.values())
    if need <= available:
        return
    largest = max(parts, key=lambda k: parts[k][0])
    size, hint = parts[largest]
    raise InputError(f"this ensemble would need about {_size(need)} of memory but about {_size(available)} is "
                     f"available; the largest part is {largest}: {_size(size)}; {hint}")


def check_array(n_values: int, what: str, available: int | None = None) -> None:
    """Raise InputError when an array of ``n_values`` float64 values (plus working copies) cannot fit."""
    available = available_bytes() if available is None else available
    need = 3 * n_values * _F8
    if available is not None and need > available:
        raise InputError(f"{what} would need about {_size(need)} of memory but about {_size(available)} is available")
