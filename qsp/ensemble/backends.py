"""Where ensemble chunks run: serially, on local processes, or on a Dask cluster.

A backend has one method, ``map(fn, job, chunks)``, which yields
``fn(job, chunk)`` results as they complete (the ensemble restores input
order), and ``close()``. Pass a name (``"serial"``, ``"processes"``,
``"dask"``) for the common case or an object for control.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import chain

from ..errors import InputError, QSPError
from .job import ChunkResult
from .main_guard import check_main_guard
from .workers import init_worker

__all__ = ["SerialBackend", "ProcessBackend", "DaskBackend", "get_backend"]


class SerialBackend:
    """Run chunks one after another in this process."""

    def map(self, fn, job, chunks: Iterable) -> Iterator:
        for chunk in chunks:
            yield fn(job, chunk)

    def close(self) -> None:
        """Nothing to release."""


_POOLS: dict[int, ProcessPoolExecutor] = {}


def _start_method() -> str:
    # fork starts fast and needs no `if __name__ == "__main__"` guard in user scripts; workers build
    # their own models, so nothing compiled in the parent is shared. Elsewhere: spawn.
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _pool(n_workers: int) -> ProcessPoolExecutor:
    pool = _POOLS.get(n_workers)
    if pool is None or getattr(pool, "_broken", False):
        method = _start_method()
        if method != "fork":
            check_main_guard("the processes backend")
        ctx = multiprocessing.get_context(method)
        # Workers exit when this process dies (parent-death signal and watchdog; see workers.py).
        pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=init_worker,
                                   initargs=(os.getpid(), threading.current_thread() is threading.main_thread()))
        _POOLS[n_workers] = pool
    return pool


def _terminate(n_workers: int) -> None:
    """Stop the pool of this size now, its running chunks included (after an interrupt)."""
    pool = _POOLS.pop(n_workers, None)
    if pool is None:
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=2)


class ProcessBackend:
    """Local worker processes (all cores by default); the pool lives across calls.

    Each worker compiles a model once and keeps it; chunks are submitted a
    few per worker at a time so memory stays flat however many there are.
    libRoadRunner keeps about 128 bytes per integration call for the life of
    a process, so after ``recycle_after`` simulations per worker the pool is
    replaced by fresh workers (a fraction of a second), which bounds that
    growth on long runs.
    """

    def __init__(self, n_workers: int | None = None, *, recycle_after: int = 50_000):
        self.n_workers = n_workers
        self.recycle_after = recycle_after

    def map(self, fn, job, chunks: Iterable) -> Iterator:
        n = self.n_workers or os.cpu_count() or 1
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"n_workers must be a positive integer. Got {self.n_workers!r}.")
        try:
            yield from self._map(fn, job, iter(chunks), n)
        except BaseException:  # an interrupt (or the caller stopped early): no worker outlives the run
            _terminate(n)
            raise

    def _map(self, fn, job, it, n: int) -> Iterator:
        state = {"exhausted": False}
        while not state["exhausted"]:
            pool = _pool(n)
            broken: list = []  # chunks in flight when a worker process died
            stop = {"broken": False, "unsent": None}
            epoch = _until_broken(_take(it, self.recycle_after * n, state), stop)
            for chunk, fut in _bounded(lambda c: _submit(pool, fn, job, c), epoch, 3 * n):
                if isinstance(fut.exception(), BrokenProcessPool):
                    stop["broken"] = True
                    broken.append(chunk)
                else:
                    yield fut.result()
            if stop["broken"]:
                # A worker died (a crash inside libRoadRunner, or killed for memory). Find the task(s)
                # responsible among the chunks it took down; everything else runs again normally.
                _POOLS.pop(n, None)
                for chunk in broken:
                    yield from _isolate(fn, job, chunk, n)
                if stop["unsent"] is not None:
                    it = chain([stop["unsent"]], it)
                state["exhausted"] = False
                continue
            if not state["exhausted"]:
                _POOLS.pop(n, None)
                pool.shutdown(wait=True)

    def close(self) -> None:
        """Shut the shared pool of this size down (it is rebuilt on next use)."""
        pool = _POOLS.pop(self.n_workers or os.cpu_count() or 1, None)
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _take(it, limit: int, state: dict) -> Iterator:
    """Yield chunks from ``it`` until they hold ``limit`` simulations; mark ``state`` when ``it`` runs out."""
    count = 0
    for chunk in it:
        yield chunk
        count += len(chunk.task)
        if count >= limit:
            return
    state["exhausted"] = True


def _bounded(submit, chunks, limit, wait_fn=wait, first_completed=FIRST_COMPLETED) -> Iterator[tuple[object, Future]]:
    """Submit chunks keeping at most ``limit`` in flight; yield (chunk, finished future) as they finish."""
    pending: dict = {}
    try:
        for chunk in chunks:
            pending[submit(chunk)] = chunk
            if len(pending) >= limit:
                done, _ = wait_fn(list(pending), return_when=first_completed)
                for fut in done:
                    yield pending.pop(fut), fut
        while pending:
            done, _ = wait_fn(list(pending), return_when=first_completed)
            for fut in done:
                yield pending.pop(fut), fut
    finally:
        for fut in pending:
            fut.cancel()


def _submit(pool: ProcessPoolExecutor, fn, job, chunk) -> Future:
    """``pool.submit``, or a future holding the error when the pool is already broken."""
    try:
        return pool.submit(fn, job, chunk)
    except BrokenProcessPool as exc:
        fut: Future = Future()
        fut.set_exception(exc)
        return fut


def _until_broken(chunks: Iterator, stop: dict) -> Iterator:
    """Pass chunks on until ``stop['broken']``; keep the one pulled after that in ``stop['unsent']``."""
    for chunk in chunks:
        if stop["broken"]:
            stop["unsent"] = chunk
            return
        yield chunk


def _isolate(fn, job, chunk, n_workers: int) -> Iterator:
    """Run ``chunk`` alone on a fresh pool; if a worker dies again, halve it until the task that kills
    workers is found, and record that task as failed."""
    fut = _submit(_pool(n_workers), fn, job, chunk)
    if not isinstance(fut.exception(), BrokenProcessPool):
        yield fut.result()
        return
    _POOLS.pop(n_workers, None)
    if len(chunk.task) == 1:
        failed = getattr(job, "failed", None)  # a job type may say how its failed chunk looks
        message = ("WorkerDied: the worker process died running this simulation "
                   "(a crash inside libRoadRunner, or killed for lack of memory)")
        yield failed(chunk, message) if failed is not None else ChunkResult.failed(job, chunk, message)
        return
    for half in chunk.halves():
        yield from _isolate(fn, job, half, n_workers)


class DaskBackend:
    """A Dask cluster: a ``Client`` you made, a scheduler ``address``, or a new ``LocalCluster``.

    The job is scattered to every worker once; chunks are submitted a few per
    worker at a time. A cluster the backend started is closed by ``close()``.
    A local cluster starts without the dashboard unless ``dashboard`` is True (Dask's default
    address, ``:8787``) or an address (``"localhost:8790"``); its worker processes import the
    calling script again, so a script needs an ``if __name__ == "__main__":`` guard.
    """

    def __init__(self, client=None, *, address: str | None = None, n_workers: int | None = None,
                 dashboard: bool | str = False):
        if not isinstance(dashboard, (bool, str)):
            raise InputError(f"dashboard must be True, False or an address like ':8787'. Got {dashboard!r}.")
        self.client = client
        self.address = address
        self.n_workers = n_workers
        self.dashboard = dashboard
        self._owned = None

    def _cluster_options(self) -> dict:
        n = self.n_workers or os.cpu_count() or 1
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"n_workers must be a positive integer. Got {self.n_workers!r}.")
        options = dict(n_workers=n, threads_per_worker=1, processes=True)
        if self.dashboard is False:
            # The scheduler serves a few HTTP routes even without a dashboard, on port 8787 unless told
            # otherwise (warning when that port is taken): give it any free local port instead.
            options.update(dashboard_address=None,
                           scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
        else:
            options["dashboard_address"] = ":8787" if self.dashboard is True else self.dashboard
        return options

    def _client(self):
        if self.client is not None:
            return self.client
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise InputError("the Dask backend needs dask[distributed]: pip install 'qsp[dask]'") from None
        if self.address:
            try:
                self.client = Client(self.address, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise InputError(f"cannot reach the Dask scheduler at {self.address!r}: {exc}") from None
            return self.client
        import dask

        options = self._cluster_options()
        if dask.config.get("distributed.worker.multiprocessing-method", "spawn") != "fork":
            check_main_guard("the Dask backend's local cluster")
        try:
            cluster = LocalCluster(**options)
        except Exception as exc:
            raise QSPError(f"cannot start a local Dask cluster: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())}") from None
        try:
            self.client = Client(cluster)
        except BaseException:
            cluster.close()
            raise
        self._owned = cluster
        return self.client

    def map(self, fn, job, chunks: Iterable) -> Iterator:
        from dask.distributed import wait as dask_wait

        client = self._client()
        n = max(1, len(client.scheduler_info().get("workers", {})))
        job_future = client.scatter(job, broadcast=True, hash=False)
        for _, fut in _bounded(lambda c: client.submit(fn, job_future, c, pure=False), chunks, 3 * n,
                               dask_wait, "FIRST_COMPLETED"):
            yield fut.result()

    def close(self) -> None:
        """Close the client and any cluster this backend started."""
        if self._owned is not None:
            cluster, client = self._owned, self.client
            self.client = self._owned = None
            try:
                if client is not None:
                    client.close()
            finally:
                cluster.close()

    def __getstate__(self):  # never ship a live client
        state = dict(self.__dict__)
        state["client"] = state["_owned"] = None
        return state


def get_backend(backend) -> tuple[object, bool]:
    """Return (backend object, whether the caller owns and must close it)."""
    if backend is None or backend == "serial":
        return SerialBackend(), True
    if backend == "processes":
        return ProcessBackend(), False
    if backend == "dask":
        return DaskBackend(), True
    if isinstance(backend, str):
        raise InputError(f"backend must be 'serial', 'processes', 'dask' or a backend object. Got {backend!r}.")
    if not hasattr(backend, "map"):
        raise InputError(f"backend object {backend!r} has no map() method")
    return backend, False


@contextlib.contextmanager
def task_results(backend, fn, job, chunks: Iterable) -> Iterator[Iterator]:
    """``fn(job, chunk)`` for every chunk on ``backend`` (a name or object), as results arrive.

    On leaving the block (the loop finished, or an interrupt or error ended it early) the stream is
    closed, which stops the backend's running work, and a backend made here is shut down.
    """
    backend_obj, owned = get_backend(backend)
    stream = backend_obj.map(fn, job, chunks)
    try:
        yield stream
    finally:
        close = getattr(stream, "close", None)
        try:
            if close is not None:
                close()
        finally:
            if owned:
                backend_obj.close()
