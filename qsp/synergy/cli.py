"""``qsp synergy``: simulate a two-treatment dose grid and run MOOCS-DS on it.

The command mirrors the library: :func:`simulate_surface` (one ensemble run), then :func:`moocs`, or
:func:`moocs_population` over parameter sets (``--n-samples`` / ``--samples``); with ``--protocols`` it
simulates every schedule of the sweep in one run (:func:`simulate_protocols`) and compares their fronts
(:func:`moocs_protocols`). It writes the per-dose-pair table as CSV or JSON (``to_json``), optionally a
summary table and a figure.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import QSPError

#: Python argument -> command-line option, for messages raised by the library.
CLI_NAMES = {"response": "--metric", "d1": "--grid", "d2": "--grid", "mono_points": "--mono-points",
             "samples": "--n-samples", "tgi_min": "--tgi-min", "dose_box": "--box", "near_tol": "--near-tol",
             "weights": "--weights", "points": "--points", "grid": "--grid", "protocols": "--protocols",
             "undefined_potency": "--undefined-potency"}

#: Values that start with '-' followed by a digit or '.' (``--grid -1:1:5,...``, ``--box -1:2 0:1``) are
#: values, not options.
def _times(text: str) -> tuple:
    return tuple(float(t) for t in text.split(":"))


_SCHEDULE_FIELDS = {"time": float, "every": float, "count": int, "duration": float, "times": _times}


def _schedule(text: str) -> dict:
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise argparse.ArgumentTypeError(f"schedule field {part!r} is not KEY=VALUE (in {text!r})")
        k, v = (s.strip() for s in part.split("=", 1))
        if k not in _SCHEDULE_FIELDS:
            raise argparse.ArgumentTypeError(f"unknown schedule field {k!r}; use {', '.join(_SCHEDULE_FIELDS)}")
        if k in out:
            raise argparse.ArgumentTypeError(f"schedule field {k!r} is given twice (in {text!r})")
        try:
            out[k] = _SCHEDULE_FIELDS[k](v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"schedule field {k!r} must be a number (times: T1:T2:...), "
                                             f"got {v!r}") from None
    return out


def _pair(text: str) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW:HIGH, got {text!r}") from None
    return a, b


def register(subparsers) -> None:
    """Add the ``synergy`` subcommand."""
    from ..cli import _key_value, _positive

    p = subparsers.add_parser(
        "synergy", help="combination dose-response surface and MOOCS-DS Pareto dose selection",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Simulate MODEL on a two-treatment dose grid (one ensemble run: every grid point, dense\n"
            "single-treatment curves and the untreated control), score every dose pair with the MOOCS-DS\n"
            "combination indices (HSA, Bliss, Loewe, LSD; < 1 is synergy) and mark the exact Pareto-optimal\n"
            "dose pairs in the four (potency, efficacy) spaces.\n\n"
            "example (pembrolizumab + bevacizumab, H1299):\n"
            "  qsp synergy pembro_bev --drug A1:mg/kg --drug A2:mg/kg \\\n"
            "      --schedule time=3,every=3,count=5 --schedule time=0,every=3,count=6 \\\n"
            "      --grid 0.408:10.88:30,0.1372:3.457:30 --metric tgi:W:35 --out moocs.csv --plot moocs.png\n\n"
            "schedule sweep (protocols.toml: [grid] every1 = [1, 2, 3, 4, 5], every2 = [1, 2, 3, 4, 5]):\n"
            "  ... --grid 0.408:10.88:10,0.1372:3.457:10 --protocols protocols.toml --out across.csv \\\n"
            "      --summary protocols.csv --plot across.png\n\n"
            "parameter uncertainty (parameter sets from the model's parameter_ranges, or --samples FILE.csv):\n"
            "  ... --n-samples 16 --tgi-min 0.6 --out pop.csv --summary per_sample.csv --plot pop.png"))
    p.add_argument("model", metavar="MODEL", help="shipped model name or .xml/.ant file")
    p.add_argument("--drug", action="append", required=True, metavar="TARGET[:UNIT]",
                   help="a treatment axis, given twice (drug 1, then drug 2): a dose target species with an "
                        "optional dose unit (A1:mg/kg), or param:P1+P2+... for a parameter-driven treatment whose "
                        "level is written to those parameters (param:RT1_dose+RT2_dose for Gy per fraction)")
    p.add_argument("--schedule", action="append", type=_schedule,
                   metavar="time=T,every=T,count=N[,duration=T][,times=T1:T2:...]",
                   help="schedule of each dose level, matched to --drug by order (one given: used for both); "
                        "model time unit; times= gives several first-dose times, each repeated count times "
                        "(3 times a week: times=7:9:11,every=7,count=3); default a single dose at time 0")
    p.add_argument("--grid", required=True, metavar="A_MIN:A_MAX:N,B_MIN:B_MAX:N[:log]",
                   help="dose levels of drug 1 and drug 2 (append :log to an axis for log spacing); doses are "
                        ">= 0")
    p.add_argument("--metric", default="tgi:W:35", metavar="tgi:OUTPUT:T | FN:OUTPUT[:VALUE]",
                   help="efficacy: tgi:OUTPUT:T is tumour growth inhibition (V_ctrl - V)/V_ctrl of OUTPUT at time T "
                        "against the untreated run; any ensemble metric (value_at:E:10) is used as is and must rise "
                        "with dose (default tgi:W:35)")
    p.add_argument("--extra-metric", action="append", default=[], metavar="FN:OUTPUT[:VALUE]",
                   help="extra per-dose metric reported in the table, e.g. a toxicity auc:[C1] (repeatable)")
    p.add_argument("--param", action="append", type=_key_value, metavar="ID=VALUE",
                   help="parameter override for every run (e.g. a cell line)")
    p.add_argument("--tgi-min", type=float, metavar="E", help="constraint: only dose pairs with effect >= E compete")
    p.add_argument("--box", nargs=2, type=_pair, metavar=("LOW1:HIGH1", "LOW2:HIGH2"),
                   help="constraint: only dose pairs inside these dose boxes compete")
    p.add_argument("--near-tol", type=float, default=0.02,
                   help="near-Pareto tolerance, fraction of each space's scale (default 0.02)")
    p.add_argument("--weights", type=_pair, default=(1.0, 1.0), metavar="W1:W2",
                   help="weights of the EC50-normalised doses in the LSD index (default 1:1)")
    p.add_argument("--undefined-potency", choices=["exclude", "zero"], default="exclude",
                   help="dose pairs whose effect one treatment alone cannot reach have undefined potency indices: "
                        "exclude them from the fronts (default), or let them compete with the limit values (zero: "
                        "that treatment's Loewe term 0, left out of the LSD minimum)")
    p.add_argument("--protocols", metavar="FILE.toml|FILE.csv",
                   help="schedule sweep: protocols that change the --schedule fields ([[protocol]] entries with "
                        "name, drug1 = {every = 1}, drug2 = {...}, and/or a [grid] such as every1 = [1, 2, 3]; or a "
                        "table with name and every1, time1, count1, duration1, times1, every2, ... columns); every "
                        "surface is simulated in one run and the table gets a protocol column and the union fronts")
    samples = p.add_mutually_exclusive_group()
    samples.add_argument("--n-samples", type=_positive(int), metavar="N",
                         help="parameter uncertainty: sample N parameter sets from the model's parameter_ranges and "
                              "report per dose pair how often it is on a front, optimal in all spaces, and meets "
                              "--tgi-min")
    samples.add_argument("--samples", metavar="FILE.csv",
                         help="like --n-samples, with the parameter sets of this table (CSV or Parquet; one column "
                              "per parameter id)")
    p.add_argument("--mono-points", type=_positive(int), default=200,
                   help="dense single-treatment levels for EC50s and inverse doses (default 200)")
    from ..covariates.cli import add_covariate_options, body_weight_arg

    p.add_argument("--body-weight", type=body_weight_arg, metavar="KG|COLUMN",
                   help="body weight for per-kg doses: kg, or a --samples column of per-row kg (default: the "
                        "body_weight column of --samples, else the model metadata's)")
    add_covariate_options(p, table="--samples")
    p.add_argument("--t-end", type=_positive(float), help="end time (default from the model)")
    p.add_argument("--points", type=_positive(int), help="output points per simulation (default from the model)")
    p.add_argument("--backend", choices=["serial", "processes"], default="serial")
    p.add_argument("--workers", type=_positive(int), help="local worker processes (with --backend processes)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (with --n-samples)")
    p.add_argument("--out", required=True, metavar="FILE.csv|FILE.json",
                   help="per-dose-pair table: CSV, or JSON (metadata + rows) when the name ends in .json")
    p.add_argument("--summary", metavar="FILE.csv",
                   help="also write a summary table: per space (one surface), per parameter set (--n-samples, "
                        "--samples) or per protocol (--protocols)")
    p.add_argument("--plot", metavar="FILE.png", help="also write a figure (surface, robustness, fronts; with "
                                                      "--protocols: fronts, across-protocol counts, union-front "
                                                      "points per protocol)")
    p.add_argument("--store", metavar="DIR", help="keep the simulations in this Parquet directory; a rerun with the "
                                                 "same --store and inputs reuses those already there")
    p.add_argument("--quiet", action="store_true", help="no progress bar (shown on a terminal otherwise)")
    from ..cli import allow_negative_values

    allow_negative_values(p)
    p.set_defaults(handler=run_cli)


def run_cli(args) -> int:
    """Handle ``qsp synergy``; library messages name the command-line options."""
    from ..option_names import cli_options

    with cli_options(CLI_NAMES):
        return _run(args)


def _run(args) -> int:
    from .. import ensemble
    from ..model import load_model
    from .surface import Treatment, check_size, parse_grid

    if len(args.drug) != 2:
        raise QSPError(f"give --drug exactly twice (drug 1 and drug 2). Got {len(args.drug)}.")
    schedules = args.schedule or [{}]
    if len(schedules) == 1:
        schedules = schedules * 2
    if len(schedules) != 2:
        raise QSPError(f"give --schedule once (both drugs) or twice (one per drug). Got {len(schedules)}.")
    from ..cli import _pairs

    from ..covariates.cli import covariate_model, read_samples

    params = _pairs(args.param, "--param")
    cov = covariate_model(args)
    if cov is not None and not args.samples:
        raise QSPError("--covariate and --covariate-model need --samples (a table with the covariate columns)")
    if isinstance(args.body_weight, str) and not args.samples:
        raise QSPError(f"--body-weight {args.body_weight!r} names a column; it needs --samples")
    d1, d2 = parse_grid(args.grid)
    model = load_model(args.model)
    t1 = Treatment.parse(args.drug[0], None if args.drug[0].startswith("param:") else schedules[0])
    t2 = Treatment.parse(args.drug[1], None if args.drug[1].startswith("param:") else schedules[1])
    protocols = None
    if args.protocols:
        from .protocols import read_protocols

        protocols = read_protocols(args.protocols, t1, t2)
    # the memory bound, before the parameter sets are sampled
    check_size(d1.size, d2.size, d1.size + args.mono_points + 1, d2.size + args.mono_points + 1,
               n_samples=args.n_samples or 1, n_metrics=1 + len(args.extra_metric), points=args.points,
               n_surfaces=len(protocols) if protocols else 1)
    samples = None
    if args.n_samples:
        ranges = model.metadata.get("parameter_ranges")
        if not ranges:
            raise QSPError(f"model {model.name!r} has no parameter_ranges; --n-samples needs them")
        samples = ensemble.sample_parameters(ranges, args.n_samples, seed=args.seed)
    elif args.samples:
        samples = read_samples(args.samples, cov)
    backend = ensemble.ProcessBackend(args.workers) if args.backend == "processes" else "serial"
    box = tuple(args.box) if args.box else None
    opts = {"tgi_min": args.tgi_min, "dose_box": box, "near_tol": args.near_tol, "weights": args.weights,
            "undefined_potency": args.undefined_potency}
    sim = {"response": args.metric, "extra_metrics": args.extra_metric, "samples": samples, "params": params,
           "mono_points": args.mono_points, "t_end": args.t_end, "points": args.points, "backend": backend,
           "progress": False if args.quiet else None, "out": args.store, "body_weight": args.body_weight,
           "covariate_model": cov}
    if protocols:
        return _run_protocols(args, model, protocols, d1, d2, sim, opts)
    from .moocs import moocs
    from .population import moocs_population
    from .surface import simulate_surface

    surface = simulate_surface(model, t1, t2, d1, d2, **sim)
    result = moocs_population(surface, **opts) if samples is not None else moocs(surface, **opts)
    _write(result, args.out)
    if args.summary:
        _write_csv(result.per_sample if samples is not None else result.summary(), args.summary)
    if args.plot:
        _figure(surface, result, samples is not None, args.plot)
    if samples is None:
        rb = result.robust()
        print(f"{len(result.table)} dose pairs, EC50s {result.info['EC50_1']:.4g} / {result.info['EC50_2']:.4g}, "
              f"{len(rb)} optimal in all {len(result.spaces)} spaces, {result.info['n_potency_undefined']} with "
              f"undefined potency ({args.undefined_potency}d) -> {args.out}", file=sys.stderr)
    else:
        none = result.info["n_samples_without_effective_dose"]
        print(f"{len(result.table)} dose pairs x {surface.n_samples} parameter sets"
              + (f", {none} with no dose pair reaching {args.tgi_min:g}" if args.tgi_min is not None else "")
              + f" -> {args.out}", file=sys.stderr)
    return 0


def _run_protocols(args, model, protocols, d1, d2, sim, opts) -> int:
    from .across import moocs_protocols
    from .protocols import simulate_protocols

    sweep = simulate_protocols(model, protocols, d1, d2, **sim)
    result = moocs_protocols(sweep, **opts)
    _write(result, args.out)
    summary = result.summary()
    if args.summary:
        _write_csv(summary, args.summary)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        axes = result.plot(space=result.spaces[-1])
        _save(axes[0].figure, args.plot)
    top = summary.iloc[0]
    print(f"{len(protocols)} protocols x {d1.size * d2.size} dose pairs x {sweep.n_samples} parameter set(s), "
          f"{len(sweep.table)} simulations; most union-front points: {top['protocol']} "
          f"({top['union_share']:.0%}) -> {args.out}", file=sys.stderr)
    return 0


def _write(result, path: str) -> None:
    """The result table, CSV or JSON, written whole or not at all."""
    from ..atomic import atomic_path

    with atomic_path(path) as tmp:
        if path.endswith(".json"):
            result.to_json(tmp)
        else:
            result.to_csv(tmp)


def _write_csv(table, path: str) -> None:
    from ..atomic import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def _save(fig, path: str) -> None:
    import matplotlib.pyplot as plt

    from ..atomic import atomic_path

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
def _figure(surface, result, population: bool, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if population:
        fig, axes = plt.subplots(1, 4, figsize=(20, 4))
        surface.plot(axes[0])
        axes[0].set_title("parameter set 0")
        result.plot_summary(axes[1:])
    else:
        fig = plt.figure(figsize=(14, 7))
        top = [fig.add_subplot(2, 4, k) for k in (1, 2, 3)]
        bottom = [fig.add_subplot(2, 4, k) for k in (5, 6, 7, 8)]
        surface.plot(top[0])
        result.plot(top[1])
        result.plot_doses(top[2], space=result.spaces[-1])
        result.plot_fronts(bottom)
    _save(fig, path)
