"""Streaming ensemble results to a Parquet directory, and resuming.

``out`` is a directory of ``part-*.parquet`` files, each written whole
(temporary name, then an atomic rename; see :mod:`qsp.atomic`), plus ``_job.json`` that records a
fingerprint of the inputs, ``_writer.lock`` (one writing run at a time; see
:mod:`qsp.ensemble.lock`) and, when trajectories are kept, ``_trajectories/`` (Parquet readers skip
names starting with ``_`` or ``.``, so ``pandas.read_parquet(out)`` reads the per-task table).
Started again with the same ``out`` and the same inputs, a run reads which tasks are already stored
and completes only the rest; different inputs are refused rather than mixed.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_path, atomic_write
from ..errors import QSPError
from .lock import WriterLock


class PartStore:
    """A Parquet directory of result parts, locked for writing while open (see :meth:`close`)."""

    def __init__(self, path: str | os.PathLike, fingerprint: str):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise QSPError(f"output {str(self.path)!r} exists and is not a directory of Parquet parts")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise QSPError(f"cannot create output directory {str(self.path)!r}: {exc.strerror or exc}") from None
        self._lock: WriterLock | None = WriterLock(self.path)
        try:
            self._check_fingerprint(fingerprint)
        except BaseException:
            self.close()
            raise

    def _check_fingerprint(self, fingerprint: str) -> None:
        meta = self.path / "_job.json"
        if meta.exists():
            try:
                stored = json.loads(meta.read_text()).get("fingerprint")
            except (ValueError, AttributeError):
                stored = None
            if stored != fingerprint:
                raise QSPError(f"{str(self.path)!r} holds results of a different ensemble (other model, samples, "
                               "regimens, metrics or settings); use a new output path")
        else:
            with atomic_write(meta) as fh:
                fh.write(json.dumps({"fingerprint": fingerprint}))

    def close(self) -> None:
        """Release the writer lock; the stored parts stay readable."""
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def _dir(self, kind: str) -> Path:
        return self.path / "_trajectories" if kind == "traj" else self.path

    def _parts(self, kind: str = "part") -> list[Path]:
        return sorted(self._dir(kind).glob("part-*.parquet"))

    def done_tasks(self) -> np.ndarray:
        """Task ids already stored."""
        import pyarrow.parquet as pq

        ids = [pq.read_table(p, columns=["task"]).column("task").to_numpy() for p in self._parts()]
        return np.unique(np.concatenate(ids)) if ids else np.empty(0, dtype=np.int64)

    def write(self, df: pd.DataFrame, kind: str = "part") -> None:
        """Write one part atomically (whole under its final name, or absent)."""
        if self._lock is None:
            raise QSPError(f"{str(self.path)!r} is closed for writing")
        d = self._dir(kind)
        d.mkdir(exist_ok=True)
        with atomic_path(d / f"part-{uuid.uuid4().hex}.parquet") as tmp:
            df.to_parquet(tmp, index=False)

    def count_failed(self) -> int:
        """Number of stored rows whose status is not 'ok' (reads only that column)."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        return sum(int(pc.sum(pc.not_equal(pq.read_table(p, columns=["status"]).column("status"), "ok")).as_py()
                       or 0) for p in self._parts())

    def read(self, kind: str = "part") -> pd.DataFrame | None:
        """All stored rows, one per task, in task order."""
        parts = self._parts(kind)
        if not parts:
            return None
        df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        key = ["task", "time"] if kind == "traj" else ["task"]
        df = df.drop_duplicates(subset=key, keep="first")
        return df.sort_values(key, kind="stable").reset_index(drop=True)


def stored_rows(path: str | os.PathLike) -> int:
    """Rows stored in the Parquet directory ``path`` (from the parts' footers; 0 if there is none)."""
    import pyarrow.parquet as pq

    total = 0
    for part in sorted(Path(path).glob("part-*.parquet")):
        try:
            total += pq.ParquetFile(part).metadata.num_rows
        except Exception:  # unreadable part: not counted
            continue
    return total
