"""Labelled simulation results."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from ._ids import unknown_id

__all__ = ["SimulationResult"]


class SimulationResult:
    """One time course: a time vector and one column per output selector.

    Columns are read as numpy arrays with ``result["[A]"]``; ``to_pandas()``
    gives a DataFrame with a ``time`` column followed by the outputs.

    Attributes
    ----------
    time : numpy.ndarray
        Output times (model time unit).
    values : numpy.ndarray
        Shape (len(time), len(outputs)).
    outputs : list of str
        Output selectors, in column order.
    time_unit : str
        The model's time unit, when declared ('' otherwise).
    """

    def __init__(self, time: np.ndarray, values: np.ndarray, outputs: Sequence[str], *,
                 time_unit: str = "", units: dict[str, str] | None = None):
        self.time = time
        self.values = values
        self.outputs = list(outputs)
        self.time_unit = time_unit
        self.units = dict(units or {})
        self._index = {name: i for i, name in enumerate(self.outputs)}

    def __getitem__(self, selector: str) -> np.ndarray:
        if selector == "time":
            return self.time
        try:
            return self.values[:, self._index[selector]]
        except KeyError:
            raise unknown_id("output of this result", selector, self.outputs) from None

    def __contains__(self, selector: str) -> bool:
        return selector == "time" or selector in self._index

    def __len__(self) -> int:
        return len(self.time)

    def __repr__(self) -> str:
        return (f"SimulationResult({len(self.time)} points, t={self.time[0]:g}..{self.time[-1]:g}"
                f"{' ' + self.time_unit if self.time_unit else ''}, outputs={self.outputs})")

    def to_pandas(self):
        """Return a DataFrame with a ``time`` column and one column per output (units in ``attrs``)."""
        import pandas as pd

        df = pd.DataFrame(self.values, columns=self.outputs)
        df.insert(0, "time", self.time)
        df.attrs["time_unit"] = self.time_unit
        df.attrs["units"] = dict(self.units)
        return df

    def to_csv(self, path) -> None:
        """Write the table as CSV (header: time and output selectors)."""
        self.to_pandas().to_csv(path, index=False)

    def to_parquet(self, path) -> None:
        """Write the table as Parquet."""
        df = self.to_pandas()
        df.attrs = {}
        df.to_parquet(path, index=False)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict: time unit, units, and column arrays as lists."""
        cols = {"time": self.time.tolist()}
        for name in self.outputs:
            cols[name] = [None if not np.isfinite(v) else float(v) for v in self[name]]
        return {"time_unit": self.time_unit, "units": self.units, "columns": cols}

    def to_json(self, path=None) -> str:
        """Return the result as JSON text (and write it to ``path`` when given)."""
        text = json.dumps(self.to_dict())
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def plot(self, outputs: Sequence[str] | None = None, ax=None, *, logy: bool = False):
        """Plot outputs against time on ``ax`` (a new figure if None); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        for name in outputs or self.outputs:
            ax.plot(self.time, self[name], label=name)
        ax.set_xlabel(f"time ({self.time_unit})" if self.time_unit else "time")
        if logy:
            ax.set_yscale("log")
        ax.legend(loc="best", fontsize="small")
        return ax
