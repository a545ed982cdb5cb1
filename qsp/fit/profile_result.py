"""The result of :func:`qsp.fit.profile.profile`: the profile points, the intervals read off them, a plot."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..display import table_html
from .objective import ParameterSpace, to_linear
from .uncertainty_common import linear_columns, write_csv, write_parquet

__all__ = ["ProfileResult", "POINT_COLUMNS", "INTERVAL_COLUMNS", "IDENTIFIABILITY"]

#: Columns of :attr:`ProfileResult.table` before the full point (one column per parameter id, on its scale).
POINT_COLUMNS = ("parameter", "side", "step", "value", "value_linear", "nllh", "ratio", "optimizer_ok")
#: Columns of :attr:`ProfileResult.intervals`.
INTERVAL_COLUMNS = ("parameter", "scale", "estimate", "lower", "upper", "estimate_linear", "lower_linear",
                    "upper_linear", "identifiability", "lower_end", "upper_end", "max_ratio", "better_optimum",
                    "note")
IDENTIFIABILITY = ("identifiable", "practically non-identifiable", "structurally non-identifiable", "undetermined")

#: An nllh this much below x_best's counts as a better optimum.
IMPROVEMENT = 1e-3
#: A profile whose ratio stays below this fraction of the threshold everywhere is flat.
FLAT = 0.02


class ProfileResult:
    """Profile likelihoods and the confidence intervals read off them.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per profile point (:data:`POINT_COLUMNS`, then the full point on the parameter scale):
        ``side`` is 'optimum', 'lower' or 'upper', ``step`` counts outwards, ``value`` is the profiled
        parameter on its scale, ``ratio`` = 2 * (nllh - nllh_ref).
    intervals : pandas.DataFrame
        One row per parameter (:data:`INTERVAL_COLUMNS`): ends on the scale and linear (an end the
        profile does not reach before the bound is -inf/+inf on the scale; one not determined, NaN),
        ``identifiability`` (one of :data:`IDENTIFIABILITY`), why each side ended (``lower_end`` /
        ``upper_end``: 'threshold', 'bound', 'max_steps' or 'failed'), and ``better_optimum``.
    threshold : float
        chi2_1(confidence) (3.84 for 95 %).
    nllh_best, nllh_min, nllh_ref : float
        The nllh at ``x_best``, the lowest one seen on any profile, and the one ratios are measured from
        (``nllh_min`` if :attr:`improved`, else ``nllh_best``).
    improved : bool
        A profile found a point more than 1e-3 below ``x_best``'s nllh; :attr:`x_min` is that point.
    failures : pandas.DataFrame
        ``parameter`` and ``message`` of each profile that raised.
    """

    def __init__(self, space: ParameterSpace, x_best: np.ndarray, nllh_best: float, entries: list, *,
                 confidence: float, threshold: float):
        self.space = space
        self.x_best = np.asarray(x_best, float)
        self.nllh_best = float(nllh_best)
        self.confidence = float(confidence)
        self.threshold = float(threshold)
        rows, sides, failures = [], {}, []
        for i, points, side_ends, message in entries:
            pid = space.ids[i]
            sides[pid] = side_ends
            if message:
                failures.append({"parameter": pid, "message": message})
            rows.append((pid, "optimum", 0, self.x_best, self.nllh_best, True, i))
            rows.extend((pid, side, k, x, f, ok, i) for side, k, x, f, ok in points)
        x_all = np.array([r[3] for r in rows], dtype=float).reshape(len(rows), len(space))
        f_all = np.array([r[4] for r in rows], dtype=float)
        j = int(np.nanargmin(np.where(np.isfinite(f_all), f_all, np.inf))) if len(rows) else 0
        self.nllh_min = float(min(self.nllh_best, f_all[j])) if len(rows) else self.nllh_best
        self.improved = self.nllh_min < self.nllh_best - IMPROVEMENT
        self.x_min = x_all[j].copy() if self.improved else self.x_best.copy()
        self.nllh_ref = self.nllh_min if self.improved else self.nllh_best
        idx = [r[6] for r in rows]
        table = pd.DataFrame({
            "parameter": [r[0] for r in rows], "side": [r[1] for r in rows], "step": [r[2] for r in rows],
            "value": x_all[np.arange(len(rows)), idx] if len(rows) else [],
            "nllh": f_all, "ratio": 2.0 * (f_all - self.nllh_ref), "optimizer_ok": [r[5] for r in rows]})
        table.insert(4, "value_linear", [float(to_linear(np.array([v]), [space.scales[i]])[0])
                                         for v, i in zip(table["value"], idx)])
        for k, pid in enumerate(space.ids):
            table[pid] = x_all[:, k]
        self.table = table
        self.failures = pd.DataFrame(failures, columns=["parameter", "message"])
        self.intervals = self._intervals(sides)

    # ------------------------------------------------------------------ reading the intervals off
    def _intervals(self, sides: dict) -> pd.DataFrame:
        out = []
        failed = set(self.failures["parameter"])
        for pid, grp in self.table.groupby("parameter", sort=False):
            i = self.space.ids.index(pid)
            est = float(self.x_best[i])
            r0 = float(2.0 * (self.nllh_best - self.nllh_ref))
            ends, notes = {}, []
            for side in ("lower", "upper"):
                pts = grp[grp["side"] == side].sort_values("step")
                how = sides.get(pid, {}).get(side, "failed")
                ends[side] = (_crossing(est, r0, pts["value"].to_numpy(float), pts["ratio"].to_numpy(float),
                                        self.threshold, how, -1 if side == "lower" else 1), how)
                last = float(pts["ratio"].iloc[-1]) if len(pts) else r0
                if ends[side][0][1] is False:
                    if how == "bound":
                        notes.append(f"{side} side reaches its bound at ratio {last:.3g}")
                    elif how == "max_steps":
                        notes.append(f"{side} side: ratio {last:.3g} after max_steps steps (raise max_steps)")
                    elif pid not in failed:
                        notes.append(f"{side} side: the objective is not finite beyond {pts['value'].iloc[-1]:.6g}"
                                     if len(pts) else f"{side} side: the objective is not finite next to the optimum")
            ratios = grp["ratio"].to_numpy(float)
            max_ratio = float(np.nanmax(ratios)) if np.isfinite(ratios).any() else math.nan
            better = bool((grp["nllh"] < self.nllh_best - IMPROVEMENT).any())
            if better:
                notes.append("this profile reaches a lower nllh than x_best")
            if pid in failed:
                notes.append("profile failed: " + self.failures.loc[self.failures["parameter"] == pid,
                                                                    "message"].iloc[0])
            (lo, lo_ok), lo_how = ends["lower"]
            (hi, hi_ok), hi_how = ends["upper"]
            out.append({"parameter": pid, "scale": self.space.scales[i], "estimate": est, "lower": lo, "upper": hi,
                        "identifiability": _identifiability(lo_ok, hi_ok, lo_how, hi_how, max_ratio,
                                                            self.threshold),
                        "lower_end": lo_how, "upper_end": hi_how, "max_ratio": max_ratio, "better_optimum": better,
                        "note": "; ".join(notes)})
        df = pd.DataFrame(out, columns=[c for c in INTERVAL_COLUMNS if not c.endswith("_linear")])
        scales = list(df["scale"])
        df = linear_columns(df, ["estimate", "lower", "upper"], scales)
        return df[list(INTERVAL_COLUMNS)]

    # ------------------------------------------------------------------ views
    def points(self, within: bool = True) -> np.ndarray:
        """Every profile point (rows, on the parameter scale); ``within``: only those with ratio <= threshold.

        Points within the threshold are parameter sets the data do not reject: use them for a
        prediction band (:func:`qsp.fit.bands.prediction_band`).
        """
        t = self.table
        if within:
            t = t[t["ratio"] <= self.threshold]
        return np.unique(t[list(self.space.ids)].to_numpy(float), axis=0)

    def __repr__(self) -> str:
        flags = self.intervals["identifiability"].value_counts().to_dict()
        better = ", better optimum found" if self.improved else ""
        return f"ProfileResult({len(self.intervals)} parameters, {len(self.table)} points, {flags}{better})"

    def _repr_html_(self) -> str:
        facts = (f"{len(self.intervals)} parameters, {len(self.table)} points, threshold {self.threshold:.3g} "
                 f"({self.confidence:g} confidence)" + (", a better optimum was found" if self.improved else ""))
        return table_html("ProfileResult", facts=facts, table=self.intervals)

    def to_pandas(self) -> pd.DataFrame:
        """The profile points table."""
        return self.table.copy()

    def to_csv(self, path, what: str = "profiles") -> None:
        """Write the profile points (``what="profiles"``) or the intervals (``"intervals"``) as CSV."""
        write_csv(self._which(what), path)

    def to_parquet(self, path, what: str = "profiles") -> None:
        """Write the profile points or the intervals as one Parquet file."""
        write_parquet(self._which(what), path)

    def _which(self, what: str) -> pd.DataFrame:
        from ..errors import InputError

        if what not in ("profiles", "intervals"):
            raise InputError(f"what must be 'profiles' or 'intervals'. Got {what!r}.")
        return self.table if what == "profiles" else self.intervals

    def plot(self, parameters=None, axes=None):
        """One panel per parameter: the ratio against its value on its scale, with the threshold line and
        the interval ends; returns the Figure."""
        import matplotlib.pyplot as plt

        ids = list(self.intervals["parameter"]) if parameters is None else (
            [parameters] if isinstance(parameters, str) else list(parameters))
        n = len(ids)
        if axes is None:
            ncols = min(3, n)
            nrows = math.ceil(n / ncols)
            fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.2 * nrows), squeeze=False)
            axes = axes.ravel()
            for ax in axes[n:]:
                ax.set_visible(False)
        else:
            axes = np.ravel(axes)
            fig = axes[0].figure
        for ax, pid in zip(axes, ids):
            grp = self.table[self.table["parameter"] == pid].sort_values("value")
            row = self.intervals[self.intervals["parameter"] == pid].iloc[0]
            ax.plot(grp["value"], grp["ratio"], "o-", ms=3, color="C0")
            ax.axhline(self.threshold, ls="--", color="C3", lw=1, label=f"chi2 {self.confidence:g}")
            for end in (row["lower"], row["upper"]):
                if math.isfinite(end):
                    ax.axvline(end, ls=":", color="C3", lw=1)
            ax.plot([row["estimate"]], [2.0 * (self.nllh_best - self.nllh_ref)], "*", color="k", ms=9)
            ax.set_xlabel(f"{pid} ({row['scale']})")
            ax.set_ylabel("2 (nllh - nllh best)")
            ax.set_title(str(row["identifiability"]), fontsize=9)
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        return fig


def _crossing(est: float, r0: float, values: np.ndarray, ratios: np.ndarray, threshold: float, how: str,
              direction: int) -> tuple[float, bool]:
    """(interval end, whether the profile crossed the threshold) on one side.

    The end is interpolated linearly in the signed root of the ratio (exact for a quadratic profile).
    No crossing: the bound was reached (-inf/+inf) or the side is undetermined (NaN).
    """
    v = np.concatenate([[est], values])
    r = np.concatenate([[r0], ratios])
    for k in range(1, len(v)):
        if np.isfinite(r[k]) and r[k] >= threshold > r[k - 1]:
            ua, ub = math.sqrt(max(r[k - 1], 0.0)), math.sqrt(r[k])
            t = (math.sqrt(threshold) - ua) / (ub - ua) if ub > ua else 1.0
            return float(v[k - 1] + t * (v[k] - v[k - 1])), True
    if how == "bound":
        return direction * math.inf, False
    return math.nan, False


def _identifiability(lo_ok: bool, hi_ok: bool, lo_how: str, hi_how: str, max_ratio: float, threshold: float) -> str:
    if lo_ok and hi_ok:
        return "identifiable"
    open_sides = [h for ok, h in ((lo_ok, lo_how), (hi_ok, hi_how)) if not ok]
    if lo_how == hi_how == "bound" and math.isfinite(max_ratio) and max_ratio < FLAT * threshold:
        return "structurally non-identifiable"
    if "bound" in open_sides:
        return "practically non-identifiable"
    return "undetermined"
