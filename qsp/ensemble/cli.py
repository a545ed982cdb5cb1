"""``qsp ensemble``: a table of parameter sets x regimens, one row of metrics per simulation.

Nothing is written on standard output: results go to ``--out`` (and ``--csv``), messages to stderr.
"""

from __future__ import annotations

import sys

from ..errors import QSPError

EXIT_INTERRUPTED = 130


def register(subparsers) -> None:
    """Add the ``ensemble`` subcommand."""
    from ..cli import _dose, _key_value, _positive
    from ..covariates.cli import add_covariate_options, body_weight_arg

    e = subparsers.add_parser("ensemble", help="simulate many parameter sets x regimens and summarise each run",
                              description="Run a table of parameter sets (rows) under one or more regimens and "
                                          "write one row of metrics per simulation (failures recorded, resumable).")
    e.add_argument("model", metavar="MODEL")
    src = e.add_mutually_exclusive_group()
    src.add_argument("--samples", metavar="FILE", help="CSV or Parquet table of parameter sets (columns = ids; "
                                                       "also body_weight and covariate columns)")
    src.add_argument("--spec", metavar="FILE.toml", help="sampling spec: n, seed, method, [parameters.ID]")
    e.add_argument("--n", type=_positive(int), help="number of samples (overrides the spec)")
    e.add_argument("--dose", action="append", type=_dose, metavar="SPEC", help="a dose of the regimen (as in simulate)")
    e.add_argument("--regimen", action="append", metavar="NAME", help="regimen(s) from the model metadata")
    e.add_argument("--metric", action="append", required=True, metavar="FN:OUTPUT[:VALUE]",
                   help="e.g. cmax:[Cp], auc:[Cp], value_at:TV:28, time_above:IL6:100 (repeatable); "
                        "the column is named as typed")
    e.add_argument("--param", action="append", type=_key_value, metavar="ID=VALUE",
                   help="fixed parameter value for every row (a samples column of the same id wins)")
    e.add_argument("--initial", action="append", type=_key_value, metavar="ID=VALUE",
                   help="fixed initial amount (S=...) or concentration ([S]=...) for every row")
    e.add_argument("--t-end", type=_positive(float))
    e.add_argument("--points", type=_positive(int))
    e.add_argument("--equilibrate", type=float, metavar="DURATION",
                   help="run each parameter set undosed for this long first (model time unit)")
    e.add_argument("--body-weight", type=body_weight_arg, metavar="KG|COLUMN",
                   help="body weight for per-kg doses: kg, or a --samples column of per-row kg (default: the "
                        "samples' body_weight column, else the model metadata's)")
    add_covariate_options(e)
    e.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (default 1e-6)")
    e.add_argument("--atol", type=float, default=1e-12, help="absolute tolerance (default 1e-12)")
    e.add_argument("--backend", choices=["serial", "processes", "dask"], default="processes")
    e.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (with --backend dask)")
    e.add_argument("--dashboard", nargs="?", const=True, default=False, metavar="ADDR",
                   help="serve the Dask dashboard of the local cluster (default address :8787)")
    e.add_argument("--workers", type=_positive(int), help="number of local workers (default: all cores)")
    e.add_argument("--chunk-size", type=_positive(int), default=256)
    e.add_argument("--max-steps", type=_positive(int), help="CVODE step limit; a run needing more fails")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", required=True, metavar="DIR.parquet",
                   help="Parquet directory; rerun with the same path to resume")
    e.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    e.add_argument("--quiet", action="store_true", help="no progress bar")

    e.set_defaults(handler=run_cli)


def _samples(args, model, cov=None):
    from .. import ensemble
    from ..covariates.cli import read_samples

    if args.samples:
        if args.n:
            raise QSPError("--n draws samples from a spec; it cannot be used with --samples")
        return read_samples(args.samples, cov)
    spec = ensemble.sampling.read_spec(args.spec) if args.spec else {}
    if args.n:
        spec["n"] = args.n
    spec.setdefault("seed", args.seed)
    return ensemble.sampling.samples_from_spec(spec, model.metadata.get("parameter_ranges"))


def _backend(args):
    from .. import ensemble

    if args.scheduler and args.backend != "dask":
        raise QSPError("--scheduler needs --backend dask")
    if args.dashboard is not False and (args.backend != "dask" or args.scheduler):
        raise QSPError("--dashboard applies to the local cluster of --backend dask (without --scheduler)")
    if args.backend == "dask":
        return ensemble.DaskBackend(address=args.scheduler, n_workers=args.workers, dashboard=args.dashboard)
    if args.backend == "processes":
        return ensemble.ProcessBackend(args.workers)
    return "serial"


def run_cli(args) -> int:
    """Handle ``qsp ensemble``; returns the exit status."""
    from .. import ensemble
    from ..cli import _load, _pairs
    from .store import stored_rows

    from ..covariates.cli import covariate_model

    model = _load(args.model)
    cov = covariate_model(args)
    samples = _samples(args, model, cov)
    regimens = {name: name for name in args.regimen or []}
    if args.dose:
        regimens["cli"] = list(args.dose)
    backend = _backend(args)
    try:
        res = ensemble.run(model, samples, regimens=regimens or None, metrics=args.metric, t_end=args.t_end,
                           points=args.points, params=_pairs(args.param, "--param"), initial=_pairs(args.initial, "--initial"),
                           body_weight=args.body_weight, rtol=args.rtol, atol=args.atol,
                           equilibrate=args.equilibrate, backend=backend, chunk_size=args.chunk_size,
                           max_steps=args.max_steps, seed=args.seed, out=args.out,
                           progress=False if args.quiet else None, covariate_model=cov)
    except KeyboardInterrupt:
        n = stored_rows(args.out)
        print(f"qsp: interrupted; {n} simulations are stored in {args.out!r}; run the same command again to "
              "resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if isinstance(backend, ensemble.DaskBackend):
            backend.close()
    if res.n_reused:
        print(f"qsp: resumed {args.out!r}: {res.n_reused} of {len(res)} simulations were already stored and "
              "reused", file=sys.stderr)
    if args.csv:
        res.to_csv(args.csv)
    print(f"{len(res)} simulations, {res.n_failed} failed, {res.wall_seconds:.1f} s -> {args.out}",
          file=sys.stderr)
    return 0
