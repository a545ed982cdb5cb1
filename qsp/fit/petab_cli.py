"""``qsp petab llh PROBLEM.yaml``: the log-likelihood of a PEtab v1 problem at its nominal parameters.

``--param ID=VALUE`` (repeatable) sets a parameter of the parameter table (estimated or fixed; a
linear value) first. Prints ``{"llh": ..., "chi2": ..., "n_measurements": ...}`` with ``--json``,
else one readable line.
"""

from __future__ import annotations

import json
import math
import sys

__all__ = ["register", "run_llh"]


def register(subparsers) -> None:
    """Add the ``petab`` subcommand (with its ``llh`` command)."""
    from ..cli import _key_value, _positive

    p = subparsers.add_parser("petab", help="PEtab v1 problems: log-likelihood, chi2",
                              description="Evaluate PEtab v1 parameter-estimation problems.")
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
