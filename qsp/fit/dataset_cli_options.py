"""The command-line options that make a model and an event table an objective (:class:`DatasetObjective`).

``qsp fit MODEL --data``, ``qsp profile MODEL --data``, ``qsp sample MODEL --data`` and ``qsp petab
export MODEL --data`` take the same options: the reading options of ``qsp dataset`` (``--cmt``,
``--covariate``, ``--evid-style``, ``--missing``), ``--observe``, ``--estimate``, ``--error``,
``--sigma`` and ``--param``. :func:`add_dataset_options` adds them, :func:`dataset_objective` builds
the objective from the parsed arguments and :func:`refuse_dataset_flags` refuses them without ``--data``.
"""

from __future__ import annotations

import argparse

from ..errors import QSPError

__all__ = ["ERRORS", "add_dataset_options", "dataset_objective", "refuse_dataset_flags", "sigmas"]

ERRORS = ("additive", "proportional", "combined")
#: Options that only mean something with --data (--evid-style has a default, so it is not among them).
DATASET_FLAGS = ("observe", "estimate", "sigma", "param", "cmt", "covariate", "missing")


def _observe(text: str) -> tuple[str, str]:
    key, eq, output = (s.strip() for s in text.partition("="))
    if not eq or not key or not output:
        raise argparse.ArgumentTypeError(f"expected DV=OUTPUT or DVID_VALUE=OUTPUT, got {text!r}")
    return key, output


def _sigma(text: str) -> tuple[str | None, float]:
    from ..cli import _number

    key, eq, value = (s.strip() for s in text.rpartition("=")) if "=" in text else ("", "", text.strip())
    if eq and key not in ("add", "prop"):
        raise argparse.ArgumentTypeError(f"a sigma is VALUE, add=VALUE or prop=VALUE, got {text!r}")
    v = _number(value, "sigma")
    if v <= 0:
        raise argparse.ArgumentTypeError(f"sigma must be > 0, got {text!r}")
    return key or None, v


def add_dataset_options(parser, *, title: str = "fitting a model to a dataset (with --data)",
                        data_required: bool = False):
    """Add ``--data``, the reading options and the objective options to ``parser`` (as one group)."""
    from ..cli import _key_value
    from ..datasets.cli import add_read_options

    d = parser.add_argument_group(title)
    d.add_argument("--data", metavar="DATA", required=data_required,
                   help="event table (CSV or Parquet): the observations to fit")
    add_read_options(d)
    d.add_argument("--observe", action="append", type=_observe, metavar="DV=OUTPUT",
                   help="the model output DV measures; with a DVID column, DVID_VALUE=OUTPUT per type (repeatable)")
    d.add_argument("--estimate", action="append", metavar="ID=LOW:HIGH[:SCALE][:NOMINAL]",
                   help="an estimated parameter: linear bounds, scale log10 (default), log or lin, and a nominal "
                        "value (repeatable)")
    d.add_argument("--error", choices=ERRORS, default="additive",
                   help="residual error model (default additive); its sigmas are estimated unless --sigma gives them")
    d.add_argument("--sigma", action="append", type=_sigma, metavar="[add=|prop=]VALUE",
                   help="a fixed residual error sigma (repeatable: add= and prop= for combined)")
    d.add_argument("--param", action="append", type=_key_value, metavar="ID=VALUE", help="a fixed parameter value")
    return d


def refuse_dataset_flags(args) -> None:
    """A one-line error for an option of :func:`add_dataset_options` given without ``--data``."""
    for flag in DATASET_FLAGS:
        if getattr(args, flag, None):
            raise QSPError(f"--{flag} applies to a model fitted to a dataset (with --data)")


def sigmas(args) -> dict | None:
    """The fixed sigmas of ``--sigma`` as ``{"add": a, "prop": b}`` (None: all estimated)."""
    out: dict = {}
    for key, value in args.sigma or []:
        if key is None:
            if args.error == "combined":
                raise QSPError("--error combined has two sigmas: give --sigma add=VALUE and/or --sigma prop=VALUE")
            key = "add" if args.error == "additive" else "prop"
        if key in out:
            raise QSPError(f"--sigma {key} is given twice")
        if (key == "add" and args.error == "proportional") or (key == "prop" and args.error == "additive"):
            raise QSPError(f"--sigma {key}= does not apply to --error {args.error}")
        out[key] = value
    return out or None


def dataset_objective(args, model: str, *, per_subject: bool = False):
    """The :class:`DatasetObjective` of ``model`` (a shipped name or a model file) and ``args.data``
    (``{subject: objective}`` with ``per_subject``)."""
    from ..cli import _load, _pairs
    from ..datasets.cli import read_data
    from .dataset_objective import DatasetObjective

    if not args.observe:
        raise QSPError("--data needs --observe DV=OUTPUT (the model output the DV column measures)")
    if not args.estimate:
        raise QSPError("--data needs at least one --estimate ID=LOW:HIGH")
    observe: dict = {}
    for key, output in args.observe:
        if key in observe:
            raise QSPError(f"--observe {key} is given twice")
        observe[key] = output
    fitted = _load(model)
    ds = read_data(args)
    params = _pairs(args.param, "--param")
    options = {"params": params} if params else {}
    if getattr(args, "rtol", None) is not None:
        options.update(rtol=args.rtol, atol=args.rtol * 1e-4)
    return DatasetObjective.from_options(fitted, ds, observe=observe, estimate=list(args.estimate),
                                         error=args.error, sigma=sigmas(args), per_subject=per_subject, **options)
