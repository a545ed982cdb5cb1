"""``qsp nca DATA``: non-compartmental analysis of each subject's profile in an event table.

DATA is read as an event table (``qsp.datasets.read_dataset``): a NONMEM-style dataset, a plain
long table (ID, TIME, DV), or the table ``qsp dataset simulate`` writes (name its output column with
``--output-column``). The observations (EVID 0, MDV 0) are analysed, times taken from the subject's
dose; the per-subject table goes to ``--out`` and a table is printed on standard output.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from ..datasets.dataset import _plain
from ..errors import InputError
from .parameters import AUC_METHODS, ROUTES, dose_columns
from .terminal import ADJ_R2_TOLERANCE

__all__ = ["register", "profiles", "PRINTED"]

#: Columns printed per subject (without --summary); the file has them all.
PRINTED = ("Cmax", "Tmax", "AUClast", "AUCinf", "AUC_extrap_pct", "half_life", "lambda_z_n")


def register(subparsers) -> None:
    """Add the ``nca`` subcommand."""
    from ..cli import _nonnegative, allow_negative_values
    from ..datasets.cli import add_read_options

    n = subparsers.add_parser("nca", help="non-compartmental analysis of observed or simulated profiles",
                              description="Non-compartmental analysis of each subject's concentration-time "
                                          "profile in DATA (an event table, a long ID/TIME/DV table, or a table "
                                          "written by 'qsp dataset simulate').")
    n.add_argument("data", metavar="DATA", help="event table or long table (CSV or Parquet)")
    add_read_options(n)
    n.add_argument("--output-column", default="DV", metavar="COLUMN",
                   help="the concentration column (default DV; a simulated output such as CP)")
    n.add_argument("--dvid", metavar="VALUE", help="analyse only the observations of this DVID")
    dose = n.add_mutually_exclusive_group()
    dose.add_argument("--dose-column", metavar="COLUMN",
                      help="AMT (default): the amount of each subject's dose row; another column: one dose value "
                           "per subject")
    dose.add_argument("--dose", type=_nonnegative, metavar="AMOUNT", help="one dose for every subject")
    n.add_argument("--route", choices=ROUTES, default="extravascular",
                   help="extravascular (default) or iv (IV bolus)")
    n.add_argument("--auc-method", choices=AUC_METHODS, default="linear-up/log-down",
                   help="trapezoid rule (default linear-up/log-down)")
    n.add_argument("--include-cmax", action="store_true", help="let the terminal regression start at Cmax")
    n.add_argument("--adj-r2-tolerance", type=_nonnegative, default=ADJ_R2_TOLERANCE, metavar="TOL",
                   help=f"adjusted-R2 margin within which the terminal fit with more points wins (default "
                        f"{ADJ_R2_TOLERANCE:g})")
    n.add_argument("--strict", action="store_true", help="fail when lambda_z cannot be estimated")
    n.add_argument("--time-unit", default="", metavar="UNIT", help="unit of TIME, carried into the results")
    n.add_argument("--conc-unit", default="", metavar="UNIT", help="unit of the concentrations")
    n.add_argument("--dose-unit", default="", metavar="UNIT", help="unit of the doses")
    n.add_argument("--summary", action="store_true",
                   help="print statistics across subjects (n, mean, sd, cv_pct, geo_mean, median, min, max)")
    n.add_argument("--out", required=True, metavar="FILE.csv", help="per-subject parameters (CSV, or .json)")
    n.add_argument("--plot", metavar="FIG.png", help="also plot the profiles with their terminal regressions")
    n.set_defaults(handler=run_cli)
    allow_negative_values(n)


def profiles(ds, conc_col: str = "DV", dose_col: str | None = "AMT",
             dvid: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The observations of ``ds`` as a long table (ID, TIME since the dose, concentration) and the dose per subject.

    A subject's time origin is its dose (ADDL expanded); a subject without a dose keeps TIME as it is
    (and has no dose), and one with more than one dose is refused. ``dose_col`` ``"AMT"``: the amount
    of that dose; another column: its one value per subject (taken over all the subject's rows);
    None: no dose. With a DVID column, ``dvid`` picks the observations of one type (needed when
    there are several).

    Raises
    ------
    InputError
        A column that is not in the table, a subject with several doses, several values of
        ``dose_col`` in one subject, or several DVID values and no ``dvid``.
    """
    table = ds.to_pandas()
    for col, flag in ((conc_col, "--output-column"), (dose_col, "--dose-column")):
        if col is not None and col not in table.columns:
            raise InputError(f"{flag} {col!r}: not a column of {ds.source} "
                             f"(columns: {', '.join(map(str, table.columns))})")
    doses = ds.expand_addl()
    obs = _of_type(ds, dvid)
    times, amounts = {}, {}
    for sid, grp in doses.groupby("ID", sort=False):
        if len(grp) > 1:
            raise InputError(f"subject {sid:g}: {len(grp)} doses (ADDL expanded); NCA here is of single-dose "
                             "profiles (times since the one dose): keep one dose per subject in DATA")
        times[sid], amounts[sid] = float(grp["TIME"].iloc[0]), float(grp["AMT"].iloc[0])
    ids = list(pd.unique(obs["ID"]))
    long = pd.DataFrame({"ID": obs["ID"].to_numpy(),
                         "TIME": obs["TIME"].to_numpy(dtype=float) - obs["ID"].map(times).fillna(0.0).to_numpy(),
                         conc_col: pd.to_numeric(obs[conc_col], errors="coerce").to_numpy(dtype=float)})
    dose: dict = {}
    for sid in ids:
        if dose_col is None:
            dose[sid] = None
        elif dose_col == "AMT":
            dose[sid] = amounts.get(sid)
        else:
            values = pd.to_numeric(table.loc[table["ID"] == sid, dose_col], errors="coerce").dropna().unique()
            if len(values) != 1:
                raise InputError(f"subject {sid:g}: --dose-column {dose_col!r} must hold one dose per subject, "
                                 f"found {len(values)} distinct values")
            dose[sid] = float(values[0])
    long["ID"] = [_plain(v) for v in long["ID"]]
    return long, {_plain(k): v for k, v in dose.items()}


def _of_type(ds, dvid: str | None) -> pd.DataFrame:
    """The observations, of DVID ``dvid`` when given (compared as text)."""
    obs = ds.observations
    if "DVID" not in obs.columns:
        if dvid is not None:
            raise InputError(f"--dvid {dvid}: {ds.source} has no DVID column")
        return obs
    kinds = [str(_plain(v)) for v in pd.unique(obs["DVID"].dropna())]
    text = obs["DVID"].map(lambda v: str(_plain(v)))
    if dvid is None:
        if len(kinds) > 1:
            raise InputError(f"{ds.source} has observations of DVID {', '.join(kinds)}; choose one with --dvid")
        return obs
    if dvid not in kinds:
        raise InputError(f"--dvid {dvid}: not a DVID of the observations ({', '.join(kinds) or 'none'})")
    return obs.loc[text == dvid]


def _printed(res, summary: bool) -> str:
    if summary:
        table = res.summary()
    else:
        cl, v = dose_columns(res.route)
        cols = [c for c in (*PRINTED, cl, v) if c in res.table.columns]
        table = res.table[cols]
    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.max_rows", 500):
        return table.to_string(float_format=lambda x: f"{x:.6g}")


def run_cli(args) -> int:
    """Handle ``qsp nca``; returns the exit status."""
    from ..datasets.cli import check_plot_file, read_data, save_figure
    from . import nca

    check_plot_file(args.plot, "--plot")
    ds = read_data(args)
    dose_col = None if args.dose is not None else (args.dose_column or "AMT")
    long, doses = profiles(ds, args.output_column, dose_col, args.dvid)
    if not len(long):
        raise InputError(f"{ds.source} has no observation (EVID 0, MDV 0) to analyse")
    if args.dose is not None:
        doses = {sid: args.dose for sid in doses}
    res = nca(long, dose={sid: np.nan if d is None else d for sid, d in doses.items()}, route=args.route,
              auc_method=args.auc_method, conc_col=args.output_column, include_cmax=args.include_cmax,
              adj_r2_tolerance=args.adj_r2_tolerance, strict=args.strict, time_unit=args.time_unit,
              conc_unit=args.conc_unit, dose_unit=args.dose_unit)
    if str(args.out).endswith(".json"):
        res.to_json(args.out)
    else:
        res.to_csv(args.out)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        save_figure(res.plot().figure, args.plot)
    sys.stdout.write(_printed(res, args.summary) + "\n")
    noted = int((res.table["note"] != "").sum())
    print(f"{len(res)} profiles ({args.route}, {args.auc_method}), {noted} with notes -> {args.out}",
          file=sys.stderr)
    return 0
