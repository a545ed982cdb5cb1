"""``qsp nlme MODEL DATA --spec SPEC.toml --out DIR``: a population fit by SAEM, with its diagnostics.

Writes into ``--out``: ``estimates.csv`` (parameter, estimate, se, rse_pct, kind), ``summary.json``,
``ebes.csv``, ``trace.csv``, ``gof.csv``, ``convergence.png``, ``gof.png``, ``etas.png``,
``individual.png`` and, unless ``--vpc 0``, ``vpc.csv``, ``vpc.png`` and ``pcvpc.png``; with ``--vpop N``,
``vpop.csv``: N virtual subjects drawn from the fitted population (for ``qsp ensemble --samples`` or
``qsp vpop simulate --vps``), and with ``--uncertainty DRAWS`` ``vpop_uncertainty.csv`` (typical values
drawn from their linearised sampling distribution, once per group). The estimates
are printed on standard output, one line of totals on standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import QSPError

__all__ = ["register", "run_cli"]


def _iterations(text: str) -> tuple[int, int]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 2 or min(values) < 0 or sum(values) < 1:
        raise argparse.ArgumentTypeError(f"expected K1,K2 (exploratory and smoothing iterations), got {text!r}")
    return values


def register(subparsers) -> None:
    """Add the ``nlme`` subcommand."""
    from ..cli import _positive

    p = subparsers.add_parser(
        "nlme", help="population (NLME) fit by SAEM, with VPC and goodness-of-fit diagnostics",
        description="Fit the population model of SPEC (a TOML file: parameters, random effects, residual "
                    "error, covariates) to the observations of DATA (an event table) by SAEM; then "
                    "conditional modes, the log-likelihood by importance sampling, standard errors and "
                    "diagnostics. Results go to --out.")
    p.add_argument("model", metavar="MODEL", help="a shipped model name or an .xml/.ant file")
    p.add_argument("data", metavar="DATA", help="event table (CSV or Parquet)")
    p.add_argument("--spec", required=True, metavar="SPEC.toml", help="the population model (see docs/nlme.md)")
    p.add_argument("--seed", type=int, help="seed (default: the spec's, else 0)")
    p.add_argument("--iterations", type=_iterations, metavar="K1,K2",
                   help="exploratory and smoothing iterations (default: the spec's, else 200,100)")
    p.add_argument("--is-samples", type=_positive(int), metavar="M",
                   help="importance-sampling draws per subject for the log-likelihood (default 300)")
    p.add_argument("--vpc", type=int, default=100, metavar="N",
                   help="replicates of the design for the VPC (default 100; 0: no VPC)")
    p.add_argument("--vpop", type=_positive(int), metavar="N",
                   help="also write vpop.csv: N virtual subjects drawn from the fitted population")
    p.add_argument("--uncertainty", type=_positive(int), metavar="DRAWS",
                   help="with --vpop: also write vpop_uncertainty.csv, the typical values drawn from their sampling "
                        "distribution once per group (DRAWS groups)")
    p.add_argument("--backend", choices=["serial", "processes", "dask"], default="serial",
                   help="where the subjects' simulations run (default serial)")
    p.add_argument("--workers", type=_positive(int), help="number of local workers (processes or dask)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the results (created if needed)")
    p.set_defaults(handler=run_cli)


def _backend(args):
    from ..cli import backend_of

    return backend_of(args)


def run_cli(args) -> int:
    """Handle ``qsp nlme``; returns the exit status."""
    import matplotlib

    from ..atomic import atomic_write
    from ..cli import _load
    from ..datasets.cli import save_figure
    from .diagnostics import gof, vpc
    from .saem import saem
    from .spec import PopulationModel

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise QSPError(f"--out {args.out!r} is a file; give a directory")
    if args.vpc < 0 or args.vpc == 1:
        raise QSPError(f"--vpc must be 0 (no VPC) or at least 2 replicates; got {args.vpc}")
    if args.seed is not None and args.seed < 0:
        raise QSPError(f"--seed must be >= 0; got {args.seed}")
    if args.uncertainty and not args.vpop:
        raise QSPError("--uncertainty applies to --vpop N")
    if args.uncertainty and args.uncertainty > args.vpop:
        raise QSPError(f"--uncertainty {args.uncertainty}: at most --vpop ({args.vpop}) groups")
    matplotlib.use("Agg")
    pop = PopulationModel.from_toml(args.spec)
    model = _load(args.model)
    backend = _backend(args)
    try:
        fit = saem(model, args.data, pop, seed=args.seed, iterations=args.iterations, is_samples=args.is_samples,
                   backend=backend)
        check = vpc(fit, args.vpc, seed=fit.settings.seed, backend=backend) if args.vpc else None
    finally:
        if not isinstance(backend, str):
            backend.close()
    out.mkdir(parents=True, exist_ok=True)
    fit.to_csv(out)
    summary = fit.summary()
    with atomic_write(out / "summary.json") as fh:
        fh.write(json.dumps(summary, indent=1))
    diag = gof(fit, check)
    diag.to_csv(out / "gof.csv")
    save_figure(fit.plot_convergence(), str(out / "convergence.png"))
    save_figure(diag.plot(), str(out / "gof.png"))
    save_figure(fit.plot_etas(), str(out / "etas.png"))
    save_figure(fit.plot_individual(), str(out / "individual.png"))
    if check is not None:
        check.to_csv(out / "vpc.csv")
        save_figure(check.plot().figure, str(out / "vpc.png"))
        corrected = vpc(fit, prediction_corrected=True, replicates=check.simulated)
        save_figure(corrected.plot().figure, str(out / "pcvpc.png"))
    if args.vpop:
        from .vpop import virtual_population

        vp = virtual_population(fit, args.vpop, seed=fit.settings.seed)
        with atomic_write(out / "vpop.csv") as fh:
            vp.to_csv(fh, index=False)
        if args.uncertainty:
            vu = virtual_population(fit, args.vpop, seed=fit.settings.seed, uncertainty=True, draws=args.uncertainty)
            with atomic_write(out / "vpop_uncertainty.csv") as fh:
                vu.to_csv(fh, index=False)
    _print(fit.estimates)
    print(f"{fit.n_subjects} subjects, {fit.n_observations} observations, llh {fit.llh:.6g}, "
          f"{fit.n_simulations} simulations, {fit.wall_s:.3g} s -> {out}", file=sys.stderr)
    return 0


def _print(table) -> None:
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_rows", 200):
        sys.stdout.write(table.to_string(index=False, float_format=lambda v: f"{v:.6g}") + "\n")
