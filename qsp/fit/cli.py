"""``qsp fit PROBLEM.yaml`` (a PEtab problem) or ``qsp fit MODEL --data DATA`` (a pharmacometric dataset).

Runs a multi-start fit and writes into ``--out``: ``summary.json``, ``starts.csv``, ``estimates.csv``,
``waterfall.png``, ``parameters.png``, and ``fit.png`` with ``residuals.png`` when the objective
simulates its measurements. The estimates are printed on standard output, one line of totals on
standard error.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

from ..errors import QSPError, QSPWarning
from .optimizers import METHODS

__all__ = ["register", "run_cli"]


def register(subparsers) -> None:
    """Add the ``fit`` subcommand."""
    from ..cli import _positive, allow_negative_values
    from .dataset_cli_options import add_dataset_options

    f = subparsers.add_parser(
        "fit", help="estimate parameters: multi-start fit of a PEtab problem or of a model to a dataset",
        description="Multi-start fit of PROBLEM (a PEtab YAML file), or of MODEL to the observations of an "
                    "event table (--data). Starts are drawn within the bounds and run in parallel with "
                    "--backend; results go to --out.")
    f.add_argument("problem", metavar="PROBLEM.yaml|MODEL",
                   help="a PEtab problem (YAML), or with --data a model (shipped name or .xml/.ant file)")
    f.add_argument("--starts", type=_positive(int), default=20, help="number of starts (default 20)")
    f.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    f.add_argument("--method", choices=METHODS, default="lbfgsb",
                   help="optimiser: lbfgsb (default), least_squares, nelder-mead, fides or differential_evolution")
    f.add_argument("--max-evals", type=_positive(int), metavar="N", help="objective evaluations per start")
    f.add_argument("--redraws", type=_whole_number, default=10, metavar="N",
                   help="draw a start again, up to N times, where the model cannot be simulated (default 10)")
    f.add_argument("--rtol", type=_positive(float), metavar="R",
                   help="CVODE's relative tolerance (default 1e-8); atol is R * 1e-4 and a PEtab problem's "
                        "steady-state tolerance R * 1e-2. Forward differences need R <= 1e-10 on stiff or "
                        "pre-equilibrated problems")
    f.add_argument("--start-at-nominal", action="store_true",
                   help="also start from the nominal parameter values (start 0), besides the --starts drawn")
    f.add_argument("--backend", choices=["serial", "processes", "dask"], default="serial",
                   help="how starts are run (default serial)")
    f.add_argument("--workers", type=_positive(int), help="number of local workers (processes or dask)")
    f.add_argument("--out", required=True, metavar="DIR", help="directory for the results (created if needed)")
    d = add_dataset_options(f)
    d.add_argument("--per-subject", action="store_true",
                   help="fit each subject separately: one estimates row per subject")
    f.set_defaults(handler=run_cli)
    allow_negative_values(f)


def _whole_number(text: str) -> int:
    """A whole number >= 0 on the command line."""
    import argparse

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return v


def _backend(args):
    from ..cli import backend_of

    return backend_of(args)


def _petab_objective(args):
    from .dataset_cli_options import refuse_dataset_flags

    refuse_dataset_flags(args)
    if args.per_subject:
        raise QSPError("--per-subject applies to a model fitted to a dataset (with --data)")
    if not str(args.problem).lower().endswith((".yaml", ".yml")):
        raise QSPError(f"{args.problem!r} is not a PEtab problem (.yaml); to fit a model to a dataset, give --data")
    try:
        from .petab_problem import PetabObjective
    except ModuleNotFoundError as exc:
        if exc.name != "qsp.fit.petab_problem":
            raise
        raise QSPError("PEtab problems cannot be fitted: this installation of qsp lacks qsp.fit.petab_problem") \
            from None
    with warnings.catch_warnings():  # deprecations inside the PEtab library are not the user's to act on
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        tolerances = {} if args.rtol is None else {"rtol": args.rtol, "atol": args.rtol * 1e-4,
                                                   "ss_tolerance": args.rtol * 1e-2}
        return PetabObjective.from_yaml(args.problem, **tolerances)


def _dataset_objective(args):
    from .dataset_cli_options import dataset_objective

    return dataset_objective(args, args.problem, per_subject=args.per_subject)


def run_cli(args) -> int:
    """Handle ``qsp fit``; returns the exit status."""
    import matplotlib

    from .multistart import FitError, fit

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise QSPError(f"--out {args.out!r} is a file; give a directory")
    if args.data is None and args.per_subject:
        raise QSPError("--per-subject applies to a model fitted to a dataset (with --data)")
    backend = _backend(args)
    options = dict(starts=args.starts, seed=args.seed, method=args.method, backend=backend,
                   max_evals=args.max_evals, x0="nominal" if args.start_at_nominal else None,
                   redraws=args.redraws)
    matplotlib.use("Agg")
    try:
        objective = _dataset_objective(args) if args.data is not None else _petab_objective(args)
        if isinstance(objective, dict):
            results = {}
            with warnings.catch_warnings():  # one line for all subjects below, not one per subject
                warnings.simplefilter("ignore", QSPWarning)
                for subject, obj in objective.items():
                    try:
                        results[subject] = fit(obj, **options)
                    except FitError as exc:  # that subject's row says why
                        results[subject] = exc.result
            failed = [s for s, r in results.items() if r.n_failed]
            if failed:
                warnings.warn(f"{len(failed)} of {len(results)} subjects have failed starts; see the message "
                              "column of starts.csv", QSPWarning, stacklevel=1)
            summary = _write_subjects(results, out, args.method)
        else:
            summary = _write(fit(objective, **options), out)
    finally:
        if not isinstance(backend, str):
            backend.close()
    print(f"{summary['n_starts']} starts ({args.method}), {summary['n_failed']} failed, {summary['n_at_best']} at "
          f"the best, best llh {summary['best_llh']:.6g}, {summary['wall_s']:.3g} s -> {out}", file=sys.stderr)
    return 0


def _write_json(data: dict, path: Path) -> None:
    from ..atomic import atomic_write

    with atomic_write(path) as fh:
        fh.write(json.dumps(data, indent=1))


def _write(res, out: Path) -> dict:
    from ..datasets.cli import save_figure

    res.to_csv(out)
    summary = res.summary()
    _write_json(summary, out / "summary.json")
    save_figure(res.plot_waterfall().figure, str(out / "waterfall.png"))
    save_figure(res.plot_parameters().figure, str(out / "parameters.png"))
    if res.can_simulate:
        save_figure(res.plot_fit(), str(out / "fit.png"))
        save_figure(res.plot_residuals(), str(out / "residuals.png"))
    _print_estimates(res.estimates)
    return summary


def _write_subjects(results: dict, out: Path, method: str) -> dict:
    """One fit per subject: starts and estimates tables with a subject column, plots of all subjects."""
    from .subjects import write_subjects

    return write_subjects(results, out, method, _print_estimates)


def _print_estimates(table) -> None:
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.max_rows", 500):
        sys.stdout.write(table.to_string(index=False, float_format=lambda x: f"{x:.6g}") + "\n")
