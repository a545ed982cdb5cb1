"""Multi-start fits of the seven PEtab benchmark problems from random starts: how often and how fast qsp
reaches the published optimum.

For each problem (``shared/references/petab-benchmark``): ``fit(PetabObjective.from_yaml(...),
starts=N, seed=S, method=M, backend=B)`` from N Latin-hypercube starts within the bounds (parameter
scale). ``lbfgsb`` uses the objective's gradient (exact through the observable and noise formulas,
finite differences of the simulations: ``--differences``); ``least_squares`` runs scipy's
trust-region reflective method on the residuals with the objective's Jacobian, adding one residual
per measurement for estimated noise parameters (``PetabObjective.with_noise_residuals``); ``fides``
runs fides' trust-region method with the objective's Fisher information as its Hessian
(``--hessian-update fim``, the default; ``hybrid``: BFGS after 20 iterations; ``bfgs``). ``--rtol``
sets the integration tolerance (and with it the finite-difference step).

Reported per problem: the starts used, how many reached the nominal log-likelihood (the collection's
README) minus ``--tol``, the best log-likelihood and its difference to the nominal one, the fit's wall
time, the wall time per start reaching it, the median seconds of one start, and the gradient
evaluations; the JSON rows add the reaching starts, the statuses and the optimisers' exit messages.
A markdown table on stdout; ``--json`` writes the rows too.

``--gradients`` measures the gradient instead, at a point near the nominal one (each log-scale
parameter moved by 0.1 of a decade times a standard normal draw; 0.03 or 0.01, or the nominal point
itself, where the model cannot be simulated there): the seconds of one objective value and of one gradient with forward and central
differences of the simulations, and with central differences of the objective itself (what
``Objective.gradient`` does), each against a reference from central differences of the objective
integrated at ``rtol`` 1e-12 (1e-10 where that fails): the largest error relative to the largest
component, and the largest relative error of the components above 1 % of it.

Run: ``python benchmarks/fit_benchmarks.py [--problems Boehm_JProteomeRes2014,Crauste_CellSystems2017]
[--starts 20] [--seed 0] [--method fides] [--backend processes] [--workers N] [--json out.json]
[--gradients]``
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

PETAB = Path(__file__).resolve().parents[2] / "shared" / "references" / "petab-benchmark"

#: llh at the nominal parameters, as AMICI's benchmark tests compute it (the collection's README).
NOMINAL = {
    "Boehm_JProteomeRes2014": -138.22199693517703,
    "Crauste_CellSystems2017": -190.96521897435176,
    "Elowitz_Nature2000": 63.20279991419332,
    "Brannmark_JBC2010": -141.889113770537,
    "Fujita_SciSignal2010": 53.08377736998929,
    "Fiedler_BMCSystBiol2016": 58.58390161681,
    "Zheng_PNAS2012": 278.33353271001477,
}


def fit_problem(name: str, *, starts: int, seed: int, method: str, backend, differences: str,
                tol: float = 0.1, max_evals: int | None = None, rtol: float | None = None,
                hessian_update: str = "fim") -> dict:
    """One multi-start fit of problem ``name``; its row of the table."""
    from qsp.fit import fit
    from qsp.fit.petab_problem import PetabObjective

    kw = {} if rtol is None else {"rtol": rtol, "atol": rtol * 1e-4, "ss_tolerance": rtol * 1e-2}
    obj = PetabObjective.from_yaml(PETAB / name / f"{name}.yaml", differences=differences, **kw)
    options = {}
    if method == "fides" and hessian_update != "fim":
        options = {"hessian_update": hessian_update}
    if method == "least_squares":
        obj = obj if obj.least_squares else obj.with_noise_residuals()
        options = {"jac": obj.jacobian}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit(obj, starts=starts, seed=seed, method=method, backend=backend, options=options,
                  max_evals=max_evals)
    table = res.starts
    llh = -table["nllh"].to_numpy(dtype=float)
    nominal = NOMINAL[name]
    reached = int(np.sum(llh >= nominal - tol))
    return {"problem": name, "method": method + ("" if method != "fides" or hessian_update == "fim"
                                                  else f" ({hessian_update})"),
            "differences": differences, "rtol": rtol, "seed": seed, "starts": len(table),
            "reached_starts": sorted(int(i) for i in table["start"][llh >= nominal - tol]),
            "failed": int(res.n_failed), "reached": reached, "best_llh": float(res.best_llh),
            "nominal_llh": nominal, "best_minus_nominal": float(res.best_llh - nominal),
            "wall_s": float(res.wall_s), "s_per_reached": float(res.wall_s / reached) if reached else None,
            "median_start_s": float(table["seconds"].median()), "gradients": int(table["n_grad"].sum()),
            "statuses": {str(k): int(v) for k, v in table["status"].value_counts().items()},
            "evaluations": int(table["n_evals"].sum()), "n_parameters": len(obj.space),
            "exits": {str(k): int(v) for k, v in table["optimizer_message"].astype(str).str[:60]
                      .value_counts().items()}}


def _differences(fn, x: np.ndarray, h: float) -> np.ndarray:
    g = np.empty(len(x))
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = h
        g[j] = (fn(x + e) - fn(x - e)) / (2 * h)
    return g


def _seconds(obj, fn, x: np.ndarray, repeats: int = 3):
    """(value, fastest seconds of ``fn(x)``), with the objective's kept simulation dropped before each."""
    best, value = float("inf"), None
    for _ in range(repeats):
        obj._last = None
        t0 = time.perf_counter()
        value = fn(x)
        best = min(best, time.perf_counter() - t0)
    return value, best


def gradient_row(name: str, seed: int = 1) -> dict:
    """Cost and accuracy of the gradient of problem ``name`` near its nominal point."""
    from qsp.fit.objective import Objective
    from qsp.fit.petab_problem import PetabObjective

    path = PETAB / name / f"{name}.yaml"
    fwd, cen = PetabObjective.from_yaml(path), PetabObjective.from_yaml(path, differences="central")
    sp = fwd.space
    z = np.random.default_rng(seed).standard_normal(len(sp))
    for rtol in (1e-12, 1e-10):
        tight = PetabObjective.from_yaml(path, rtol=rtol, atol=rtol * 1e-4)
        for spread in (0.1, 0.03, 0.01, 0.0):
            x = np.clip(sp.nominal + spread * z, sp.lower, sp.upper)
            if np.isfinite(fwd.nllh(x)) and np.isfinite(tight.nllh(x)):
                break
        else:
            continue
        ref = _differences(tight.nllh, x, 1e-4)
        if np.isfinite(ref).all():
            break
    scale = np.abs(ref).max()
    big = np.abs(ref) >= 1e-2 * scale

    def errors(g):
        return float(np.abs(g - ref).max() / scale), float((np.abs(g - ref) / np.abs(ref))[big].max())

    _, t_nllh = _seconds(fwd, fwd.nllh, x)
    row = {"problem": name, "n_parameters": len(sp), "simulated": len(fwd._sensitivities.simulated),
           "groups": len(fwd._runner.groups), "spread": spread, "reference_rtol": rtol, "nllh_s": t_nllh}
    for key, obj, fn in (("forward", fwd, fwd.gradient), ("central", cen, cen.gradient),
                         ("objective", fwd, lambda v: Objective.gradient(fwd, v))):
        g, t = _seconds(obj, fn, x, repeats=1 if key == "objective" else 3)
        row[f"{key}_s"], (row[f"{key}_error"], row[f"{key}_error_big"]) = t, errors(g)
    return row


def gradient_markdown(rows: list[dict]) -> str:
    lines = ["| problem | d | simulated | one nllh ms | forward ms | error | central ms | error | "
             "differences of nllh ms | error |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"{r[k + '_s'] * 1e3:.0f} | {r[k + '_error']:.1e} / {r[k + '_error_big']:.1e}"
                 for k in ("forward", "central", "objective")]
        at = "" if r["spread"] else " (at nominal)"
        lines.append(f"| {r['problem']}{at} | {r['n_parameters']} | {r['simulated']} | {r['nllh_s'] * 1e3:.1f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    lines = ["| problem | d | method | starts (seed) | reached nominal - 0.1 | best llh | nominal llh | best - nominal "
             "| wall s | s per reached start | median s per start | gradients |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        per = f"{r['s_per_reached']:.1f}" if r["s_per_reached"] is not None else "-"
        lines.append(f"| {r['problem']} | {r['n_parameters']} | {r['method']} | {r['starts']} ({r['seed']}) | "
                     f"{r['reached']} | {r['best_llh']:.3f} | {r['nominal_llh']:.3f} | "
                     f"{r['best_minus_nominal']:+.3f} | {r['wall_s']:.0f} | {per} | {r['median_start_s']:.1f} | "
                     f"{r['gradients']} |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default=",".join(NOMINAL), help="comma-separated problem names")
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", default="lbfgsb", choices=["lbfgsb", "least_squares", "fides"])
    ap.add_argument("--hessian-update", default="fim", choices=["fim", "hybrid", "bfgs"],
                    help="fides' Hessian: the Fisher information, or BFGS (after 20 iterations: hybrid)")
    ap.add_argument("--rtol", type=float, default=None, help="integration tolerance; atol and the steady-state tolerance follow "
                    "(rtol*1e-4, rtol*1e-2)")
    ap.add_argument("--differences", default="forward", choices=["forward", "central"])
    ap.add_argument("--backend", default="processes", choices=["serial", "processes"])
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    ap.add_argument("--max-evals", type=int, default=None)
    ap.add_argument("--tol", type=float, default=0.1)
    ap.add_argument("--json", default=None, help="write the rows to this JSON file")
    ap.add_argument("--gradients", action="store_true", help="measure the gradient's cost and accuracy instead")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.problems.split(",") if n.strip()]
    unknown = [n for n in names if n not in NOMINAL]
    if unknown:
        ap.error(f"unknown problem {unknown[0]!r}; choose from {', '.join(NOMINAL)}")
    if args.gradients:
        rows = []
        for name in names:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows.append(gradient_row(name))
            print(f"{name}: done", flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=1))
        print(gradient_markdown(rows))
        return rows
    backend = args.backend
    if backend == "processes" and args.workers:
        from qsp.ensemble.backends import ProcessBackend

        backend = ProcessBackend(args.workers)
    rows = []
    for name in names:
        t0 = time.perf_counter()
        row = fit_problem(name, starts=args.starts, seed=args.seed, method=args.method, backend=backend,
                          differences=args.differences, tol=args.tol, max_evals=args.max_evals,
                          rtol=args.rtol, hessian_update=args.hessian_update)
        rows.append(row)
        print(f"{name}: {row['reached']}/{row['starts']} reached, best {row['best_llh']:.3f} "
              f"({row['best_minus_nominal']:+.3f}), {time.perf_counter() - t0:.0f} s", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))
    print(markdown(rows))
    return rows


if __name__ == "__main__":
    main()
