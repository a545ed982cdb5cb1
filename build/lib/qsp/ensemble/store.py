"""Streaming ensemble results to a Parquet directory, and resuming.

``out`` is a directory of ``part-*.parquet`` files, each written whole
(temporary name, then an atomic rename), plus ``_job.json`` that records a
fingerprint of the inputs and, when trajectories are kept,
``_trajectories/`` (Parquet readers skip names starting with ``_``, so
``pandas.read_parquet(out)`` reads the per-task table). Started again with the same ``out`` and the same
inputs, a run reads which tasks are already stored and completes only the
rest; different inputs are refused rather than mixed.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import QSPError


class PartStore:
    """A Parquet directory of result parts."""

    def __init__(self, path: str | os.PathLike, fingerprint: str):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise QSPError(f"output {str(self.path)!r} exists and is not a directory of Parquet parts")
        self.path.mkdir(parents=True, exist_ok=True)
        meta = self.path / "_job.json"
        if meta.exists():
            stored = json.loads(meta.read_text()).get("fingerprint")
            if stored != fingerprint:
                raise QSPError(f"{str(self.path)!r} holds results of a different ensemble (other model, samples, "
                               "regimens, metrics or settings); use a new output path")
        else:
            tmp = meta.with_suffix(".tmp")
            tmp.write_text(json.dumps({"fingerprint": fingerprint}))
            os.replace(tmp, meta)

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
        """Write one part atomically."""
        d = self._dir(kind)
        d.mkdir(exist_ok=True)
        name = f"part-{uuid.uuid4().hex}.parquet"
        tmp = d / f".{name}.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, d / name)

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
