"""``DatasetSimulation``: a dataset's rows with simulated outputs, steady-state checks and failures."""

from __future__ import annotations

import os

import pandas as pd

__all__ = ["DatasetSimulation"]


class DatasetSimulation:
    """The result of :func:`qsp.datasets.simulate_dataset`.

    Attributes
    ----------
    table : DataFrame
        The dataset's rows, in order (index: the source's data row), with one column per output,
        filled at observation (EVID 0) and EVID 2 rows and NaN elsewhere and for failed subjects.
    outputs : list of str
    failures : DataFrame
        ``ID``, ``message``: subjects whose simulation failed (their outputs are NaN).
    steady_state : DataFrame
        One row per steady-state record (SS 1 or 2): ``ID``, ``row``, ``TIME``, ``method``,
        ``intervals`` simulated, final ``residual`` (relative change over one interval) and ``converged``.
    units : dict
        Unit of each output, where the model declares it.
    """

    def __init__(self, table: pd.DataFrame, outputs: list[str], failures: pd.DataFrame,
                 steady_state: pd.DataFrame, *, units: dict | None = None, output_evids=(0, 2)):
        self.table = table
        self.outputs = outputs
        self.failures = failures
        self.steady_state = steady_state
        self.units = dict(units or {})
        self._output_evids = tuple(output_evids)

    def to_pandas(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write :attr:`table` as CSV (atomically; the row index is not written)."""
        from ..atomic import atomic_path

        with atomic_path(path) as tmp:
            self.table.to_csv(tmp, index=False)

    def to_parquet(self, path: str | os.PathLike) -> None:
        """Write :attr:`table` as Parquet (atomically)."""
        from ..atomic import atomic_path

        with atomic_path(path) as tmp:
            self.table.to_parquet(tmp, index=False)

    @property
    def observed(self) -> pd.DataFrame:
        """Only the rows with outputs (EVID 0 and 2)."""
        return self.table.loc[self.table["EVID"].isin(self._output_evids)].copy()

    def plot(self, outputs=None, **kwargs):
        """Spaghetti plot of the simulated outputs per subject with the doses marked (a Figure)."""
        from .plot import plot_dataset

        return plot_dataset(self.table, outputs or self.outputs, simulated=self.table, **kwargs)

    def _facts(self) -> str:
        n_sub = self.table["ID"].nunique()
        ss = (f"; {len(self.steady_state)} steady-state records, "
              f"{int(self.steady_state['converged'].sum())} converged") if len(self.steady_state) else ""
        return (f"{n_sub} subjects, {len(self.table)} rows, outputs {', '.join(self.outputs)}; "
                f"{len(self.failures)} failed{ss}")

    def __repr__(self) -> str:
        return f"<DatasetSimulation: {self._facts()}>"

    def _repr_html_(self) -> str:
        from ..display import table_html

        return table_html("Dataset simulation", self.table, self._facts())
