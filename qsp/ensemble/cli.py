"""``qsp ensemble``: a table of parameter sets x regimens, one row of metrics per simulation."""

from __future__ import annotations

import sys

from ..errors import QSPError


def register(subparsers) -> None:
    """Add the ``ensemble`` subcommand."""
    from ..cli import _dose, _positive

    e = subparsers.add_parser("ensemble", help="simulate many parameter sets x regimens and summarise each run",
                       description="Run a table of parameter sets (rows) under one or more regimens and write "
                                   "one row of metrics per simulation (failures recorded, resumable).")
    e.add_argument("model", metavar="MODEL")
    src = e.add_mutually_exclusive_group()
    src.add_argument("--samples", metavar="FILE", help="CSV or Parquet table of parameter sets (columns = ids)")
    src.add_argument("--spec", metavar="FILE.toml", help="sampling spec: n, seed, method, [parameters.ID]")
    e.add_argument("--n", type=_positive(int), help="number of samples (overrides the spec)")
    e.add_argument("--dose", action="append", type=_dose, metavar="SPEC", help="a dose of the regimen (as in simulate)")
    e.add_argument("--regimen", action="append", metavar="NAME", help="regimen(s) from the model metadata")
    e.add_argument("--metric", action="append", required=True, metavar="FN:OUTPUT[:VALUE]",
                   help="e.g. cmax:[Cp], auc:[Cp], value_at:TV:28, time_above:IL6:100 (repeatable)")
    e.add_argument("--t-end", type=_positive(float))
    e.add_argument("--points", type=_positive(int))
    e.add_argument("--body-weight", type=_positive(float), metavar="KG")
    e.add_argument("--backend", choices=["serial", "processes", "dask"], default="processes")
    e.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (with --backend dask)")
    e.add_argument("--workers", type=_positive(int), help="number of local workers (default: all cores)")
    e.add_argument("--chunk-size", type=_positive(int), default=256)
    e.add_argument("--max-steps", type=_positive(int), help="CVODE step limit; a run needing more fails")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", required=True, metavar="DIR.parquet",
                   help="Parquet directory; rerun with the same path to resume")
    e.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    e.add_argument("--quiet", action="store_true", help="no progress bar")

    e.set_defaults(handler=run_cli)


def run_cli(args) -> int:
    """Handle ``qsp ensemble``; returns the exit status."""
    from .. import ensemble
    from ..cli import _load
    from ..tables import read_table

    model = _load(args.model)
    if args.samples:
        samples = read_table(args.samples, what="samples file")
    else:
        spec = ensemble.sampling.read_spec(args.spec) if args.spec else {}
        if args.n:
            spec["n"] = args.n
        spec.setdefault("seed", args.seed)
        samples = ensemble.sampling.samples_from_spec(spec, model.metadata.get("parameter_ranges"))
    regimens = {}
    for name in args.regimen or []:
        regimens[name] = name
    if args.dose:
        regimens["cli"] = list(args.dose)
    if args.scheduler and args.backend != "dask":
        raise QSPError("--scheduler needs --backend dask")
    if args.backend == "dask":
        backend = ensemble.DaskBackend(address=args.scheduler, n_workers=args.workers)
    elif args.backend == "processes":
        backend = ensemble.ProcessBackend(args.workers)
    else:
        backend = "serial"
    res = ensemble.run(model, samples, regimens=regimens or None, metrics=args.metric, t_end=args.t_end,
                       points=args.points, body_weight=args.body_weight, backend=backend,
                       chunk_size=args.chunk_size, max_steps=args.max_steps, seed=args.seed, out=args.out,
                       progress=False if args.quiet else None)
    if isinstance(backend, ensemble.DaskBackend):
        backend.close()
    if args.csv:
        res.to_csv(args.csv)
    print(f"{len(res)} simulations, {res.n_failed} failed, {res.wall_seconds:.1f} s -> {args.out}",
          file=sys.stderr)
    return 0
