"""What the uncertainty analyses share: checking a point, running one ensemble task per item, writing tables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .objective import Objective, to_linear

__all__ = ["TaskChunk", "check_objective", "check_point", "parameter_indices", "run_tasks", "write_csv",
           "write_parquet", "check_ids", "linear_columns"]


@dataclass
class TaskChunk:
    """Items (``task``: positions, e.g. profiled parameters or chains) run together on one worker."""

    task: np.ndarray

    def halves(self) -> tuple[TaskChunk, TaskChunk]:
        k = len(self.task) // 2
        return TaskChunk(self.task[:k]), TaskChunk(self.task[k:])


def check_objective(objective) -> None:
    """Refuse anything that is not an :class:`Objective` with a parameter space."""
    if not isinstance(objective, Objective) or getattr(objective, "space", None) is None:
        raise InputError(f"objective must be a qsp.fit.Objective with a parameter space. "
                         f"Got {type(objective).__name__}.")


def check_point(objective: Objective, x, what: str = "x_best") -> np.ndarray:
    """``x`` as a float vector of the objective's length, finite and within its bounds (on the scale)."""
    space = objective.space
    try:
        arr = np.asarray(x, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a vector of {len(space)} numbers on the parameter scale") from None
    if arr.shape != (len(space),):
        raise InputError(f"{what} must have one value per estimated parameter ({len(space)}); got {arr.size}")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < space.lower) | (arr > space.upper))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"{what}: parameter {space.ids[i]!r} = {arr[i]:g} is not within its bounds "
                         f"[{space.lower[i]:g}, {space.upper[i]:g}] on its scale ({space.scales[i]})")
    return arr


def parameter_indices(objective: Objective, parameters: str | Sequence[str] | None) -> list[int]:
    """Positions of ``parameters`` (ids) in the objective's space; None: all of them."""
    ids = list(objective.space.ids)
    if parameters is None:
        return list(range(len(ids)))
    if isinstance(parameters, str):
        parameters = [parameters]
    out = []
    for p in parameters:
        if p not in ids:
            from .._ids import unknown_id

            raise unknown_id("estimated parameter", str(p), ids)
        if ids.index(p) not in out:
            out.append(ids.index(p))
    if not out:
        raise InputError("parameters is empty: give at least one estimated parameter id")
    return out


def check_ids(ids: Sequence[str], reserved: Sequence[str], table: str) -> None:
    """Refuse parameter ids that are also column names of a result table."""
    clash = [i for i in ids if i in reserved]
    if clash:
        raise InputError(f"parameter id {clash[0]!r} is also a column name of the {table} table "
                         f"({', '.join(reserved)}); rename the parameter")


def run_tasks(fn, job, items: Sequence[int], backend, per_chunk: int = 1) -> dict[int, object]:
    """Run ``fn(job, TaskChunk)`` over ``items`` on ``backend``; returns ``{item: result of that item}``.

    ``fn`` returns an object with ``task`` (the items it ran) and ``results`` (one entry per item).
    """
    from ..ensemble.backends import get_backend

    backend_obj, owned = get_backend(backend)
    items = np.asarray(list(items), dtype=np.int64)
    chunks = (TaskChunk(items[a:a + per_chunk]) for a in range(0, len(items), per_chunk))
    out: dict[int, object] = {}
    stream = backend_obj.map(fn, job, chunks)
    try:
        for res in stream:
            for k, item in enumerate(res.task):
                out[int(item)] = res.results[k]
    finally:
        close = getattr(stream, "close", None)
        try:
            if close is not None:
                close()
        finally:
            if owned:
                backend_obj.close()
    return out


def linear_columns(df: pd.DataFrame, columns: Sequence[str], scales: Sequence[str]) -> pd.DataFrame:
    """``<column>_linear`` for each of ``columns``: values on each row's scale (``scales`` per row) made linear."""
    for col in columns:
        vals = df[col].to_numpy(dtype=float)
        df[f"{col}_linear"] = [float(to_linear(np.array([v]), [s])[0]) for v, s in zip(vals, scales)]
    return df


def write_csv(df: pd.DataFrame, path) -> None:
    """A table as CSV: a file path is written whole or not at all; an open file object directly."""
    from ..atomic import atomic_write

    if not isinstance(path, (str, os.PathLike)):
        df.to_csv(path, index=False)
        return
    with atomic_write(path, newline="") as fh:
        df.to_csv(fh, index=False)


def write_parquet(df: pd.DataFrame, path) -> None:
    """A table as one Parquet file (a file path: whole or not at all)."""
    from ..atomic import atomic_path

    if not isinstance(path, (str, os.PathLike)):
        df.to_parquet(path, index=False)
        return
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
