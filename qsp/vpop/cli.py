"""``qsp vpop generate | select | weight | simulate``: each step writes a file the next one reads."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import QSPError
from ..option_names import cli_options

__all__ = ["register", "CLI_NAMES"]

#: Python argument -> command-line option, for messages raised by the library (None: no such option).
CLI_NAMES = {"n": "--n", "max_simulations": "--max-simulations", "target": "--target", "method": "--method",
             "n_bins": "--bins", "k": "--k", "points": "--points", "assess_every": "--assess-every",
             "cr": "--cr", "pr": "--pr", "pd": "--pd", "parameters": None, "metrics": "--metric",
             "cytokine": "--cytokine", "crs_thresholds": "--crs-threshold", "confidence": "--confidence"}


def _toml(path) -> dict:
    from ..ensemble.sampling import read_spec

    return read_spec(path)


def register(subparsers) -> None:
    """Add ``qsp vpop ...`` to the main parser."""
    from ..cli import _key_value, _positive

    p = subparsers.add_parser("vpop", help="virtual populations: plausible patients, selection, trials",
                              description="Generate plausible patients, select or weight them to match clinical "
                                          "data, and simulate regimens across the virtual population.")
    sub = p.add_subparsers(dest="vpop_command", metavar="STEP")
    sub.required = True

    g = sub.add_parser("generate", help="generate plausible patients from a TOML spec")
    g.add_argument("model", metavar="MODEL")
    g.add_argument("--spec", required=True, metavar="FILE.toml",
                   help="n, method, seed, t_end, points, regimen, [fixed], [parameters.ID], [outputs.NAME]")
    g.add_argument("--method", choices=["optimize", "mh", "sample"], help="generator (overrides the spec)")
    g.add_argument("--n", type=_positive(int), help="plausible patients wanted (overrides the spec)")
    g.add_argument("--seed", type=int, help="seed (overrides the spec)")
    g.add_argument("--max-simulations", type=_positive(int), help="simulation budget (default 200 * n)")
    g.add_argument("--target", metavar="FILE.toml|FILE.csv",
                   help="with --method mh: score plausible points by the target density of their outputs")
    g.add_argument("--out", required=True, metavar="FILE.parquet|FILE.csv")
    g.add_argument("--json", metavar="FILE", help="also write the summary and rows as JSON")
    g.add_argument("--quiet", action="store_true", help="no progress bar (shown on a terminal otherwise)")
    g.set_defaults(handler=_generate)

    s = sub.add_parser("select", help="select a virtual population from plausible patients")
    s.add_argument("pps", metavar="PPS", help="plausible patients (Parquet or CSV)")
    s.add_argument("--target", required=True, metavar="FILE.toml|FILE.csv",
                   help="TOML: [outputs.NAME] distribution, median/sd_log or mean/sd, optional correlation; "
                        "CSV: individual observed values, one column per output")
    s.add_argument("--k", type=_positive(int), default=5, help="k of the k-NN density (default 5)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, metavar="FILE.parquet|FILE.csv")
    s.add_argument("--fit", metavar="FILE.csv", help="also write the per-output goodness of fit")
    s.add_argument("--json", metavar="FILE", help="also write the summary and rows as JSON")
    s.set_defaults(handler=_select)

    w = sub.add_parser("weight", help="prevalence weights for plausible patients")
    w.add_argument("pps", metavar="PPS")
    w.add_argument("--target", required=True, metavar="FILE.toml|FILE.csv")
    w.add_argument("--method", choices=["qp", "binned"], default="qp")
    w.add_argument("--bins", type=_positive(int), default=10,
                   help="bins per output (target quantiles; default 10, at least 2)")
    w.add_argument("--out", required=True, metavar="FILE.parquet|FILE.csv")
    w.add_argument("--json", metavar="FILE")
    w.set_defaults(handler=_weight)

    t = sub.add_parser("simulate", help="simulate regimens across a virtual population and classify responses")
    t.add_argument("model", metavar="MODEL")
    t.add_argument("--vps", required=True, metavar="FILE", help="virtual (or weighted plausible) patients")
    t.add_argument("--regimen", action="append", metavar="NAME", help="metadata regimen, one arm each (repeatable)")
    t.add_argument("--arm", action="append", type=_arm, metavar="NAME[:ID=VALUE,...]",
                   help="an arm without doses, with parameter overrides, e.g. 'treated:kill=0.3' (repeatable)")
    t.add_argument("--tumour", required=True, metavar="OUTPUT", help="output classified, e.g. TV_tot")
    t.add_argument("--baseline", type=float, default=0.0, help="baseline time (model time unit)")
    t.add_argument("--until", type=float, help="last time for the best response (default t_end)")
    t.add_argument("--assess-every", type=_positive(float), metavar="DT",
                   help="read the tumour at visits baseline + k*DT only, as a trial does (default: every output "
                        "time)")
    t.add_argument("--t-end", type=_positive(float))
    t.add_argument("--points", type=_positive(int))
    t.add_argument("--arm-dose", action="append", nargs=2, metavar=("NAME", "SPEC"),
                   help="add a dose to arm NAME (a new arm, an --arm or a --regimen); SPEC as in 'qsp simulate "
                        "--dose': target=ID,amount=A[,unit=mg/kg][,time=T][,every=T][,count=N | ,repeat=N]"
                        "[,duration=T] (repeatable)")
    from ..covariates.cli import add_covariate_options, body_weight_arg

    t.add_argument("--body-weight", type=body_weight_arg, metavar="KG|COLUMN",
                   help="body weight for per-kg doses: kg, or a --vps column of each patient's kg (default: the "
                        "body_weight column of --vps, else the model metadata's)")
    add_covariate_options(t, table="--vps patients")
    t.add_argument("--param", action="append", type=_key_value, metavar="ID=VALUE", help="override in every arm")
    t.add_argument("--floor", type=float, help="detection limit: a nadir at or below it is a CR")
    t.add_argument("--cr", type=float, default=-100.0, help="CR threshold in %% (default -100)")
    t.add_argument("--pr", type=float, default=-30.0, help="PR threshold in %% (default -30)")
    t.add_argument("--pd", type=float, default=20.0, help="PD threshold in %% (default 20)")
    t.add_argument("--cytokine", metavar="OUTPUT", help="output whose peak is graded")
    t.add_argument("--crs-threshold", type=float, action="append", metavar="VALUE",
                   help="increasing CRS grade thresholds on the cytokine peak (repeatable)")
    t.add_argument("--metric", action="append", metavar="FN:OUTPUT[:VALUE]", help="extra per-patient metric")
    t.add_argument("--weighted", action="store_true", help="use the 'weight' column of --vps")
    t.add_argument("--confidence", type=float, default=0.95)
    t.add_argument("--out", required=True, metavar="FILE.csv", help="per-patient table (CSV or .parquet)")
    t.add_argument("--rates", metavar="FILE.csv", help="rates per arm (default: OUT stem + _rates.csv)")
    t.add_argument("--comparisons", metavar="FILE.csv", help="arm comparisons (default: OUT stem + _comparisons.csv)")
    t.add_argument("--plot", metavar="FILE.png", help="waterfall plot")
    t.add_argument("--spider", metavar="FILE.png", help="spider plot of the first arm")
    t.add_argument("--json", metavar="FILE")
    t.add_argument("--store", metavar="DIR", help="keep the simulations in this Parquet directory; a rerun with the "
                                                 "same --store and inputs reuses those already there")
    t.add_argument("--quiet", action="store_true", help="no progress bar (shown on a terminal otherwise)")
    t.set_defaults(handler=_simulate)
    from ..cli import allow_negative_values

    for parser in (p, g, s, w, t):
        allow_negative_values(parser)


def _arm(text: str) -> tuple[str, dict]:

    name, _, rest = text.partition(":")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"an arm needs a name before ':' (got {text!r})")
    params = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise argparse.ArgumentTypeError(f"arm override {part!r} is not ID=VALUE (in {text!r})")
        if key.strip() in params:
            raise argparse.ArgumentTypeError(f"arm override {key.strip()!r} is given twice (in {text!r})")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"value of {key.strip()!r} must be a number, got {value!r}") from None
    return name.strip(), params


def _write_table(result, path: str) -> None:
    if str(path).endswith((".parquet", ".pq")):
        result.to_parquet(path)
    else:
        result.to_csv(path)


def _generate(args) -> int:
    from ..model import load_model
    from .plausible import generate
    from .problem import PlausibleProblem

    spec = _toml(args.spec)
    model = load_model(args.model)
    if "parameters" not in spec:
        ranges = model.metadata.get("parameter_ranges")
        if not ranges:
            raise QSPError(f"spec {args.spec!r} has no [parameters] and the model has no parameter_ranges")
        from ..ensemble.sampling import as_bounds

        spec["parameters"] = as_bounds(ranges)
    if "outputs" not in spec:
        raise QSPError(f"spec {args.spec!r} needs [outputs.NAME] tables with metric, low and high")
    known = {"n", "method", "seed", "t_end", "points", "regimen", "fixed", "parameters", "outputs",
             "max_simulations", "options"}
    extra = sorted(set(spec) - known)
    if extra:
        raise QSPError(f"unknown key {extra[0]!r} in spec {args.spec!r}; use {', '.join(sorted(known))}")
    problem = PlausibleProblem(model, spec["parameters"], spec["outputs"], regimen=spec.get("regimen"),
                               fixed=spec.get("fixed", {}), t_end=spec.get("t_end"), points=spec.get("points"))
    method = args.method or spec.get("method", "optimize")
    n = args.n or spec.get("n", 100)
    seed = args.seed if args.seed is not None else spec.get("seed", 0)
    options = spec.get("options", {})
    if not isinstance(options, dict):
        raise QSPError(f"'options' in spec {args.spec!r} must be a table ([options]). Got {options!r}.")
    target = _target(args.target) if args.target else None
    with cli_options(CLI_NAMES):
        pps = generate(problem, n, method=method, seed=seed, progress=False if args.quiet else None,
                       max_simulations=args.max_simulations or spec.get("max_simulations"), target=target, **options)
    _write_table(pps, args.out)
    if args.json:
        pps.to_json(args.json)
    print(f"{len(pps)} plausible patients ({method}) from {pps.n_simulations} simulations "
          f"({pps.n_failed} failed): yield {pps.yield_:.3f} per simulation, {pps.attempt_yield:.3f} per attempt "
          f"({pps.n_attempts} attempts), {pps.seconds_per_pp * 1e3:.2f} ms per PP, "
          f"{pps.wall_seconds:.2f} s -> {args.out}", file=sys.stderr)
    if len(pps) < n:
        print(f"qsp: warning: only {len(pps)} of {n} plausible patients found within the simulation budget",
              file=sys.stderr)
    return 0


def _target(path: str):
    from .target import Target

    return Target.from_file(path)


def _select(args) -> int:
    from .result import read_table
    from .selection import select

    pps = read_table(args.pps)
    with cli_options(CLI_NAMES):
        vps = select(pps, _target(args.target), k=args.k, seed=args.seed)
    _write_table(vps, args.out)
    if args.fit:
        vps.fit.to_csv(args.fit, index=False)
    if args.json:
        vps.to_json(args.json)
    fit = "; ".join(f"{r.output}: KS {r.ks_statistic:.3f} (p = {r.p_value:.3f})" for r in vps.fit.itertuples())
    print(f"{vps.n_vp} virtual patients from {vps.n_pp} plausible (efficiency {vps.efficiency:.3f}); {fit}; "
          f"summed KS {vps.summed_ks:.3f}; "
          f"{vps.wall_seconds:.2f} s -> {args.out}", file=sys.stderr)
    return 0


def _weight(args) -> int:
    from .result import read_table
    from .weighting import weight

    with cli_options(CLI_NAMES):
        res = weight(read_table(args.pps), _target(args.target), method=args.method, n_bins=args.bins)
    _write_table(res, args.out)
    if args.json:
        res.to_json(args.json)
    print(f"weights for {len(res.table)} plausible patients ({args.method}): ESS {res.ess:.1f} -> {args.out}",
          file=sys.stderr)
    return 0


def _add_arm_doses(model, arms: dict, pairs) -> None:
    """Add ``--arm-dose NAME SPEC`` doses to ``arms``: to a new arm, an ``--arm`` or a metadata regimen's arm."""
    from ..cli import _dose

    extra: dict[str, list] = {}
    for name, spec in pairs:
        try:
            extra.setdefault(name, []).append(_dose(spec))
        except argparse.ArgumentTypeError as exc:
            raise QSPError(f"--arm-dose {name}: {exc}") from None
    for name, doses in extra.items():
        spec = arms.get(name)
        if spec is None:
            arms[name] = (doses, {})
        elif isinstance(spec, str):
            reg_doses, reg_params = model.regimen(spec)
            arms[name] = (list(reg_doses) + doses, reg_params)
        else:
            arms[name] = (list(spec[0]) + doses, spec[1])


def _simulate(args) -> int:
    from ..model import load_model
    from .result import read_table
    from .trial import simulate_trial

    model = load_model(args.model)
    vps = read_table(args.vps)
    if args.crs_threshold and not args.cytokine:
        raise QSPError("--crs-threshold needs --cytokine OUTPUT")
    regimens = args.regimen or []
    twice = sorted({r for r in regimens if regimens.count(r) > 1})
    if twice:
        raise QSPError(f"--regimen {twice[0]!r} is given twice")
    arms = {name: name for name in regimens}
    for name, params in args.arm or []:
        if name in arms:
            raise QSPError(f"arm {name!r} is given twice; give each --regimen/--arm a distinct name")
        arms[name] = ([], params)
    _add_arm_doses(model, arms, args.arm_dose or [])
    if not arms:
        raise QSPError("give at least one arm: --regimen NAME (model metadata), --arm NAME[:ID=VALUE,...] "
                       "or --arm-dose NAME SPEC")
    from ..cli import _pairs

    from ..covariates.cli import covariate_model

    fixed = _pairs(args.param, "--param")
    cov = covariate_model(args)
    with cli_options({**CLI_NAMES, "pd_threshold": "--pd"}):
        trial = simulate_trial(model, vps, arms, tumour=args.tumour, baseline=args.baseline,
                               until=args.until, assess_every=args.assess_every, t_end=args.t_end, points=args.points,
                               fixed=fixed, floor=args.floor, cr=args.cr, pr=args.pr, pd_threshold=args.pd,
                               cytokine=args.cytokine, crs_thresholds=args.crs_threshold, metrics=args.metric or (),
                               weights="weight" if args.weighted else None, confidence=args.confidence,
                               progress=False if args.quiet else None, out=args.store,
                               body_weight=args.body_weight, covariate_model=cov)
    out = Path(args.out)
    _write_table(trial, args.out)
    stem = out.with_suffix("")
    trial.rates.to_csv(args.rates or f"{stem}_rates.csv", index=False)
    trial.comparisons.to_csv(args.comparisons or f"{stem}_comparisons.csv", index=False)
    if args.json:
        trial.to_json(args.json)
    if args.plot or args.spider:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if args.plot:
            ax = trial.plot()
            ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
            plt.close(ax.figure)
        if args.spider:
            ax = trial.plot_spider()
            ax.figure.savefig(args.spider, dpi=120, bbox_inches="tight")
            plt.close(ax.figure)
    r = trial.rates[trial.rates["endpoint"] == "response"]
    for row in r.itertuples():
        print(f"{row.regimen}: response {row.count}/{row.n} = {row.rate:.1%} "
              f"({trial.rule['confidence']:.0%} CI {row.ci_low:.1%}-{row.ci_high:.1%}), {row.n_failed} failed")
    print(f"{len(trial.patients)} simulations, {trial.wall_seconds:.2f} s -> {args.out}", file=sys.stderr)
    return 0
