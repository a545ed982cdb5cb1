"""``qsp dataset check | plot | simulate``: look at an event table, draw it, simulate a model over it.

Tables and figures go to the files named; ``check`` prints its report on standard output, the
other steps one line on standard error.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import QSPError

__all__ = ["register", "add_read_options", "read_options", "read_data", "save_figure", "check_plot_file", "CLI_NAMES"]

#: Python argument -> command-line option, for messages raised by the library.
CLI_NAMES = {"cmt_map": "--cmt", "covariates": "--covariate", "evid_style": "--evid-style", "missing": "--missing",
             "outputs": "--output", "lag": "--lag", "bioavailability": "--bioavailability",
             "modelled_rate": "--modelled-rate", "modelled_duration": "--modelled-duration", "params": "--param",
             "simulated": "--simulated", "rows": "--rows", "covariate_interpolation": "--covariate-interpolation",
             "amount_unit": "--amount-unit", "covariate_model": "--covariate-model"}

#: Dose modifiers of ``qsp dataset simulate``: option -> keyword of ``simulate_dataset``.
MODIFIERS = {"--lag": "lag", "--bioavailability": "bioavailability", "--modelled-rate": "modelled_rate",
             "--modelled-duration": "modelled_duration"}


def _cmt(text: str) -> tuple[int, str]:
    number, eq, name = (s.strip() for s in text.partition("="))
    if not eq or not name:
        raise argparse.ArgumentTypeError(f"expected NUMBER=SPECIES, got {text!r}")
    try:
        n = int(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"compartment number must be a whole number, got {number!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"compartment number must be >= 1, got {number!r}")
    return n, name


def _missing(text: str) -> tuple[str, list[float]]:
    column, eq, codes = (s.strip() for s in text.partition("="))
    if not eq or not column or not codes:
        raise argparse.ArgumentTypeError(f"expected COLUMN=CODE[,CODE...], got {text!r}")
    from ..cli import _number

    return column, [_number(c.strip(), f"code of {column!r}") for c in codes.split(",")]


def _modifier(text: str) -> tuple[str, float | str]:
    """``SPECIES=VALUE``: VALUE a number, else the name of a dataset column or model parameter."""
    species, eq, value = (s.strip() for s in text.partition("="))
    if not eq or not species or not value:
        raise argparse.ArgumentTypeError(f"expected SPECIES=VALUE (VALUE: a column, a parameter or a number), "
                                         f"got {text!r}")
    try:
        return species, float(value)
    except ValueError:
        return species, value


def add_read_options(parser: argparse.ArgumentParser) -> None:
    """The options of :func:`~qsp.datasets.read_dataset`: --cmt, --covariate, --evid-style, --missing."""
    parser.add_argument("--cmt", action="append", type=_cmt, metavar="NUMBER=SPECIES",
                        help="compartment number to species name, e.g. 1=depot (repeatable)")
    parser.add_argument("--covariate", action="append", metavar="COLUMN",
                        help="a covariate column (repeatable; default: every column that is not canonical)")
    parser.add_argument("--evid-style", choices=["nonmem", "rxode2"], default="nonmem",
                        help="EVID coding: nonmem (0-4, default) or rxode2 (any EVID other than 0 is a dose)")
    parser.add_argument("--missing", action="append", type=_missing, metavar="COLUMN=CODE[,CODE...]",
                        help="codes read as missing, e.g. SS=99 (repeatable)")


def _unique(pairs, option: str) -> dict:
    out: dict = {}
    for key, value in pairs or []:
        if key in out:
            raise QSPError(f"{option} {key!r} is given twice")
        out[key] = value
    return out


def read_options(args) -> dict:
    """Keyword arguments of ``read_dataset`` from the parsed options of :func:`add_read_options`."""
    return {"cmt_map": _unique(args.cmt, "--cmt") or None, "covariates": args.covariate,
            "evid_style": args.evid_style, "missing": _unique(args.missing, "--missing") or None}


def register(subparsers) -> None:
    """Add ``qsp dataset ...`` to the main parser."""
    from ..cli import _key_value, _positive, allow_negative_values

    p = subparsers.add_parser("dataset", help="NONMEM-style event tables: check, plot, simulate a model over one",
                              description="Check a NONMEM-style event table (CSV or Parquet), plot it, or "
                                          "simulate a model over its doses and observation times.")
    sub = p.add_subparsers(dest="dataset_command", metavar="STEP")
    sub.required = True

    c = sub.add_parser("check", help="report what the table holds, per subject, with warnings")
    c.add_argument("data", metavar="DATA", help="event table (CSV or Parquet)")
    add_read_options(c)
    c.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    c.add_argument("--csv", metavar="FILE", help="also write the per-subject table as CSV")
    c.set_defaults(handler=_check)

    g = sub.add_parser("plot", help="spaghetti plot of the observations, doses marked")
    g.add_argument("data", metavar="DATA", help="event table (CSV or Parquet)")
    add_read_options(g)
    g.add_argument("--out", required=True, metavar="FIG.png", help="image file (png, pdf, svg, jpg)")
    g.add_argument("--output", action="append", metavar="NAME",
                   help="a panel (repeatable): DV, a DVID value or a column of --simulated (default: all)")
    g.add_argument("--simulated", metavar="SIM.csv", help="simulated table of this dataset ('qsp dataset simulate')")
    g.add_argument("--log", action="store_true", help="logarithmic y axis")
    g.set_defaults(handler=_plot)

    s = sub.add_parser("simulate", help="simulate a model over the table's doses and observation times",
                       description="Simulate MODEL for every subject of DATA: its doses (ADDL, SS, infusions, "
                                   "resets) and its observation times; write the rows with one column per output.")
    s.add_argument("model", metavar="MODEL")
    s.add_argument("data", metavar="DATA", help="event table (CSV or Parquet)")
    add_read_options(s)
    s.add_argument("--output", action="append", required=True, metavar="SELECTOR",
                   help="output selector, repeatable: S (amount), [S] (concentration), parameter or rule id")
    for flag, meaning in (("--lag", "lag time"), ("--bioavailability", "bioavailability (fraction)"),
                          ("--modelled-rate", "infusion rate of RATE -1 doses"),
                          ("--modelled-duration", "infusion duration of RATE -2 doses")):
        s.add_argument(flag, action="append", type=_modifier, metavar="SPECIES=VALUE",
                       help=f"{meaning} of doses into SPECIES; VALUE: a dataset column, a model parameter or a "
                            "number (repeatable)")
    s.add_argument("--param", action="append", type=_key_value, metavar="ID=VALUE", help="parameter override")
    s.add_argument("--covariate-model", metavar="FILE.json",
                   help="covariate effects turning the table's covariate columns into per-row parameter values "
                        "(a JSON list of 'CL~WT:power(70,0.75)' strings or effect objects)")
    s.add_argument("--effect", action="append", metavar="P~COV:KIND(ARGS)",
                   help="a covariate effect, e.g. 'CL~WT:power(70,0.75)' or 'CL~SEX:categorical(F=0.8,M=1)' "
                        "(repeatable; effects on one parameter multiply)")
    s.add_argument("--covariate-interpolation", choices=["locf", "nocb"], default="locf",
                   help="a time-varying value holds from its row on (locf, default) or over the interval that "
                        "ends at its row (nocb, NONMEM's default)")
    s.add_argument("--amount-unit", metavar="UNIT",
                   help="unit of AMT and RATE (mg, ug, nmol, ...), converted into the dosed species' units "
                        "(default: the model's units)")
    s.add_argument("--rows", choices=["observations", "all"], default="observations",
                   help="rows that get outputs: observation and EVID 2 rows (default), or all rows (a dose row "
                        "reports the state just after it)")
    s.add_argument("--backend", choices=["serial", "processes", "dask"], default="serial",
                   help="how subjects are run (default serial)")
    s.add_argument("--workers", type=_positive(int), help="number of local workers (processes or dask)")
    s.add_argument("--rtol", type=_positive(float), default=1e-8, help="CVODE relative tolerance (default 1e-8)")
    s.add_argument("--atol", type=_positive(float), default=1e-12, help="CVODE absolute tolerance (default 1e-12)")
    s.add_argument("--ss-tolerance", type=_positive(float), metavar="TOL",
                   help="relative change over one dosing interval below which a steady state is reached "
                        "(default 100 * rtol)")
    s.add_argument("--max-steps", type=_positive(int), help="CVODE step limit; a subject needing more fails")
    s.add_argument("--out", required=True, metavar="FILE.csv",
                   help="the dataset's rows with one column per output (CSV, or .parquet)")
    s.add_argument("--plot", metavar="FIG.png", help="also plot the observations with the simulation")
    s.set_defaults(handler=_simulate)
    for parser in (p, c, g, s):
        allow_negative_values(parser)


def read_data(args):
    """The Dataset of ``args.data``, read with the options of :func:`add_read_options`."""
    from ..option_names import cli_options
    from .read import read_dataset

    with cli_options(CLI_NAMES):
        return read_dataset(args.data, **read_options(args))


def _check(args) -> int:
    from .check import check_dataset

    report = check_dataset(read_data(args))
    if args.json:
        report.to_json(args.json)
    if args.csv:
        report.to_csv(args.csv)
    sys.stdout.write(str(report) + "\n")
    return 0


def save_figure(fig, path: str) -> None:
    """Write ``fig`` to ``path`` whole or not at all, and close it."""
    import matplotlib.pyplot as plt

    from ..atomic import atomic_path

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def check_plot_file(path: str | None, option: str) -> None:
    """Refuse an image file name whose suffix matplotlib would not write (before any work is done)."""
    from ..cli import _PLOT_SUFFIXES

    if path and not path.lower().endswith(_PLOT_SUFFIXES):
        raise QSPError(f"{option} file must end in one of {', '.join(_PLOT_SUFFIXES)}; got {path!r}")


def _plot(args) -> int:
    import matplotlib

    from ..option_names import cli_options
    from ..tables import read_table
    from .plot import plot_dataset

    check_plot_file(args.out, "--out")
    ds = read_data(args)
    sim = read_table(args.simulated, what="simulated table") if args.simulated else None
    matplotlib.use("Agg")
    with cli_options(CLI_NAMES):
        fig = plot_dataset(ds, args.output, simulated=sim, log=args.log)
    save_figure(fig, args.out)
    print(f"{len(ds.subjects)} subjects -> {args.out}", file=sys.stderr)
    return 0


def _backend(args):
    from ..cli import backend_of

    return backend_of(args)


def _check_cmt(model, cmt_map: dict | None) -> None:
    """Refuse a --cmt species the model does not have."""
    from .._ids import unknown_id

    species = list(model.species.index)
    for number, name in (cmt_map or {}).items():
        if name not in species:
            err = unknown_id("species", name, species, where=f" of model {model.name!r}")
            raise QSPError(f"--cmt {number}={name}: {err}")


def _effects(args):
    """The covariate model of ``--covariate-model`` and ``--effect`` (None when neither is given)."""
    from ..covariates import CovariateModel

    effects = []
    if args.covariate_model:
        effects += list(CovariateModel.from_file(args.covariate_model).effects)
    if args.effect:
        try:
            effects += list(CovariateModel.parse(args.effect).effects)
        except QSPError as exc:
            raise type(exc)(f"--effect: {exc}") from None
    return CovariateModel(effects) if effects else None


def _simulate(args) -> int:
    from ..cli import _load, _pairs
    from ..option_names import cli_options
    from .simulate import simulate_dataset

    check_plot_file(args.plot, "--plot")
    model = _load(args.model)
    ds = read_data(args)
    _check_cmt(model, ds.cmt_map)
    modifiers = {key: _unique(getattr(args, key), flag) or None for flag, key in MODIFIERS.items()}
    flags = {key: flag for flag, key in MODIFIERS.items()}
    backend = _backend(args)
    try:
        with cli_options(CLI_NAMES):
            sim = simulate_dataset(model, ds, args.output, params=_pairs(args.param, "--param"), backend=backend,
                                   rtol=args.rtol, atol=args.atol, ss_tolerance=args.ss_tolerance,
                                   max_steps=args.max_steps, option_label=flags.get,
                                   covariate_model=_effects(args), rows=args.rows,
                                   covariate_interpolation=args.covariate_interpolation,
                                   amount_unit=args.amount_unit, **modifiers)
    finally:
        if not isinstance(backend, str):
            backend.close()
    if str(args.out).endswith((".parquet", ".pq")):
        sim.to_parquet(args.out)
    else:
        sim.to_csv(args.out)
    if args.plot:
        import matplotlib

        from .plot import plot_dataset

        matplotlib.use("Agg")
        save_figure(plot_dataset(ds, simulated=sim.table), args.plot)
    ss = sim.steady_state
    steady = f", {int(ss['converged'].sum())} of {len(ss)} steady states converged" if len(ss) else ""
    print(f"{len(ds.subjects)} subjects, {len(sim.table)} rows, outputs {', '.join(sim.outputs)}, "
          f"{len(sim.failures)} failed{steady} -> {args.out}", file=sys.stderr)
    return 0
