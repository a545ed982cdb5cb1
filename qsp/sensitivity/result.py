"""Sensitivity results: one tidy table of indices, exports, and a plot that fits the method."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..display import table_html

__all__ = ["SensitivityResult", "ConvergenceResult", "INDEX_COLUMNS"]

#: Columns of every indices table. ``time`` is NaN for scalar metrics; ``parameter2`` is set for S2 only;
#: ``conf`` is the half-width of the confidence interval (NaN where the method gives none).
INDEX_COLUMNS = ["output", "time", "parameter", "parameter2", "index", "value", "conf"]


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records", double_precision=15))


class SensitivityResult:
    """Indices of one study.

    Attributes
    ----------
    method : str
        'sobol', 'morris', 'efast', 'delta', 'pawn' or 'local'.
    indices : pandas.DataFrame
        Long table with :data:`INDEX_COLUMNS`.
    parameters : dict
        The ranges studied (``{id: {low, high, distribution}}``), or base values for local.
    n : int
        Method sample size (Sobol base points, Morris trajectories, eFAST points per parameter,
        delta/PAWN samples; for local, 1).
    n_simulations : int
        Simulations run (rows given to :func:`qsp.ensemble.run`).
    failures : pandas.DataFrame
        ``row`` (design row) and ``message`` of every failed simulation.
    settings : dict
        Options of the study (seed, on_failure, rel_step, store, ...).
    wall_seconds : float
    n_reused : int
        Simulations taken from the store (``out=``) instead of being run again.
    """

    def __init__(self, method: str, indices: pd.DataFrame, parameters: dict, *, n: int, n_simulations: int,
                 failures: pd.DataFrame | None = None, settings: dict | None = None,
                 wall_seconds: float = float("nan"), n_reused: int = 0):
        self.method = method
        self.indices = indices[INDEX_COLUMNS].reset_index(drop=True)
        self.parameters = parameters
        self.n = n
        self.n_simulations = n_simulations
        self.failures = failures if failures is not None else pd.DataFrame(columns=["row", "message"])
        self.settings = dict(settings or {})
        self.wall_seconds = wall_seconds
        self.n_reused = int(n_reused)

    @property
    def n_failed(self) -> int:
        return len(self.failures)

    @property
    def outputs(self) -> list[str]:
        """Output columns analysed, in order (metric names, or the time-course output)."""
        return list(dict.fromkeys(self.indices["output"]))

    def __repr__(self) -> str:
        return (f"SensitivityResult(method={self.method!r}, n={self.n}, {self.n_simulations} simulations, "
                f"{self.n_failed} failed, outputs={self.outputs})")

    def _repr_html_(self) -> str:
        facts = (f"{self.method}, n = {self.n}, {self.n_simulations} simulations ({self.n_reused} reused), "
                 f"{self.n_failed} failed, {len(self.parameters)} parameters, outputs {', '.join(self.outputs)}")
        return table_html("SensitivityResult", facts=facts, table=self.indices)

    def to_pandas(self) -> pd.DataFrame:
        """The long indices table (columns: :data:`INDEX_COLUMNS`)."""
        return self.indices.copy()

    def table(self, index: str | None = None, output: str | None = None) -> pd.DataFrame:
        """Wide view: one row per parameter, ``value`` and ``conf`` per index, for one scalar output."""
        df = self.indices[self.indices["parameter2"] == ""]
        output = output or df["output"].iloc[0]
        df = df[df["output"] == output]
        if index is not None:
            df = df[df["index"] == index]
        wide = df.pivot_table(index="parameter", columns="index", values=["value", "conf"], sort=False,
                              dropna=False)
        return wide

    def value(self, parameter: str, index: str, output: str | None = None, parameter2: str = "") -> float:
        """One index value (scalar output)."""
        df = self.indices
        sel = (df["parameter"] == parameter) & (df["index"] == index) & (df["parameter2"] == parameter2)
        if output is not None:
            sel &= df["output"] == output
        vals = df.loc[sel, "value"]
        if len(vals) != 1:
            raise KeyError(f"{len(vals)} rows match parameter={parameter!r}, index={index!r}, output={output!r}")
        return float(vals.iloc[0])

    def to_csv(self, path) -> None:
        """Write the long indices table as CSV."""
        self.indices.to_csv(path, index=False)

    def to_dict(self) -> dict:
        return {"method": self.method, "n": self.n, "n_simulations": self.n_simulations,
                "n_reused": self.n_reused, "n_failed": self.n_failed, "failures": _records(self.failures),
                "parameters": self.parameters,
                "settings": self.settings, "wall_seconds": self.wall_seconds, "indices": _records(self.indices)}

    def to_json(self, path=None) -> str:
        """Everything above as JSON (written to ``path`` when given); NaN becomes null."""
        text = json.dumps(self.to_dict(), default=str)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def plot(self, ax=None, *, output: str | None = None, index: str | None = None):
        """Sobol/eFAST/delta/PAWN bars (with CI error bars), Morris mu*-sigma scatter, local bars, or
        indices over time for a time course.

        One output (or ``output=`` given): returns the Axes. Several outputs: one panel per output,
        side by side; returns the array of Axes (``ax`` may then be a sequence of one Axes per output).
        """
        from . import plots

        return plots.plot_result(self, ax=ax, output=output, index=index)


class ConvergenceResult:
    """Indices recomputed at increasing sample sizes; ``indices`` has an ``n`` column first."""

    def __init__(self, method: str, indices: pd.DataFrame, parameters: dict, *, n_simulations: int,
                 failures: pd.DataFrame | None = None, settings: dict | None = None, wall_seconds=float("nan")):
        self.method = method
        self.indices = indices[["n"] + INDEX_COLUMNS].reset_index(drop=True)
        self.parameters = parameters
        self.n_simulations = n_simulations
        self.failures = failures if failures is not None else pd.DataFrame(columns=["row", "message"])
        self.settings = dict(settings or {})
        self.wall_seconds = wall_seconds

    @property
    def ns(self) -> list[int]:
        return sorted(set(int(v) for v in self.indices["n"]))

    def __repr__(self) -> str:
        return f"ConvergenceResult(method={self.method!r}, ns={self.ns}, {self.n_simulations} simulations)"

    def _repr_html_(self) -> str:
        facts = f"{self.method}, n in {self.ns}, {self.n_simulations} simulations, {len(self.failures)} failed"
        return table_html("ConvergenceResult", facts=facts, table=self.indices)

    def to_pandas(self) -> pd.DataFrame:
        return self.indices.copy()

    def to_csv(self, path) -> None:
        self.indices.to_csv(path, index=False)

    def to_json(self, path=None) -> str:
        text = json.dumps({"method": self.method, "ns": self.ns, "n_simulations": self.n_simulations,
                           "n_failed": len(self.failures), "failures": _records(self.failures),
                           "parameters": self.parameters, "settings": self.settings,
                           "indices": _records(self.indices)}, default=str)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def plot(self, ax=None, *, output: str | None = None, index: str | None = None):
        """Each parameter's index against n (log2 axis) with its CI band; returns the Axes."""
        from . import plots

        return plots.plot_convergence(self, ax=ax, output=output, index=index)


def empty_failures() -> pd.DataFrame:
    return pd.DataFrame({"row": np.array([], dtype=int), "message": np.array([], dtype=object)})
