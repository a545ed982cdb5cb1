"""Result containers shared by the synergy models and MOOCS-DS.

Every result has ``to_pandas()`` (one tidy table), ``to_csv(path)``, ``to_json(path=None)`` and a
``plot(ax=None)`` that imports matplotlib inside the method.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..errors import QSPError
from ..display import table_html

__all__ = ["SynergyModel", "TableResult", "check_flat"]


def check_flat(d1, d2, E) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate flat dose/effect arrays of equal length (doses >= 0, finite)."""
    arrays = [np.asarray(a, dtype=float).ravel() for a in (d1, d2, E)]
    if not (arrays[0].size == arrays[1].size == arrays[2].size) or arrays[0].size == 0:
        raise QSPError(f"d1, d2 and E must be non-empty and of the same length. Got "
                       f"{arrays[0].size}, {arrays[1].size} and {arrays[2].size}.")
    ok = np.isfinite(arrays[0]) & np.isfinite(arrays[1]) & np.isfinite(arrays[2])
    if not ok.all():
        raise QSPError(f"{int((~ok).sum())} point(s) have a non-finite dose or effect; drop them "
                       "(or fix the failed simulations) first")
    if (arrays[0] < 0).any() or (arrays[1] < 0).any():
        raise QSPError("doses must be >= 0")
    return arrays[0], arrays[1], arrays[2]


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class TableResult:
    """Base: a result backed by one DataFrame ``table`` plus a metadata dict ``info``."""

    table: pd.DataFrame
    info: dict

    def to_pandas(self) -> pd.DataFrame:
        """The result as one tidy DataFrame (a copy)."""
        return self.table.copy()

    def to_csv(self, path) -> None:
        """Write :meth:`to_pandas` as CSV."""
        self.table.to_csv(path, index=False)

    def to_dict(self) -> dict:
        rows = json.loads(self.table.to_json(orient="records", double_precision=15))
        return {**self.info, "rows": rows}

    def to_json(self, path=None) -> str:
        """JSON text: the metadata keys plus ``rows`` (records of :meth:`to_pandas`); written to ``path`` if given."""
        text = json.dumps(self.to_dict(), default=_json_default)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def _facts(self) -> str:
        """Key facts for the notebook title line: the scalar metadata."""
        return ", ".join(f"{k} {_fmt(v)}" for k, v in self.info.items() if isinstance(v, (str, int, float))
                         and not isinstance(v, bool) and v is not None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.table)} rows; {self._facts()})"

    def _repr_html_(self) -> str:
        return table_html(type(self).__name__, self.table, self._facts())


class SynergyModel(TableResult):
    """Common contract of the synergy models (Bliss, HSA, Loewe, ZIP, MuSyC).

    ``Model(**options).fit(d1, d2, E)`` takes flat arrays (doses >= 0, effect rising with dose,
    single-drug points where the other dose is 0) and returns self, with ``reference_`` (the
    no-interaction expectation at each point) and ``synergy_`` (the score: an excess, > 0 synergy,
    or for Loewe a combination index, < 1 synergy).
    """

    kind = "synergy"
    score_name = "synergy"

    def fit(self, d1, d2, E):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def table(self) -> pd.DataFrame:
        if not hasattr(self, "synergy_"):
            raise QSPError(f"{type(self).__name__} is not fitted yet; call fit(d1, d2, E) first")
        return pd.DataFrame({"d1": self.d1_, "d2": self.d2_, "effect": self.effect_,
                             "reference": self.reference_, self.score_name: self.synergy_})

    @property
    def info(self) -> dict:
        out = {"model": self.kind, "score": self.score_name}
        if hasattr(self, "params_"):
            out["params"] = self.params_
        return out

    def __repr__(self) -> str:
        if not hasattr(self, "synergy_"):
            return f"{type(self).__name__}() (not fitted)"
        return f"{type(self).__name__}({len(self.d1_)} points; {self._facts()})"

    def _facts(self) -> str:
        s = np.asarray(self.synergy_, float)
        combo = (self.d1_ > 0) & (self.d2_ > 0)
        vals = s[combo & np.isfinite(s)]
        mean = f", mean {self.score_name} over the combinations {vals.mean():.4g}" if vals.size else ""
        extra = f", beta {self.beta_:.4g}" if hasattr(self, "beta_") and hasattr(self, "params_") else ""
        return f"{self.kind}, score {self.score_name}{mean}{extra}"

    def _repr_html_(self) -> str:
        if not hasattr(self, "synergy_"):
            return table_html(type(self).__name__, None, "not fitted yet; call fit(d1, d2, E)")
        return table_html(type(self).__name__, self.table, self._facts())

    def plot(self, ax=None, *, log: bool = False):
        """Heatmap of the score on the dose grid (combination points only); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        t = self.table
        t = t[(t.d1 > 0) & (t.d2 > 0)]
        grid = t.pivot_table(index="d2", columns="d1", values=self.score_name)
        neutral = 1.0 if self.score_name == "ci" else 0.0
        vals = grid.to_numpy()
        span = np.nanmax(np.abs(vals - neutral)) if np.isfinite(vals).any() else 1.0
        mesh = ax.pcolormesh(_edges(grid.columns.to_numpy(), log), _edges(grid.index.to_numpy(), log), vals,
                             cmap="RdBu" if self.score_name == "ci" else "RdBu_r",
                             vmin=neutral - span, vmax=neutral + span, shading="flat")
        ax.figure.colorbar(mesh, ax=ax, label=f"{self.kind} {self.score_name}")
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel("dose 1")
        ax.set_ylabel("dose 2")
        return ax


def _edges(x: np.ndarray, log: bool = False) -> np.ndarray:
    """Cell edges around sorted centres (geometric midpoints when log)."""
    x = np.asarray(x, dtype=float)
    if x.size == 1:
        return np.array([x[0] * 0.9, x[0] * 1.1]) if x[0] else np.array([-0.5, 0.5])
    if log and (x > 0).all():
        lx = np.log(x)
        mid = 0.5 * (lx[1:] + lx[:-1])
        return np.exp(np.concatenate([[lx[0] - (mid[0] - lx[0])], mid, [lx[-1] + (lx[-1] - mid[-1])]]))
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])
