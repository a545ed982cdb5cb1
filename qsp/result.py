"""Labelled simulation results."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from ._ids import unknown_id

__all__ = ["SimulationResult"]


#: Outputs whose legend stays inside the axes; more put it outside, to the right.
LEGEND_INSIDE = 8
#: Legend entries drawn at most; the rest are counted in a last entry.
MAX_LEGEND = 15
#: Rows (head and tail), columns and listed outputs in a result's HTML form.
HTML_ROWS = 10
HTML_COLUMNS = 20
HTML_OUTPUTS_LISTED = 10


class SimulationResult:
    """One time course: a time vector and one column per output selector.

    Columns are read as numpy arrays with ``result["[A]"]``; ``to_pandas()``
    gives a DataFrame with a ``time`` column followed by the outputs.

    In a notebook a result shows as an HTML table (head and tail, units in the
    column headers). It has no PNG form: drawing a figure for every result shown
    would be slow; call :meth:`plot` for one.

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
    units : dict
        Unit of each output selector whose unit the model declares (``{"[Cp]": "nmol/L"}``).
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

    def unit(self, selector: str) -> str:
        """Unit of an output (or of ``'time'``); '' when the model does not declare it."""
        if selector not in self:
            raise unknown_id("output of this result", selector, self.outputs)
        return self.time_unit if selector == "time" else self.units.get(selector, "")

    def label(self, selector: str) -> str:
        """``selector`` followed by its unit in parentheses, when it has one: ``'[Cp] (nmol/L)'``."""
        u = self.unit(selector)
        return f"{selector} ({u})" if u else selector

    def to_pandas(self):
        """Return a DataFrame with a ``time`` column and one column per output.

        ``attrs["time_unit"]`` holds the time unit and ``attrs["units"]`` the unit of each output.
        """
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
        """Write the table as Parquet (time unit and units kept in its metadata: ``read_parquet(...).attrs``)."""
        self.to_pandas().to_parquet(path, index=False)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict: time unit, units, and column arrays as lists."""
        cols = {"time": self.time.tolist()}
        for name in self.outputs:
            cols[name] = [None if not np.isfinite(v) else float(v) for v in self[name]]
        return {"time_unit": self.time_unit, "units": dict(self.units), "columns": cols}

    def to_json(self, path=None) -> str:
        """Return the result as JSON text (and write it to ``path`` when given)."""
        text = json.dumps(self.to_dict())
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def plot(self, outputs: Sequence[str] | None = None, ax=None, *, logy: bool = False,
             max_legend: int = MAX_LEGEND):
        """Plot outputs against time on ``ax`` (a new figure if None); returns the Axes.

        The y axis is labelled with the unit when all plotted outputs share one; otherwise
        each legend entry carries its output's unit. More than :data:`LEGEND_INSIDE` outputs
        put the legend outside the axes; beyond ``max_legend`` entries it ends with
        "... and N more".
        """
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D

        names = list(self.outputs if outputs is None else ([outputs] if isinstance(outputs, str) else outputs))
        for name in names:
            self[name]  # unknown outputs fail before anything is drawn
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4), layout="constrained")
        units = {self.units.get(n, "") for n in names}
        shared = units.pop() if len(units) == 1 else None
        lines = [ax.plot(self.time, self[n], label=n if shared is not None else self.label(n))[0] for n in names]
        ax.set_xlabel(self.label("time"))
        if shared:
            ax.set_ylabel(shared)
        if logy:
            ax.set_yscale("log")
        shown = lines[:max(1, max_legend)]
        handles = list(shown)
        labels = [h.get_label() for h in shown]
        if len(lines) > len(shown):
            handles.append(Line2D([], [], linestyle="none"))
            labels.append(f"... and {len(lines) - len(shown)} more")
        if len(lines) <= LEGEND_INSIDE:
            ax.legend(handles, labels, loc="best", fontsize="small")
        else:
            ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                      fontsize="x-small", frameon=False)
        return ax

    def _repr_html_(self) -> str:
        from html import escape

        df = self.to_pandas()
        df.columns = [self.label(c) for c in df.columns]
        names = ", ".join(self.outputs[:HTML_OUTPUTS_LISTED])
        if len(self.outputs) > HTML_OUTPUTS_LISTED:
            names += f", ... ({len(self.outputs) - HTML_OUTPUTS_LISTED} more)"
        unit = f" {self.time_unit}" if self.time_unit else ""
        head = (f"<p><b>SimulationResult</b>: {len(self.time)} points, t = {self.time[0]:g}..{self.time[-1]:g}"
                f"{escape(unit)}, {len(self.outputs)} output{'s' if len(self.outputs) != 1 else ''}: "
                f"{escape(names)}</p>")
        return head + df.to_html(index=False, max_rows=HTML_ROWS, max_cols=HTML_COLUMNS)

