"""The labelled result of an ensemble run."""

from __future__ import annotations

import json

import pandas as pd


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
    """

    def __init__(self, table: pd.DataFrame | None, trajectories: pd.DataFrame | None, metrics: list[str],
                 wall_seconds: float = float("nan"), *, store=None, n_tasks: int | None = None,
                 n_failed: int | None = None, has_trajectories: bool = False):
        self._table = table
        self._trajectories = trajectories
        self._store = store
        self._has_trajectories = has_trajectories or trajectories is not None
        self.metrics = list(metrics)
        self.wall_seconds = wall_seconds
        self._n_tasks = n_tasks
        self._n_failed = n_failed

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
        return f"EnsembleResult({len(self)} tasks, {self.n_failed} failed, metrics={self.metrics})"

    def to_pandas(self) -> pd.DataFrame:
        """The per-task table."""
        return self.table

    def to_csv(self, path) -> None:
        """Write the per-task table as CSV."""
        self.table.to_csv(path, index=False)

    def to_parquet(self, path) -> None:
        """Write the per-task table as one Parquet file."""
        self.table.to_parquet(path, index=False)

    def to_json(self, path=None) -> str:
        """The per-task table as JSON records (written to ``path`` when given)."""
        text = json.dumps({"metrics": self.metrics, "rows": json.loads(self.table.to_json(orient="records"))})
        if path is not None:
            with open(path, "w") as fh:
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
