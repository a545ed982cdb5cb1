"""``qsp petab llh PROBLEM.yaml``: the log-likelihood of a PEtab v1 problem at its nominal parameters;
``qsp petab export MODEL --data DATA ... --out DIR``: a model fitted to a dataset written as a PEtab v1 problem.

``--param ID=VALUE`` (repeatable) sets a parameter of the parameter table (estimated or fixed; a
linear value) first. Prints ``{"llh": ..., "chi2": ..., "n_measurements": ...}`` with ``--json``,
else one readable line. ``qsp petab export`` takes the dataset options of ``qsp fit MODEL --data``
(and ``--from FIT_DIR`` for the nominal values) and prints the YAML file's path.
"""

from __future__ import annotations

import json
import math
import sys

__all__ = ["register", "run_llh", "run_export"]


def register(subparsers) -> None:
    """Add the ``petab`` subcommand (with its ``llh`` and ``export`` commands)."""
    from ..cli import _key_value, _positive, allow_negative_values
    from .dataset_cli_options import add_dataset_options

    p = subparsers.add_parser("petab", help="PEtab v1 problems: log-likelihood, chi2, export of a dataset fit",
                              description="Evaluate PEtab v1 parameter-estimation problems, or write a model "
                                          "fitted to a dataset as one.")
    sub = p.add_subparsers(dest="petab_command", metavar="COMMAND")
    sub.required = True
    llh = sub.add_parser("llh", help="log-likelihood and chi2 at the nominal parameters",
                         description="Log-likelihood and chi2 of a PEtab v1 problem at the nominal values of its "
                                     "parameter table (with --param values set first).")
    llh.add_argument("problem", metavar="PROBLEM.yaml", help="the problem's YAML file")
    llh.add_argument("--param", action="append", type=_key_value, metavar="ID=VALUE",
                     help="value (linear) of a parameter of the parameter table, estimated or fixed (repeatable)")
    llh.add_argument("--json", action="store_true", help="print one JSON object")
    llh.add_argument("--rtol", type=_positive(float), default=1e-8, help="CVODE relative tolerance (default 1e-8)")
    llh.add_argument("--atol", type=_positive(float), default=1e-12,
                     help="CVODE absolute tolerance (default 1e-12)")
    llh.set_defaults(handler=run_llh)
    exp = sub.add_parser("export", help="write a model fitted to a dataset as a PEtab v1 problem",
                         description="Write MODEL with the event table --data (the options of 'qsp fit MODEL --data')"
                                     " as a PEtab v1 problem in --out: each subject a condition, its doses SBML "
                                     "events. Checked with petab.lint; prints the YAML file's path.")
    exp.add_argument("model", metavar="MODEL", help="a model (shipped name or .xml/.ant file)")
    exp.add_argument("--from", dest="from_dir", metavar="DIR",
                     help="a 'qsp fit' output directory: its estimates become the nominal values")
    exp.add_argument("--censored", choices=["refuse", "drop"], default="refuse",
                     help="BLQ rows (PEtab v1 has no censoring): refuse (default) or drop them with a warning")
    exp.add_argument("--out", required=True, metavar="DIR", help="directory for the problem (created if needed)")
    add_dataset_options(exp, title="the dataset (the options of 'qsp fit MODEL --data')", data_required=True)
    exp.set_defaults(handler=run_export)
    allow_negative_values(exp)


def _number(v: float):
    return v if math.isfinite(v) else None


def run_llh(args) -> int:
    from ..cli import _pairs
    from .petab_problem import PetabObjective

    values = _pairs(args.param, "--param")
    obj = PetabObjective.from_yaml(args.problem, rtol=args.rtol, atol=args.atol)
    if values:
        obj = obj.with_nominal(values)
    stats = obj.statistics()
    llh, chi2 = stats["llh"], stats["chi2"]
    if args.json:
        out = {"llh": _number(llh), "chi2": _number(chi2), "n_measurements": stats["n_measurements"]}
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        sys.stdout.write(f"{obj.name}: llh {llh:.10g}, chi2 {chi2:.10g}, {obj.n_measurements} measurements\n")
    return 0


def run_export(args) -> int:
    """Handle ``qsp petab export``; returns the exit status."""
    from .dataset_cli_options import dataset_objective
    from .uncertainty_cli import read_estimates

    obj = dataset_objective(args, args.model)
    x = read_estimates(args.from_dir, obj.space) if args.from_dir else None
    path = obj.to_petab(args.out, x, censored=args.censored)
    sys.stdout.write(path + "\n")
    print(f"{len(obj.plans)} subjects (conditions), {len(obj.measurements)} observations, {len(obj.space)} "
          f"estimated parameters -> {path}", file=sys.stderr)
    return 0
