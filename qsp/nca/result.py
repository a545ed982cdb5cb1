"""NCAResult: one row of NCA parameters per subject, with units, summary statistics and plots."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from ..atomic import atomic_write, json_text
from .terminal import TerminalFit

__all__ = ["NCAResult", "parameter_units"]

SUMMARY_SKIP = ("dose", "lambda_z_n", "lambda_z_t_start", "lambda_z_t_end", "lambda_z_adj_r2")


def parameter_units(time_unit: str, conc_unit: str, dose_unit: str) -> dict[str, str]:
    """Unit string of each parameter column, built from the time, concentration and dose units."""
    t, c, d = time_unit or "time", conc_unit or "conc", dose_unit or "dose"
    units = {"Cmax": c, "Tmax": t, "Clast": c, "Tlast": t, "C0": c,
             "lambda_z": f"1/{t}", "lambda_z_n": "", "lambda_z_adj_r2": "",
             "lambda_z_t_start": t, "lambda_z_t_end": t, "half_life": t,
             "AUClast": f"{c}*{t}", "AUCinf": f"{c}*{t}", "AUC_extrap_pct": "%",
             "AUMClast": f"{c}*{t}^2", "AUMCinf": f"{c}*{t}^2", "MRTinf": t, "dose": d,
             "Vss": f"{d}/({c})"}
    for name in ("CL", "CL/F"):
        units[name] = f"{d}/({c}*{t})"
    for name in ("Vz", "Vz/F"):
        units[name] = f"{d}/({c})"
    return units


class NCAResult:
    """NCA parameters of every profile.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per subject, indexed by subject id; ``note`` says why λz-dependent values are NaN
        or how C0 was obtained. ``attrs`` holds ``units`` (per column), ``time_unit``,
        ``conc_unit``, ``dose_unit``, ``route`` and ``auc_method``.
    profiles : dict
        Subject id -> (time array, concentration array) as analysed.
    fits : dict
        Subject id -> :class:`~qsp.nca.terminal.TerminalFit`.
    """

    def __init__(self, table: pd.DataFrame, profiles: dict, fits: dict[object, TerminalFit], *,
                 time_unit: str = "", conc_unit: str = "", dose_unit: str = "",
                 route: str = "extravascular", auc_method: str = "linear-up/log-down"):
        self.table = table
        self.profiles = profiles
        self.fits = fits
        self.time_unit, self.conc_unit, self.dose_unit = time_unit, conc_unit, dose_unit
        self.route, self.auc_method = route, auc_method
        units = parameter_units(time_unit, conc_unit, dose_unit)
        table.attrs.update({"units": {k: units[k] for k in table.columns if k in units},
                            "time_unit": time_unit, "conc_unit": conc_unit, "dose_unit": dose_unit,
                            "route": route, "auc_method": auc_method})

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return f"NCAResult({len(self)} profiles, route={self.route!r}, auc_method={self.auc_method!r})"

    @property
    def units(self) -> dict[str, str]:
        """Unit of each column of :attr:`table`."""
        return dict(self.table.attrs["units"])

    def to_pandas(self) -> pd.DataFrame:
        """A copy of the per-subject table (units in ``attrs``)."""
        df = self.table.copy()
        df.attrs = json.loads(json.dumps(self.table.attrs))
        return df

    def summary(self) -> pd.DataFrame:
        """Statistics of each numeric parameter across subjects (NaN values left out).

        Columns: n, mean, sd, cv_pct (100 sd/mean), geo_mean (positive values only), median,
        min, max, unit.
        """
        rows = {}
        for name in self.table.columns:
            if name == "note" or name in SUMMARY_SKIP:
                continue
            v = pd.to_numeric(self.table[name], errors="coerce").to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            pos = v[v > 0]
            mean = float(v.mean()) if len(v) else np.nan
            sd = float(v.std(ddof=1)) if len(v) > 1 else np.nan
            rows[name] = {"n": len(v), "mean": mean, "sd": sd,
                          "cv_pct": 100 * sd / mean if mean else np.nan,
                          "geo_mean": float(np.exp(np.log(pos).mean())) if len(pos) == len(v) and len(v) else np.nan,
                          "median": float(np.median(v)) if len(v) else np.nan,
                          "min": float(v.min()) if len(v) else np.nan, "max": float(v.max()) if len(v) else np.nan,
                          "unit": self.units.get(name, "")}
        return pd.DataFrame.from_dict(rows, orient="index")

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the per-subject table as CSV (subject id first)."""
        with atomic_write(path) as fh:
            self.table.to_csv(fh)

    def to_dict(self) -> dict:
        """JSON-ready dict: units, route, method and one record per subject (NaN as None)."""
        records = []
        for sid, row in self.table.iterrows():
            rec = {"subject": sid.item() if hasattr(sid, "item") else sid}
            for k, v in row.items():
                if isinstance(v, (float, np.floating)):
                    rec[k] = float(v) if np.isfinite(v) else None
                elif isinstance(v, np.integer):
                    rec[k] = int(v)
                else:
                    rec[k] = v
            records.append(rec)
        return {**json.loads(json.dumps(self.table.attrs)), "subjects": records}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """Return :meth:`to_dict` as JSON text, also written to ``path`` when given."""
        return json_text(self.to_dict(), path)

    def plot(self, subjects=None, ax=None):
        """Semi-log profiles with the chosen terminal regression (dashed) over its time range.

        Returns the Axes (a new figure when ``ax`` is None).
        """
        import matplotlib.pyplot as plt

        ids = list(self.profiles) if subjects is None else list(np.atleast_1d(subjects))
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4), layout="constrained")
        for sid in ids:
            t, c = self.profiles[sid]
            pos = c > 0
            line, = ax.plot(t[pos], c[pos], "o-", ms=3, label=str(sid))
            fit = self.fits[sid]
            if fit.ok:
                tt = np.linspace(fit.t_start, fit.t_end, 50)
                ax.plot(tt, fit.predict(tt), "--", color=line.get_color(), lw=1)
        ax.set_yscale("log")
        ax.set_xlabel(f"time ({self.time_unit})" if self.time_unit else "time")
        ax.set_ylabel(f"concentration ({self.conc_unit})" if self.conc_unit else "concentration")
        if len(ids) <= 10:
            ax.legend(fontsize="small", title="subject")
        return ax

    def _repr_html_(self) -> str:
        from ..display import table_html

        n_noted = int((self.table["note"] != "").sum()) if "note" in self.table else 0
        facts = (f"{len(self)} profiles, route {self.route}, AUC {self.auc_method}"
                 f"{f', {n_noted} with notes' if n_noted else ''}")
        return table_html("NCAResult", self.table, facts)
