"""The pyPESTO + AMICI side of ``benchmarks/fit.py``: one multi-start fit of a PEtab problem.

Runs in the peer's own Python (it imports pypesto, amici and fides, never qsp). Reads a JSON file
with the start points (``{"ids": [...], "points": [[...], ...]}``, on the parameter scale), compiles
the AMICI model (timed apart from the fit), times one objective value and one gradient at the
nominal point, runs ``pypesto.optimize.minimize`` with fides from exactly those start points, and
writes a JSON summary to ``--out``.

Run: ``python benchmarks/_pypesto_fit.py --yaml PROBLEM.yaml --starts-file STARTS.json --out OUT.json
[--model-dir DIR] [--seed 1] [--processes 1]``
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import time
import warnings


def _median_time(fn, repeats: int) -> float:
    """Median seconds of ``fn(k)`` for k = 1..repeats."""
    times = []
    for k in range(1, repeats + 1):
        t = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _float(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--yaml", required=True)
    ap.add_argument("--starts-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model-dir", default=None, help="where AMICI compiles the model (reused when present)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--processes", type=int, default=1, help="1: SingleCoreEngine; more: MultiProcessEngine")
    args = ap.parse_args()

    warnings.filterwarnings("ignore")
    import numpy as np

    import amici
    import fides
    import petab
    import pypesto
    import pypesto.engine
    import pypesto.optimize
    import pypesto.petab

    logging.disable(logging.INFO)  # AMICI's and pyPESTO's debug and info messages

    with open(args.starts_file) as fh:
        starts = json.load(fh)
    name = os.path.splitext(os.path.basename(args.yaml))[0]
    model_dir = args.model_dir
    reused = bool(model_dir and os.path.isdir(model_dir) and os.listdir(model_dir))

    t0 = time.perf_counter()
    importer = pypesto.petab.PetabImporter.from_yaml(args.yaml, output_folder=model_dir, model_name=name)
    problem = importer.create_problem()
    compile_s = time.perf_counter() - t0

    # the same start points as qsp, by parameter id
    names = list(problem.x_names)
    free = [names[i] for i in problem.x_free_indices]
    missing = sorted(set(free) - set(starts["ids"]))
    if missing:
        raise SystemExit(f"the start points lack the estimated parameter(s) {', '.join(missing)}")
    points = np.asarray(starts["points"], dtype=float)
    guesses = np.full((len(points), problem.dim_full), np.nan)
    for j, pid in enumerate(starts["ids"]):
        guesses[:, names.index(pid)] = points[:, j]
    problem.set_x_guesses(guesses)

    # one value and one gradient at the nominal point (parameter scale), after a first call
    pp = importer.petab_problem
    nominal = dict(zip(pp.x_ids, pp.x_nominal_scaled))
    x_nom = np.array([nominal[pid] for pid in free], dtype=float)
    obj = problem.objective
    nominal_nllh = float(obj(x_nom, sensi_orders=(0,)))
    obj(x_nom, sensi_orders=(0, 1))
    # each call at a point of its own (1e-9 apart on the parameter scale), as for qsp
    nllh_s = _median_time(lambda k: obj(x_nom + 1e-9 * k, sensi_orders=(0,)), 5)
    grad_s = _median_time(lambda k: obj(x_nom - 1e-9 * k, sensi_orders=(0, 1)), 3)

    if args.processes > 1:
        engine = pypesto.engine.MultiProcessEngine(n_procs=args.processes)
        engine_name = f"MultiProcessEngine({args.processes})"
    else:
        engine = pypesto.engine.SingleCoreEngine()
        engine_name = "SingleCoreEngine"
    optimizer = pypesto.optimize.FidesOptimizer(verbose=logging.WARNING)
    hessian = getattr(optimizer, "hessian_update", "default")
    if hessian == "default":  # pyPESTO's choice: FIM/BFGS hybrid when AMICI gives the FIM, else BFGS
        hessian = "HybridFixed" if getattr(obj, "has_hess", False) else "BFGS"
    else:
        hessian = type(hessian).__name__
    np.random.seed(args.seed)  # only used if a start point has to be resampled
    t1 = time.perf_counter()
    result = pypesto.optimize.minimize(problem, optimizer=optimizer, n_starts=len(points), engine=engine,
                                       progress_bar=False)
    wall_s = time.perf_counter() - t1

    rows = []
    for r in result.optimize_result.list:
        rows.append({"id": r.id, "nllh": _float(r.fval), "nllh_start": _float(r.fval0), "n_fval": r.n_fval,
                     "n_grad": r.n_grad, "n_hess": r.n_hess, "exitflag": r.exitflag,
                     "message": str(r.message or "")[:200], "seconds": _float(r.time)})
    out = {
        "problem": name, "n_parameters": int(problem.dim), "n_starts": len(points),
        "compile_s": compile_s, "compile_reused": reused, "nominal_nllh": nominal_nllh,
        "nllh_s": nllh_s, "gradient_s": grad_s, "wall_s": wall_s, "engine": engine_name,
        "optimizer": f"fides {getattr(fides, '__version__', '?')} ({hessian})",
        "versions": {"pypesto": pypesto.__version__, "amici": amici.__version__,
                     "petab": getattr(petab, "__version__", "?"), "python": sys.version.split()[0]},
        "starts": rows,
    }
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
