"""Non-compartmental analysis (NCA) of concentration-time profiles.

>>> import pandas as pd, qsp.nca
>>> df = pd.DataFrame({"ID": 1, "TIME": [0.5, 1, 2, 4, 8], "DV": [5.0, 8.0, 6.0, 3.0, 0.8]})
>>> res = qsp.nca.nca(df, dose=100, route="extravascular")
>>> res.table[["Cmax", "Tmax", "AUCinf", "half_life"]]

Columns of :attr:`NCAResult.table` (units in ``table.attrs["units"]``): Cmax, Tmax, Clast, Tlast,
C0 (IV bolus only), lambda_z, lambda_z_n, lambda_z_adj_r2, lambda_z_t_start, lambda_z_t_end,
half_life, AUClast, AUCinf, AUC_extrap_pct, AUMClast, AUMCinf, MRTinf, dose, CL and Vz (IV) or
CL/F and Vz/F (extravascular), Vss (IV), note.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .parameters import AUC_METHODS, ROUTES, dose_columns, profile_parameters
from .result import NCAResult, parameter_units
from .terminal import ADJ_R2_TOLERANCE, TerminalFit, fit_terminal

__all__ = ["nca", "NCAResult", "TerminalFit", "fit_terminal", "profile_parameters", "parameter_units",
           "dose_columns", "ROUTES", "AUC_METHODS"]


def _from_simulation(data, output: str | None, id_col: str, time_col: str, conc_col: str):
    """Long table (id, time, conc) and units from a SimulationResult."""
    names = list(data.outputs)
    if output is None:
        if len(names) != 1:
            raise InputError(f"output: the SimulationResult has {len(names)} outputs ({', '.join(names)}); "
                             f"name the concentration with output=")
        output = names[0]
    if output not in names:
        raise InputError(f"output: {output!r} is not an output of the SimulationResult ({', '.join(names)})")
    df = pd.DataFrame({id_col: 1, time_col: data.time, conc_col: data[output]})
    return df, data.time_unit, data.units.get(output, "")


def _from_trajectories(data, output: str | None, id_col: str, time_col: str, conc_col: str):
    """Long table from an EnsembleResult (one profile per task)."""
    traj = data.trajectories
    if traj is None:
        raise InputError("data: the EnsembleResult kept no trajectories (run it with trajectories kept)")
    outputs = [c for c in traj.columns if c not in ("task", "time")]
    if output is None:
        if len(outputs) != 1:
            raise InputError(f"output: the trajectories have {len(outputs)} outputs ({', '.join(outputs)}); "
                             f"name the concentration with output=")
        output = outputs[0]
    if output not in outputs:
        raise InputError(f"output: {output!r} is not in the trajectories ({', '.join(outputs)})")
    df = pd.DataFrame({id_col: traj["task"].to_numpy(), time_col: traj["time"].to_numpy(),
                       conc_col: traj[output].to_numpy()})
    return df, str(traj.attrs.get("time_unit", "")), str(traj.attrs.get("units", {}).get(output, ""))


def _doses(df: pd.DataFrame, dose, id_col: str) -> dict:
    """Dose per subject from a number, a column name or a mapping (None: no dose)."""
    ids = list(dict.fromkeys(df[id_col]))
    if dose is None:
        return {i: None for i in ids}
    if isinstance(dose, str):
        if dose not in df.columns:
            raise InputError(f"dose: column {dose!r} not in the data (columns: {', '.join(map(str, df.columns))})")
        out = {}
        for sid, grp in df.groupby(id_col, sort=False):
            vals = pd.to_numeric(grp[dose], errors="coerce").dropna().unique()
            if len(vals) != 1:
                raise InputError(f"subject {sid}: column {dose!r} must hold one dose per subject, found "
                                 f"{len(vals)} distinct values")
            out[sid] = float(vals[0])
        return out
    if isinstance(dose, Mapping):
        missing = [i for i in ids if i not in dose]
        if missing:
            raise InputError(f"subject {missing[0]}: no dose in the dose mapping")
        return {i: float(dose[i]) for i in ids}
    return {i: float(dose) for i in ids}


def _check_profile(sid, t: np.ndarray, c: np.ndarray, time_col: str, conc_col: str) -> None:
    if not np.all(np.isfinite(t)):
        raise InputError(f"subject {sid}: column {time_col!r} has a missing or infinite time")
    if np.any(t < 0):
        raise InputError(f"subject {sid}: column {time_col!r} has a negative time ({t[t < 0][0]:g}); "
                         f"times are since the dose")
    bad = np.flatnonzero(np.diff(t) <= 0)
    if len(bad):
        i = bad[0]
        raise InputError(f"subject {sid}: column {time_col!r} must increase strictly "
                         f"({t[i + 1]:g} after {t[i]:g})")
    if np.any(c < 0):
        raise InputError(f"subject {sid}: column {conc_col!r} has a negative concentration ({c[c < 0][0]:g})")
    if len(c) == 0:
        raise InputError(f"subject {sid}: column {conc_col!r} has no concentration")


def nca(data, *, dose=None, route: str = "extravascular", auc_method: str = "linear-up/log-down",
        id_col: str = "ID", time_col: str = "TIME", conc_col: str = "DV", output: str | None = None,
        include_cmax: bool = False, adj_r2_tolerance: float = ADJ_R2_TOLERANCE, strict: bool = False, time_unit: str | None = None,
        conc_unit: str | None = None, dose_unit: str = "") -> NCAResult:
    """Non-compartmental analysis of each profile in ``data``.

    Parameters
    ----------
    data : pandas.DataFrame, qsp.SimulationResult or qsp.ensemble.EnsembleResult
        A long table with subject id, time (since the dose) and concentration columns; a
        simulation (one profile of ``output``); or an ensemble's trajectories (one profile per task).
        Rows with a missing concentration are dropped.
    dose : float, str, mapping or None
        One dose for all, the name of a dose column (one value per subject) or {id: dose}.
    route : {'extravascular', 'iv'}
        'iv' is an IV bolus (C0 back-extrapolated when there is no positive sample at t = 0).
    auc_method : {'linear-up/log-down', 'linear'}
    id_col, time_col, conc_col : str
        Column names of the table.
    output : str, optional
        The concentration output of a SimulationResult or EnsembleResult.
    include_cmax : bool
        Let the terminal regression start at Cmax.
    adj_r2_tolerance : float
        Adjusted-R² margin (1e-4) within which the terminal fit with more points is preferred.
    strict : bool
        Raise :class:`qsp.InputError` when λz cannot be estimated, instead of NaN and a note.
    time_unit, conc_unit, dose_unit : str
        Unit strings carried into ``table.attrs`` (taken from a simulation when not given).

    Raises
    ------
    qsp.InputError
        Missing columns, non-increasing or negative times, negative concentrations, an unknown
        route or method; one line naming the subject and column.
    """
    if route not in ROUTES:
        raise InputError(f"route: must be one of {', '.join(ROUTES)}; got {route!r}")
    if auc_method not in AUC_METHODS:
        raise InputError(f"auc_method: must be one of {', '.join(AUC_METHODS)}; got {auc_method!r}")
    t_unit = c_unit = ""
    if isinstance(data, pd.DataFrame):
        df = data
    elif hasattr(data, "outputs") and hasattr(data, "time"):
        df, t_unit, c_unit = _from_simulation(data, output, id_col, time_col, conc_col)
    elif hasattr(data, "trajectories"):
        df, t_unit, c_unit = _from_trajectories(data, output, id_col, time_col, conc_col)
    else:
        raise InputError(f"data: expected a pandas DataFrame, SimulationResult or EnsembleResult, "
                         f"got {type(data).__name__}")
    missing = [c for c in (id_col, time_col, conc_col) if c not in df.columns]
    if missing:
        raise InputError(f"data: column {missing[0]!r} missing (columns: {', '.join(map(str, df.columns))})")
    doses = _doses(df, dose, id_col)
    rows, profiles, fits = [], {}, {}
    for sid, grp in df.groupby(id_col, sort=False):
        t = pd.to_numeric(grp[time_col], errors="coerce").to_numpy(dtype=float)
        c = pd.to_numeric(grp[conc_col], errors="coerce").to_numpy(dtype=float)
        keep = ~np.isnan(c)
        t, c = t[keep], c[keep]
        _check_profile(sid, t, c, time_col, conc_col)
        params, fit = profile_parameters(t, c, dose=doses[sid], route=route, auc_method=auc_method,
                                         include_cmax=include_cmax, adj_r2_tolerance=adj_r2_tolerance)
        if strict and not fit.ok:
            raise InputError(f"subject {sid}: column {conc_col!r}: {fit.note}")
        rows.append({id_col: sid, **params})
        profiles[sid], fits[sid] = (t, c), fit
    table = pd.DataFrame(rows).set_index(id_col)
    table["lambda_z_n"] = table["lambda_z_n"].astype(int)
    return NCAResult(table, profiles, fits, time_unit=t_unit if time_unit is None else time_unit,
                     conc_unit=c_unit if conc_unit is None else conc_unit, dose_unit=dose_unit,
                     route=route, auc_method=auc_method)
