"""Command-line interface: ``qsp simulate | validate | info | models`` and the analyses' subcommands.

A thin layer: it parses arguments, calls the public API and writes what the
API returns. Any :class:`qsp.QSPError` becomes one line on stderr and a
non-zero exit status, never a traceback (set ``QSP_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys

from .atomic import atomic_path, atomic_write
from .errors import QSPError
from .native_output import native_output_contained

EXIT_ERROR = 1
EXIT_USAGE = 2


#: Option values may start with '-' and a digit (``--grid -1:1:5``); argparse otherwise reads them as options.
NEGATIVE_VALUE = re.compile(r"^-\.?\d")


def allow_negative_values(parser: argparse.ArgumentParser) -> None:
    """Let option values of ``parser`` start with '-' and a digit (``--grid=-1:1:5`` works regardless)."""
    if hasattr(parser, "_negative_number_matcher"):
        parser._negative_number_matcher = NEGATIVE_VALUE


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        allow_negative_values(self)

    def error(self, message):  # one line, no usage dump
        self.exit(EXIT_USAGE, f"qsp: error: {message} (see '{self.prog} --help')\n")


def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{what} must be a finite number, got {text!r}")
    return v


def _key_value(text: str) -> tuple[str, float]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected ID=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), _number(value.strip(), f"value of {key.strip()!r}")


def _pairs(pairs, option: str) -> dict[str, float]:
    """ID=VALUE pairs of a repeatable option as a dict; an id given twice is an error."""
    out: dict[str, float] = {}
    for key, value in pairs or []:
        if key in out:
            raise QSPError(f"{option} {key!r} is given twice")
        out[key] = value
    return out


_DOSE_FIELDS = {"target": str, "amount": float, "time": float, "every": float, "count": int, "repeat": int,
                "duration": float, "unit": str, "mw": float}


def _dose(text: str):
    from .dosing import Dose

    fields = {}
    for part in text.split(","):
        if "=" not in part:
            raise argparse.ArgumentTypeError(f"dose field {part!r} is not KEY=VALUE (in {text!r})")
        key, value = (s.strip() for s in part.split("=", 1))
        if key not in _DOSE_FIELDS:
            raise argparse.ArgumentTypeError(f"unknown dose field {key!r}; use {', '.join(_DOSE_FIELDS)}")
        if key in fields:
            raise argparse.ArgumentTypeError(f"dose field {key!r} is given twice (in {text!r})")
        kind = _DOSE_FIELDS[key]
        if kind is int:
            try:
                fields[key] = int(value)
            except ValueError:
                raise argparse.ArgumentTypeError(f"dose field {key!r} must be a whole number, got {value!r}") \
                    from None
        elif kind is float:
            fields[key] = _number(value, f"dose field {key!r}")
        else:
            fields[key] = value
    if "target" not in fields or "amount" not in fields:
        raise argparse.ArgumentTypeError(f"a dose needs target= and amount= (got {text!r})")
    if "mw" in fields:
        fields["molecular_weight"] = fields.pop("mw")
    try:
        return Dose(**fields)
    except QSPError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def backend_of(args):
    """The ensemble backend that ``--backend`` and ``--workers`` name: "serial", or a process or Dask
    backend with that many local workers (``--workers`` is refused with the serial backend)."""
    if args.backend == "serial":
        if args.workers:
            raise QSPError("--workers applies to --backend processes or dask")
        return "serial"
    from . import ensemble

    if args.backend == "dask":
        return ensemble.DaskBackend(n_workers=args.workers)
    return ensemble.ProcessBackend(args.workers)


def _positive(kind):
    def parse(text):
        if kind is float:
            v = _number(text, "the value")
        else:
            try:
                v = kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        return v
    return parse


def _nonnegative(text: str) -> float:
    v = _number(text, "the value")
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return v


def _times(text: str) -> list[float]:
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("expected comma-separated times, e.g. 0,1,2.5,24")
    return [_number(p.strip(), "each time") for p in parts]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``qsp`` parser; with ``command`` (the subcommand about to run), only the analysis package
    that defines it adds its subcommands, so that a command imports only what it runs."""
    p = _Parser(prog="qsp", description="Load, check, dose and simulate QSP models (SBML or Antimony).")
    from . import __version__

    p.add_argument("--version", action="version", version=f"qsp {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    s = sub.add_parser("simulate", help="simulate a model, optionally dosed", description=(
        "Simulate MODEL (a shipped model name or an .xml/.ant file) and write the time course."))
    s.add_argument("model", metavar="MODEL")
    s.add_argument("--t-end", type=_positive(float), help="end time (model time unit); default from the model")
    s.add_argument("--t-start", type=_nonnegative, default=0.0, metavar="T",
                   help="start time (model time unit; default 0): the model starts from its initial state here")
    grid = s.add_mutually_exclusive_group()
    grid.add_argument("--points", type=_positive(int),
                      help="number of output points (default: the model metadata's, else 101)")
    grid.add_argument("--times", type=_times, metavar="T1,T2,...",
                      help="exact output times, strictly increasing (instead of --points)")
    s.add_argument("--equilibrate", type=_positive(float), metavar="DURATION",
                   help="first run the untreated model this long (no doses, no regimen parameters, no "
                        "time-triggered events), then start the dosed run from the state reached")
    s.add_argument("--output", action="append", metavar="SELECTOR",
                   help="output selector, repeatable: S (amount), [S] (concentration), parameter or reaction id")
    s.add_argument("--parameter-set", metavar="NAME",
                   help="a named parameter set of the model's metadata (see 'qsp info'); --param wins on a clash")
    s.add_argument("--param", action="append", type=_key_value, metavar="ID=VALUE", help="parameter override")
    s.add_argument("--initial", action="append", type=_key_value, metavar="ID=VALUE",
                   help="initial amount (S=...) or concentration ([S]=...)")
    s.add_argument("--dose", action="append", type=_dose, metavar="SPEC",
                   help="target=ID,amount=A[,unit=mg][,time=T][,every=T][,count=N | ,repeat=N][,duration=T]"
                        "[,mw=g/mol]; count is the total number of doses, repeat the number after the first")
    s.add_argument("--regimen", metavar="NAME",
                   help="a regimen from the model's metadata; shipped models use their default regimen when "
                        "neither --regimen nor --dose is given ('--regimen untreated' for none)")
    s.add_argument("--body-weight", type=_positive(float), metavar="KG", help="body weight for per-kg doses")
    s.add_argument("--rtol", type=_positive(float), default=1e-6, help="CVODE relative tolerance (default 1e-6)")
    s.add_argument("--atol", type=_positive(float), default=1e-12, help="CVODE absolute tolerance (default 1e-12)")
    s.add_argument("--format", choices=["csv", "json", "parquet"], default="csv")
    s.add_argument("--out", metavar="FILE", help="output file (default: standard output; needed for parquet)")
    s.add_argument("--plot", metavar="FILE.png", help="also write a plot of the outputs")

    v = sub.add_parser("validate", help="check an SBML/Antimony file (libsbml consistency and units)")
    v.add_argument("model", metavar="MODEL")
    v.add_argument("--no-units", action="store_true", help="skip units checks")
    v.add_argument("--format", choices=["text", "json"], default="text")

    i = sub.add_parser("info", help="describe a model: species, parameters, compartments, reactions, events")
    i.add_argument("model", metavar="MODEL")
    i.add_argument("--format", choices=["text", "json"], default="text")

    sub.add_parser("models", help="list the shipped models")

    known = command in CORE_COMMANDS or any(command in c for c in ANALYSIS_COMMANDS.values())
    for module, commands in ANALYSIS_COMMANDS.items():
        if not known or command in commands:
            _register(module, commands, sub)
    return p


#: The subcommands defined here.
CORE_COMMANDS = ("simulate", "validate", "info", "models")


#: Analysis packages that add their own subcommands, and the subcommands each adds: each module
#: defines ``register(subparsers)``, adding parsers with ``set_defaults(handler=function(args) -> exit code)``.
ANALYSIS_COMMANDS = {"qsp.ensemble.cli": ("ensemble",), "qsp.sensitivity.cli": ("gsa",),
                     "qsp.synergy.cli": ("synergy",), "qsp.vpop.cli": ("vpop",),
                     "qsp.datasets.cli": ("dataset",), "qsp.nca.cli": ("nca",), "qsp.fit.cli": ("fit",),
                     "qsp.fit.uncertainty_cli": ("profile", "sample"), "qsp.fit.petab_cli": ("petab",),
                     "qsp.nlme.cli": ("nlme",)}


def _register(module: str, commands, sub) -> None:
    """Add ``module``'s subcommands; if a library it needs is missing, each says so in one line when used."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if not missing or missing == "qsp":
            raise
        for name in commands:
            stub = sub.add_parser(name, help=f"(unavailable: needs the '{missing}' package)", add_help=False)
            stub.add_argument("rest", nargs=argparse.REMAINDER)
            stub.set_defaults(handler=_needs(name, missing))
        return
    mod.register(sub)


def _needs(command: str, package: str):
    def handler(args) -> int:
        raise QSPError(f"'qsp {command}' needs the {package!r} package, which is not installed "
                       f"(pip install {package})")
    return handler


def _load(source: str):
    from .model import load_model

    return load_model(source)


_PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def _simulate(args) -> int:
    if args.plot and not args.plot.lower().endswith(_PLOT_SUFFIXES):
        raise QSPError(f"--plot file must end in one of {', '.join(_PLOT_SUFFIXES)}. Got {args.plot!r}.")
    model = _load(args.model)
    doses = list(args.dose or [])
    params = _pairs(args.param, "--param")
    if args.parameter_set:
        params = {**model.parameter_set(args.parameter_set), **params}
    initial = _pairs(args.initial, "--initial")
    if not args.regimen and not doses and model.metadata.get("default_regimen"):
        args.regimen = model.metadata["default_regimen"]
        print(f"qsp: using {model.name}'s default regimen {args.regimen!r} (see 'qsp info {model.name}')",
              file=sys.stderr)
    t_end = args.t_end or (args.times[-1] if args.times else model.metadata.get("t_end"))
    if t_end is None:
        raise QSPError("give --t-end or --times (this model has no default end time)")
    points = None if args.times else (args.points or model.metadata.get("points"))
    res = model.simulate(t_end, points=points, times=args.times, t_start=args.t_start, outputs=args.output,
                         params=params, initial=initial, doses=doses, regimen=args.regimen or None,
                         body_weight=args.body_weight, rtol=args.rtol, atol=args.atol,
                         equilibrate=args.equilibrate)
    if args.format == "parquet":
        if not args.out:
            raise QSPError("--format parquet needs --out FILE")
        with atomic_path(args.out) as tmp:
            res.to_parquet(tmp)
    elif args.format == "json":
        _write(res.to_json(), args.out)
    else:
        _write(res.to_pandas().to_csv(index=False), args.out)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = res.plot()
        ax.set_title(model.name)
        with atomic_path(args.plot) as tmp:
            ax.figure.savefig(tmp, dpi=120, bbox_inches="tight")
    return 0


def _write(text: str, path: str | None) -> None:
    """Write ``text`` to ``path`` whole or not at all (standard output when ``path`` is None)."""
    if path:
        with atomic_write(path) as fh:
            fh.write(text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _validate(args) -> int:
    from . import sbml as _sbml
    from .catalog import list_models, model_path
    from .validation import validate_document

    source = str(model_path(args.model)) if args.model in list_models() else args.model
    data = _sbml.read_model_file(source)
    if source.lower().endswith((".ant", ".antimony", ".txt")):
        text = _sbml.antimony_to_sbml(data.decode("utf-8", errors="replace"))
    else:
        text = data.decode("utf-8", errors="replace")
    report = validate_document(text, units=not args.no_units, location=source)
    if args.format == "json":
        _write(json.dumps(report.to_dict()), None)
    else:
        _write(str(report), None)
    return 0 if report.ok else EXIT_ERROR


def _info(args) -> int:
    model = _load(args.model)
    tables = {"species": model.species, "parameters": model.parameters, "compartments": model.compartments,
              "reactions": model.reactions, "events": model.events, "rules": model.rules}
    if args.format == "json":
        out = {"name": model.name, "time_unit": model.time_unit, "dose_targets": model.dose_targets}
        for key, df in tables.items():
            flat = df.reset_index() if df.index.name else df
            out[key] = json.loads(flat.to_json(orient="records"))
        _write(json.dumps(out), None)
        return 0
    import pandas as pd

    lines = [f"{model!r}", f"time unit: {model.time_unit or '(not declared)'}",
             f"dose targets: {', '.join(model.dose_targets) or '(none)'}"]
    meta = model.metadata
    if meta:
        lines.append(f"title: {meta.get('title', '')}")
        for d in meta.get("drugs", []):
            lines.append(f"drug: {d.get('name')} -> {d.get('target')} ({d.get('unit')}, {d.get('route')}, "
                         f"MW {d.get('molecular_weight')} g/mol)")
        for name, reg in meta.get("regimens", {}).items():
            mark = " (default)" if name == meta.get("default_regimen") else ""
            lines.append(f"regimen: {name}{mark}: {reg.get('description', '')}")
        for name, pset in meta.get("parameter_sets", {}).items():
            lines.append(f"parameter set: {name}: {pset.get('description', '')}")
        for key, sel in meta.get("outputs", {}).items():
            lines.append(f"output: {key} = {sel}")
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 60,
                           "display.max_rows", 500):
        for key, df in tables.items():
            lines += ["", f"{key} ({len(df)})"]
            if len(df):
                lines.append(df.to_string())
    _write("\n".join(lines), None)
    return 0


def _models(args) -> int:
    from .catalog import list_models, model_metadata

    names = list_models()
    for name in names:
        _write(f"{name}\t{model_metadata(name).get('title', '')}", None)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qsp`` console script; returns the exit status."""
    import warnings

    warnings.showwarning = lambda message, category, *a, **k: print(f"qsp: warning: {message}", file=sys.stderr)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    with native_output_contained(silence_stderr=not os.environ.get("QSP_DEBUG")):
        return _dispatch(args)


def _dispatch(args) -> int:
    handlers = {"simulate": _simulate, "validate": _validate, "info": _info, "models": _models}
    handler = getattr(args, "handler", None) or handlers[args.command]
    try:
        return handler(args)
    except QSPError as exc:
        print(f"qsp: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("qsp: interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError) as exc:
        print(f"qsp: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one line unless debugging
        if os.environ.get("QSP_DEBUG"):
            raise
        print(f"qsp: internal error: {type(exc).__name__}: {exc} (set QSP_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
