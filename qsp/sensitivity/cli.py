"""``qsp gsa``: global (or local) sensitivity of model metrics from the command line.

Writes exactly what :meth:`SensitivityResult.to_json` gives (``.json``) or the long indices table
(``.csv``), and optionally a plot. ``--store DIR`` (or ``--resume``) keeps the simulations in the
ensemble's Parquet store, so a rerun after an interruption reuses the simulations already done.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import QSPError

#: Python argument -> command-line option, for messages raised by the library (None: no such option).
CLI_NAMES = {"metrics": "--metric", "timecourse": "--timecourse", "n": "--n", "points": "--points",
             "on_failure": "--on-failure", "rel_step": "--rel-step", "max_steps": None, "at": None,
             "second_order": "--second-order", "out": "--store"}


def register(subparsers) -> None:
    """Add the ``gsa`` subcommand."""
    from ..cli import _dose, _positive
    from ..covariates.cli import add_covariate_options

    g = subparsers.add_parser("gsa", help="sensitivity analysis (Sobol, Morris, eFAST, delta, PAWN, local)",
                              description="Sensitivity of model metrics to parameters: sample, simulate through "
                                          "the ensemble, analyse with SALib (or central finite differences "
                                          "for --method local).")
    g.add_argument("model", metavar="MODEL", help="shipped model name or .xml/.ant file")
    g.add_argument("--method", choices=["sobol", "morris", "efast", "delta", "pawn", "local"], default="sobol")
    g.add_argument("--spec", metavar="FILE.toml", help="[parameters.ID] low/high/distribution (default: the "
                                                      "model's metadata parameter_ranges)")
    g.add_argument("--param", action="append", metavar="ID", help="vary only these ids (repeatable; ranges from "
                                                                 "the spec or the metadata)")
    g.add_argument("--metric", action="append", metavar="FN:OUTPUT[:VALUE]",
                   help="e.g. value_at:TV_tot:28, auc:[Cp], final:Y (repeatable)")
    g.add_argument("--timecourse", metavar="OUTPUT", help="indices at every time point of OUTPUT instead of metrics")
    g.add_argument("--n", type=_positive(int), help="sample size (Sobol base points, power of 2, default 1024; "
                                                     "Morris trajectories, default 100; eFAST points per parameter, "
                                                     "default 1000; delta/PAWN samples, default 2000)")
    g.add_argument("--second-order", action="store_true", help="Sobol: also S2")
    g.add_argument("--rel-step", type=_positive(float), default=1e-4, help="local: relative step h (default 1e-4)")
    reg = g.add_mutually_exclusive_group()
    reg.add_argument("--regimen", metavar="NAME", help="a regimen from the model metadata")
    reg.add_argument("--dose", action="append", type=_dose, metavar="SPEC",
                     help="target=ID,amount=A[,unit=mg][,time=T][,every=T][,count=N][,duration=T]")
    g.add_argument("--body-weight", type=_positive(float), metavar="KG",
                   help="body weight for per-kg doses (or vary it: a body_weight factor in --spec)")
    add_covariate_options(g, table="design (factors named after the covariates, in --spec)")
    g.add_argument("--t-end", type=_positive(float))
    g.add_argument("--points", type=_positive(int))
    g.add_argument("--equilibrate", type=_positive(float), metavar="DURATION",
                   help="pre-run each parameter set undosed for this long before dosing")
    g.add_argument("--on-failure", choices=["raise", "impute_mean", "impute_median"], default="raise")
    g.add_argument("--backend", choices=["serial", "processes", "dask"], default="processes")
    g.add_argument("--workers", type=_positive(int), help="local workers (default: all cores)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", required=True, metavar="FILE.csv|FILE.json")
    g.add_argument("--plot", metavar="FILE.png", help="also write the method's plot")
    store = g.add_mutually_exclusive_group()
    store.add_argument("--store", metavar="DIR", help="keep the simulations in this Parquet directory; a rerun with "
                                                     "the same --store and inputs reuses those already there")
    store.add_argument("--resume", action="store_true", help="the same with DIR = OUT without its suffix + "
                                                             "'.simulations' (e.g. sobol.simulations for sobol.json)")
    g.add_argument("--quiet", action="store_true", help="no progress bar (shown on a terminal otherwise)")
    g.set_defaults(handler=run_cli)


def store_path(args) -> str | None:
    """The simulation store of ``--store`` / ``--resume`` (None: results kept in memory only)."""
    if args.store:
        return args.store
    if args.resume:
        return str(Path(args.out).with_suffix(".simulations"))
    return None


_DEFAULT_N = {"sobol": 1024, "morris": 100, "efast": 1000, "delta": 2000, "pawn": 2000}


def run_cli(args) -> int:
    from .. import ensemble
    from ..model import load_model
    from ..option_names import cli_options
    from .gsa import gsa
    from .local import local
    from .problem import Problem

    if not args.out.endswith((".csv", ".json")):
        raise QSPError(f"--out must end in .csv or .json. Got {args.out!r}.")
    if not args.metric and not args.timecourse:
        raise QSPError("give --metric FN:OUTPUT[:VALUE] (repeatable) or --timecourse OUTPUT")
    model = load_model(args.model)
    problem = Problem.from_spec(args.spec, model) if args.spec else Problem.from_model(model)
    if args.param:
        unknown = [p for p in args.param if p not in problem.ranges]
        if unknown:
            raise QSPError(f"--param {unknown[0]!r} has no range; known: {', '.join(problem.names)}")
        twice = sorted({p for p in args.param if args.param.count(p) > 1})
        if twice:
            raise QSPError(f"--param {twice[0]!r} is given twice")
        problem = Problem({p: problem.ranges[p] for p in args.param})
    regimen = args.regimen or (list(args.dose) if args.dose else None)
    if args.backend == "dask":
        backend = ensemble.DaskBackend(n_workers=args.workers)
    elif args.backend == "processes":
        backend = ensemble.ProcessBackend(args.workers)
    else:
        backend = "serial"
    store = store_path(args)
    from ..covariates.cli import covariate_model

    cov = covariate_model(args)
    if cov is not None and args.method == "local":
        raise QSPError("--covariate and --covariate-model apply to the global methods, not --method local")
    common = dict(metrics=args.metric or (), timecourse=args.timecourse, regimen=regimen, t_end=args.t_end,
                  points=args.points, backend=backend, seed=args.seed, equilibrate=args.equilibrate,
                  progress=False if args.quiet else None, out=store, body_weight=args.body_weight)
    try:
        with cli_options(CLI_NAMES):
            res = _run(args, model, problem, common, gsa, local, cov)
    finally:
        if isinstance(backend, ensemble.DaskBackend):
            backend.close()
    _write(args, res)
    reused = f" ({res.n_reused} reused from {store})" if store else ""
    print(f"{args.method}: {res.n_simulations} simulations{reused}, {res.n_failed} failed, "
          f"{res.wall_seconds:.1f} s -> {args.out}", file=sys.stderr)
    return 0


def _run(args, model, problem, common, gsa, local, cov=None):
    if args.method == "local":
        return local(model, problem.names, rel_step=args.rel_step, **common)
    return gsa(model, args.method, parameters=problem, n=args.n or _DEFAULT_N[args.method],
               on_failure=args.on_failure, second_order=args.second_order, covariate_model=cov, **common)


def _write(args, res) -> None:
    if args.out.endswith(".json"):
        res.to_json(args.out)
    else:
        res.to_csv(args.out)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import numpy as np

        axes = res.plot()  # one Axes, or one per output
        np.ravel(axes)[0].figure.savefig(args.plot, dpi=120, bbox_inches="tight")
