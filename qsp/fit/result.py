"""FitResult: every start of a multi-start fit, the best estimate, exports and plots."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_write
from ..errors import InputError
from .objective import ParameterSpace, to_linear

__all__ = ["FitResult", "AT_BOUND", "LEADING", "TRAILING", "x_columns"]

#: An estimate within this fraction of its range from a bound is flagged ``at_bound``.
AT_BOUND = 1e-6
#: Columns of the starts table before and after the parameters.
LEADING = ("start", "status", "message", "nllh_start", "nllh")
TRAILING = ("n_redrawn", "n_evals", "n_grad", "optimizer_message", "seconds")


def x_columns(space: ParameterSpace) -> list[str]:
    """The starts table's column of each parameter: its id (``x:id`` if the id is another column's name)."""
    return [f"x:{p}" if p in LEADING + TRAILING else p for p in space.ids]


def _plain(v):
    """A JSON-ready scalar (NaN and inf as None)."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.bool_):
        return bool(v)
    return v


class FitResult:
    """The starts of a fit, best first, and the estimate of the best one.

    Attributes
    ----------
    starts : pandas.DataFrame
        One row per start, sorted by final ``nllh`` (failed starts last): ``start`` (index; ``x0`` rows
        first), ``status`` (converged, stopped or failed), ``message`` (why it failed, or evaluations
        that raised), ``nllh_start`` and ``nllh`` (negative log-likelihood at the start and the end),
        one column per parameter (the final point on the parameter scale; for a failed start, its
        start), ``n_redrawn`` (how many times the start point was drawn again because the objective was
        not finite there), ``n_evals`` (objective values the optimiser asked for: for least squares, residual vectors,
        finite-difference Jacobians included; a gradient's own evaluations are not counted), ``n_grad``
        (gradient or Jacobian evaluations),
        ``optimizer_message`` and ``seconds``.
    space : ParameterSpace
    method : str
    wall_s : float
        Wall-clock seconds of the whole fit.
    """

    def __init__(self, starts: pd.DataFrame, space: ParameterSpace, *, method: str, seed=None,
                 wall_s: float = 0.0, objective=None):
        self.starts = starts
        self.space = space
        self.method = method
        self.seed = seed
        self.wall_s = float(wall_s)
        self.objective = objective
        self.columns = x_columns(space)
        self._predictions = None

    # ------------------------------------------------------------------ numbers
    @property
    def n_starts(self) -> int:
        return len(self.starts)

    @property
    def n_failed(self) -> int:
        return int((self.starts["status"] == "failed").sum())

    @property
    def _ok(self) -> pd.DataFrame:
        return self.starts.loc[(self.starts["status"] != "failed") & np.isfinite(self.starts["nllh"])]

    @property
    def best_nllh(self) -> float:
        """The smallest final negative log-likelihood (NaN when every start failed)."""
        ok = self._ok
        return float(ok["nllh"].iloc[0]) if len(ok) else math.nan

    @property
    def best_llh(self) -> float:
        """Log-likelihood of the best start (``-best_nllh``; the log-posterior when the objective has a prior)."""
        return 0.0 - self.best_nllh  # never -0.0

    @property
    def best_x(self) -> np.ndarray | None:
        """The best point on the parameter scale (None when every start failed)."""
        ok = self._ok
        return ok[self.columns].iloc[0].to_numpy(dtype=float) if len(ok) else None

    def n_converged(self, tol: float = 0.1) -> int:
        """Starts whose final log-likelihood is within ``tol`` of the best."""
        ok = self._ok
        return int((ok["nllh"] - self.best_nllh <= tol).sum()) if len(ok) else 0

    @property
    def estimates(self) -> pd.DataFrame:
        """Per parameter: scale, ``estimate`` (parameter scale), ``value`` (linear), ``lower``, ``upper``
        and ``nominal`` (parameter scale), and ``at_bound`` (within 1e-6 of the range from a bound)."""
        sp = self.space
        x = self.best_x
        x = np.full(len(sp), np.nan) if x is None else x
        span = sp.upper - sp.lower
        at = (np.abs(x - sp.lower) <= AT_BOUND * span) | (np.abs(sp.upper - x) <= AT_BOUND * span)
        return pd.DataFrame({"parameter": list(sp.ids), "scale": list(sp.scales), "estimate": x,
                             "value": to_linear(x, sp.scales), "lower": sp.lower, "upper": sp.upper,
                             "at_bound": at, "nominal": sp.nominal})

    def summary(self, tol: float = 0.1) -> dict:
        """``best_llh``, ``n_starts``, ``n_failed``, ``n_at_best`` (within ``tol``), ``n_redrawn`` (start points
        drawn again in all), ``wall_s``, ``method``, ``seed``."""
        redrawn = int(self.starts["n_redrawn"].sum()) if "n_redrawn" in self.starts else 0
        return {"best_llh": _plain(self.best_llh), "n_starts": self.n_starts, "n_failed": self.n_failed,
                "n_at_best": self.n_converged(tol), "n_redrawn": redrawn, "wall_s": self.wall_s,
                "method": self.method, "seed": _plain(self.seed)}

    def __repr__(self) -> str:
        return (f"FitResult({self.method}, {self.n_starts} starts, {self.n_failed} failed, "
                f"best llh {self.best_llh:.6g}, {self.n_converged()} at the best)")

    # ------------------------------------------------------------------ exports
    def to_csv(self, directory: str | os.PathLike) -> None:
        """Write ``starts.csv`` and ``estimates.csv`` into ``directory`` (created if needed)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        with atomic_write(d / "starts.csv") as fh:
            self.starts.to_csv(fh, index=False)
        with atomic_write(d / "estimates.csv") as fh:
            self.estimates.to_csv(fh, index=False)

    def to_dict(self) -> dict:
        """JSON-ready: the summary, ``estimates`` and ``starts`` as lists of records (NaN as None)."""
        def records(df):
            return [{k: _plain(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]

        return {**self.summary(), "estimates": records(self.estimates), "starts": records(self.starts)}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """Return :meth:`to_dict` as JSON text, also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            with atomic_write(path) as fh:
                fh.write(text)
        return text

    def to_pandas(self) -> pd.DataFrame:
        """A copy of :attr:`starts`."""
        return self.starts.copy()

    # ------------------------------------------------------------------ simulations at the estimate
    @property
    def can_simulate(self) -> bool:
        """Whether the objective gives its simulations (``simulate(x)``) for :meth:`plot_fit`; measurements
        come from the same table or, for a PEtab simulation table, from the objective's ``measurement_df``."""
        return callable(getattr(self.objective, "simulate", None)) and self.best_x is not None

    def predictions(self) -> pd.DataFrame:
        """The objective's ``simulate(best_x)`` table: measurements with the simulation at the estimate."""
        if self._predictions is None:
            if not self.can_simulate:
                raise InputError(f"this fit's objective ({type(self.objective).__name__}) has no simulate(x); "
                                 "fits against data need an objective that simulates its measurements")
            table = self.objective.simulate(self.best_x)
            measured = getattr(self.objective, "measurement_df", None)
            if "measurement" not in table.columns and isinstance(measured, pd.DataFrame) \
                    and "measurement" in measured.columns and len(measured) == len(table):
                # a PEtab simulation table: the measurement table's rows with simulation for measurement
                table = table.assign(measurement=measured["measurement"].to_numpy())
            missing = [c for c in ("measurement", "simulation") if c not in table.columns]
            if missing:
                raise InputError(f"the table of {type(self.objective).__name__}.simulate() lacks the column(s) "
                                 f"{', '.join(missing)}")
            self._predictions = table
        return self._predictions

    # ------------------------------------------------------------------ plots
    def plot_waterfall(self, ax=None, tol: float = 0.1, label: str | None = None):
        """Final objective per start, sorted, as ``nllh - best + 1`` on a log axis; returns the Axes."""
        from .plots import waterfall

        return waterfall(self, ax=ax, tol=tol, label=label)

    def plot_parameters(self, n_best: int = 10, ax=None):
        """The estimates of the ``n_best`` best starts within each parameter's bounds; returns the Axes."""
        from .plots import parameters

        return parameters(self, n_best=n_best, ax=ax)

    def plot_fit(self, max_panels: int = 12):
        """Measurements and simulations at the estimate against time, one panel per experiment; returns the Figure."""
        from .plots import fit_panels

        return fit_panels(self.predictions(), max_panels=max_panels)

    def plot_residuals(self):
        """Residuals at the estimate against time and against the simulation; returns the Figure."""
        from .plots import residuals

        return residuals(self.predictions())

    def _repr_html_(self) -> str:
        from html import escape

        s = self.summary()
        head = (f"<b>FitResult</b> ({escape(self.method)}): {s['n_starts']} starts, {s['n_failed']} failed, "
                f"{s['n_at_best']} within 0.1 of the best; best log-likelihood {self.best_llh:.6g}; "
                f"{self.wall_s:.3g} s")
        table = self.estimates.to_html(index=False, float_format=lambda v: f"{v:.6g}")
        return f"<div>{head}{table}</div>"
