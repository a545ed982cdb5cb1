"""``qsp profile`` and ``qsp sample``: uncertainty of a fitted PEtab problem (``PROBLEM.yaml``) or of a
model fitted to a dataset (``MODEL --data DATA`` with the dataset options of ``qsp fit``).

Both start from an estimate: ``--from DIR`` reads ``DIR/estimates.csv`` as ``qsp fit`` writes it (the
``estimate`` column, on the parameter scale), and ``--x ID=VALUE`` sets (or overrides) a parameter's
value, linear as in the model. ``qsp profile`` writes ``profiles.csv``, ``intervals.csv`` and
``profiles.png`` into ``--out`` and prints the intervals; ``qsp sample`` writes ``samples.parquet``,
``summary.csv`` and ``trace.png`` and prints the summary. One line of totals goes to standard error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import QSPError

__all__ = ["register", "run_profile", "run_sample", "read_estimates"]

#: Columns printed by ``qsp profile`` (the file has them all).
PROFILE_PRINTED = ("parameter", "scale", "estimate", "lower", "upper", "lower_linear", "upper_linear",
                   "identifiability")
#: Columns printed by ``qsp sample``.
SAMPLE_PRINTED = ("parameter", "scale", "mean", "sd", "q2.5", "q50", "q97.5", "rhat", "ess_bulk")


def _common(p, what: str) -> None:
    from ..cli import _key_value, _positive

    from .dataset_cli_options import add_dataset_options

    p.add_argument("problem", metavar="PROBLEM.yaml|MODEL",
                   help="a PEtab problem (YAML), or with --data a model (shipped name or .xml/.ant file)")
    p.add_argument("--from", dest="from_dir", metavar="DIR",
                   help="a 'qsp fit' output directory: start from the estimates in DIR/estimates.csv")
    p.add_argument("--x", action="append", type=_key_value, metavar="ID=VALUE",
                   help="the (linear) value of an estimated parameter at the start; overrides --from "
                        "(repeatable; without --from the others start at their nominal values)")
    p.add_argument("--backend", choices=["serial", "processes", "dask"], default="serial",
                   help=f"how the {what} are run (default serial)")
    p.add_argument("--workers", type=_positive(int), metavar="N",
                   help="number of local workers (processes or dask)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the results (created if needed)")
    add_dataset_options(p, title="a model fitted to a dataset (with --data; the options of 'qsp fit')")


def register(subparsers) -> None:
    """Add the ``profile`` and ``sample`` subcommands."""
    from ..cli import _positive, allow_negative_values

    p = subparsers.add_parser(
        "profile", help="profile likelihoods and confidence intervals of a fitted PEtab problem or dataset fit",
        description="Profile likelihood of each estimated parameter of PROBLEM (or of MODEL fitted to --data) "
                    "from an estimate (--from a "
                    "'qsp fit' directory, or --x): stepped towards each bound, the others re-optimised, until "
                    "the likelihood ratio passes the chi-square threshold. One task per parameter.")
    _common(p, "profiles (one task per parameter)")
    p.add_argument("--parameter", action="append", metavar="ID", help="profile this parameter (repeatable; "
                                                                     "default: all estimated parameters)")
    p.add_argument("--confidence", type=_positive(float), default=0.95, metavar="LEVEL",
                   help="interval level (default 0.95)")
    p.add_argument("--max-steps", type=_positive(int), default=60, metavar="N", help="steps per side (default 60)")
    p.set_defaults(handler=run_profile)
    allow_negative_values(p)
    s = subparsers.add_parser(
        "sample", help="posterior sampling (adaptive Metropolis) of a fitted PEtab problem or dataset fit",
        description="Adaptive Metropolis chains on the parameter scale within the bounds (of PROBLEM, or of "
                    "MODEL fitted to --data), started from an "
                    "estimate (--from a 'qsp fit' directory, or --x). One task per chain. Without priors in "
                    "the problem the prior is uniform within the bounds.")
    _common(s, "chains (one task per chain)")
    s.add_argument("--samples", type=_positive(int), default=2000, metavar="N",
                   help="iterations per chain, burn-in included (default 2000)")
    s.add_argument("--chains", type=_positive(int), default=4, metavar="K", help="chains (default 4)")
    s.add_argument("--seed", type=int, default=0, metavar="S", help="seed (default 0)")
    s.add_argument("--burn-in", type=int, metavar="N", help="iterations per chain left out of the summary "
                                                            "(default half)")
    s.set_defaults(handler=run_sample)
    allow_negative_values(s)


def _backend(args):
    from ..cli import backend_of

    return backend_of(args)


def _objective(args):
    from .dataset_cli_options import dataset_objective, refuse_dataset_flags

    if args.data is None:
        refuse_dataset_flags(args)
        if not str(args.problem).lower().endswith((".yaml", ".yml")):
            raise QSPError(f"{args.problem!r} is not a PEtab problem (.yaml); for a model fitted to a dataset, give "
                           "--data")
    if not args.from_dir and not args.x:
        raise QSPError("give the estimate to start from: --from DIR (a 'qsp fit' output directory) or --x ID=VALUE")
    if args.data is not None:
        return dataset_objective(args, args.problem)
    try:
        from .petab_problem import PetabObjective
    except ModuleNotFoundError as exc:
        if exc.name != "qsp.fit.petab_problem":
            raise
        raise QSPError("PEtab problems cannot be read: this installation of qsp lacks qsp.fit.petab_problem") \
            from None
    return PetabObjective.from_yaml(args.problem)


def read_estimates(directory, space) -> np.ndarray:
    """The ``estimate`` column (parameter scale) of ``DIRECTORY/estimates.csv``, in the order of ``space``."""
    from ..tables import read_table

    path = Path(directory) / "estimates.csv"
    if not Path(directory).is_dir():
        raise QSPError(f"--from {directory}: not a directory")
    if not path.is_file():
        raise QSPError(f"--from {directory}: no estimates.csv there (write one with 'qsp fit ... --out {directory}')")
    table = read_table(path, what="estimates table")
    if "subject" in table.columns:
        raise QSPError(f"{path} holds one estimate per subject; profile or sample a single fit")
    missing = [c for c in ("parameter", "estimate") if c not in table.columns]
    if missing:
        raise QSPError(f"{path}: no column {missing[0]!r} (an estimates table of 'qsp fit' has parameter and "
                       "estimate)")
    values = dict(zip(table["parameter"].astype(str), pd.to_numeric(table["estimate"], errors="coerce")))
    absent = [p for p in space.ids if p not in values]
    if absent:
        raise QSPError(f"{path} has no estimate of {absent[0]!r}: it is not a fit of this problem")
    extra = [p for p in values if p not in space.ids]
    if extra:
        raise QSPError(f"{path} estimates {extra[0]!r}, which this problem does not estimate: it is not a fit of "
                       "this problem")
    x = np.array([values[p] for p in space.ids], dtype=float)
    if not np.isfinite(x).all():
        bad = space.ids[int(np.flatnonzero(~np.isfinite(x))[0])]
        raise QSPError(f"{path}: the estimate of {bad!r} is not a number (did that fit fail?)")
    return x


def _start(args, objective) -> np.ndarray:
    from ..cli import _pairs
    from .objective import to_linear, to_scale

    space = objective.space
    x = read_estimates(args.from_dir, space) if args.from_dir else space.nominal.copy()
    for pid, value in _pairs(args.x, "--x").items():
        if pid not in space.ids:
            from .._ids import unknown_id

            raise QSPError(str(unknown_id("estimated parameter", pid, space.ids, where=" (--x)")))
        i = space.ids.index(pid)
        if space.scales[i] != "lin" and value <= 0:
            raise QSPError(f"--x {pid}={value:g}: a parameter on the {space.scales[i]} scale must be > 0")
        x[i] = float(to_scale(np.array([value]), [space.scales[i]])[0])
    for i, pid in enumerate(space.ids):
        if not space.lower[i] <= x[i] <= space.upper[i]:
            lo, hi = to_linear(np.array([space.lower[i], space.upper[i]]), [space.scales[i]] * 2)
            shown = float(to_linear(np.array([x[i]]), [space.scales[i]])[0])
            raise QSPError(f"the start value of {pid!r}, {shown:g}, is not within its bounds [{lo:g}, {hi:g}]")
    return x


def _printed(table: pd.DataFrame, columns) -> str:
    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.max_rows", 500):
        return table[list(columns)].to_string(index=False, float_format=lambda v: f"{v:.6g}")


def _figure(fig, path: Path) -> None:
    from ..datasets.cli import save_figure

    save_figure(fig, str(path))


def run_profile(args) -> int:
    """Handle ``qsp profile``; returns the exit status."""
    import matplotlib

    from .profile import profile

    objective = _objective(args)
    x = _start(args, objective)
    if not 0 < args.confidence < 1:
        raise QSPError(f"--confidence must be between 0 and 1, got {args.confidence:g}")
    res = profile(objective, x, parameters=args.parameter, backend=_backend(args), max_steps=args.max_steps,
                  confidence=args.confidence)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res.to_csv(out / "profiles.csv")
    res.to_csv(out / "intervals.csv", what="intervals")
    matplotlib.use("Agg")
    _figure(res.plot(), out / "profiles.png")
    sys.stdout.write(_printed(res.intervals, PROFILE_PRINTED) + "\n")
    flags = res.intervals["identifiability"].value_counts()
    better = "; a better optimum than the start was found (see intervals.csv)" if res.improved else ""
    print(f"{len(res.intervals)} profiles, {len(res.table)} points, {flags.get('identifiable', 0)} identifiable"
          f"{better} -> {out}", file=sys.stderr)
    return 0


def run_sample(args) -> int:
    """Handle ``qsp sample``; returns the exit status."""
    import matplotlib

    from .sample import sample

    if args.seed < 0:
        raise QSPError(f"--seed must be >= 0, got {args.seed}")
    if args.samples < 4:
        raise QSPError(f"--samples must be at least 4, got {args.samples}")
    if args.burn_in is not None and not 0 <= args.burn_in <= args.samples - 4:
        raise QSPError(f"--burn-in must be from 0 to --samples - 4 ({args.samples - 4}), got {args.burn_in}")
    objective = _objective(args)
    x = _start(args, objective)
    res = sample(objective, x, n_samples=args.samples, chains=args.chains, seed=args.seed, burn_in=args.burn_in,
                 backend=_backend(args))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res.to_parquet(out / "samples.parquet")
    res.to_csv(out / "summary.csv", what="summary")
    matplotlib.use("Agg")
    _figure(res.plot_trace(), out / "trace.png")
    sys.stdout.write(_printed(res.summary, SAMPLE_PRINTED) + "\n")
    print(f"{args.chains} chains x {args.samples} iterations (burn-in {res.burn_in}), acceptance "
          f"{res.acceptance.mean():.2f}, max R-hat {res.summary['rhat'].max():.3f} -> {out}", file=sys.stderr)
    return 0
