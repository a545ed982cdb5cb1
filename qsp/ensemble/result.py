"""The labelled result of an ensemble run."""

from __future__ import annotations

import json
import os

import pandas as pd

from ..atomic import atomic_path, atomic_write


class EnsembleResult:
    """One row per task (sample x regimen), in input order, with ``status`` and ``message`` columns.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns: task, sample, regimen, seed, status ('ok' or 'failed'), message, the override
        columns, then one column per metric (NaN where the simulation failed).
    trajectories : pandas.DataFrame or None
        Long table (task, time, outputs...) when trajectories were requested.
    metrics : list of str
        Metric column names.
    n_reused : int
        Tasks whose rows were already stored in ``out`` by an earlier, interrupted run and were
        not simulated again (0 for a fresh run).
    wall_seconds : float
        Wall time of the run (s).
    """

    def __init__(self, table: pd.DataFrame | None, trajectories: pd.DataFrame | None, metrics: list[str],
                 wall_seconds: float = float("nan"), *, store=None, n_tasks: int | None = None,
                 n_failed: int | None = None, has_trajectories: bool = False, n_reused: int = 0):
        self._table = table
        self._trajectories = trajectories
        self._store = store
        self._has_trajectories = has_trajectories or trajectories is not None
        self.metrics = list(metrics)
        self.wall_seconds = wall_seconds
        self._n_tasks = n_tasks
        self._n_failed = n_failed
        self.n_reused = int(n_reused)

    @property
    def table(self) -> pd.DataFrame:
        """The per-task table (read from the output directory on first use when results were streamed)."""
        if self._table is None and self._store is not None:
            self._table = self._store.read()
        return self._table

    @property
    def trajectories(self) -> pd.DataFrame | None:
        """Long table of kept time courses, or None."""
        if self._trajectories is None and self._store is not None and self._has_trajectories:
            self._trajectories = self._store.read("traj")
        return self._trajectories

    @property
    def failures(self) -> pd.DataFrame:
        """Rows whose simulation failed, with their messages."""
        return self.table[self.table["status"] != "ok"]

    @property
    def n_failed(self) -> int:
        """Number of failed tasks."""
        if self._n_failed is None:
            self._n_failed = int((self.table["status"] != "ok").sum())
        return self._n_failed

    def __len__(self) -> int:
        return self._n_tasks if self._n_tasks is not None else len(self.table)

    def __repr__(self) -> str:
        reused = f", {self.n_reused} reused" if self.n_reused else ""
        return f"EnsembleResult({len(self)} tasks, {self.n_failed} failed{reused}, metrics={self.metrics})"

    def to_pandas(self) -> pd.DataFrame:
        """The per-task table."""
        return self.table

    def to_csv(self, path) -> None:
        """Write the per-task table as CSV: a file path is written whole or not at all (a temporary file,
        then a rename); an open file object is written directly."""
        if not isinstance(path, (str, os.PathLike)):
            self.table.to_csv(path, index=False)
            return
        with atomic_write(path, newline="") as fh:
            self.table.to_csv(fh, index=False)

    def to_parquet(self, path) -> None:
        """Write the per-task table as one Parquet file (a file path: whole or not at all)."""
        if not isinstance(path, (str, os.PathLike)):
            self.table.to_parquet(path, index=False)
            return
        with atomic_path(path) as tmp:
            self.table.to_parquet(tmp, index=False)

    def to_json(self, path=None) -> str:
        """The per-task table as JSON records (written whole to ``path`` when given)."""
        text = json.dumps({"metrics": self.metrics, "rows": json.loads(self.table.to_json(orient="records"))})
        if path is not None:
            with atomic_write(path) as fh:
                fh.write(text)
        return text

    def plot(self, metric: str | None = None, ax=None):
        """Histogram of one metric per regimen; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        metric = metric or self.metrics[0]
        for name, grp in self.table.groupby("regimen", sort=False):
            ax.hist(grp[metric].dropna(), bins=40, alpha=0.6, label=str(name))
        ax.set_xlabel(metric)
        ax.set_ylabel("count")
        ax.legend()
        return ax
