"""Ensemble throughput: raw libRoadRunner loop vs qsp serial, processes and Dask, in one run.

Workload: a full TMDD model (``tmdd.ant``), 4 log-normally spread parameters,
a weekly IV dose for 4 weeks, 28 days with 113 output points, the drug's
Cmax and AUC per simulation. The raw loop is single-core libRoadRunner doing
the same piecewise dosing. Reported: simulations per second and the ratio to
the raw loop. Pools and clusters are started (and warmed) before timing.

Run: ``python benchmarks/ensemble.py [--n 20000]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import roadrunner

import qsp
from qsp import ensemble

HERE = Path(__file__).resolve().parent
RANGES = {p: {"distribution": "lognormal", "median": v, "sd_log": np.log(3) / 2}
          for p, v in {"kel": 0.1, "kon": 1.0, "kint": 0.2, "kdeg": 0.1}.items()}
DOSE, TIMES = 30.0, [0.0, 7.0, 14.0, 21.0]
GRID = np.linspace(0, 28, 113)


def raw_loop(sbml: str, X) -> float:
    roadrunner.Config.setValue(roadrunner.Config.ROADRUNNER_DISABLE_PYTHON_DYNAMIC_PROPERTIES, True)
    rr = roadrunner.RoadRunner(sbml)
    rr.timeCourseSelections = ["time", "[L]"]
    cols, vals = list(X.columns), X.to_numpy()
    edges = TIMES + [28.0]
    start = time.perf_counter()
    for row in vals:
        rr.resetAll()
        for c, v in zip(cols, row):
            rr.setValue(c, float(v))
        ys = []
        for i, t0 in enumerate(TIMES):
            rr.setValue("L", rr.getValue("L") + DOSE)
            t1 = edges[i + 1]
            pts = GRID[(GRID >= t0) & ((GRID < t1) | (t1 == 28.0))]
            times = np.unique(np.concatenate(([t0], pts, [t1])))
            res = np.asarray(rr.simulate(times=times))
            ys.append(res[np.isin(times, pts), 1])
        y = np.concatenate(ys)
        _ = (y.max(), np.trapezoid(y, GRID))
    return len(vals) / (time.perf_counter() - start)


def qsp_rate(model, X, backend, chunk_size=256) -> float:
    kw = dict(regimens={"weekly": [qsp.Dose("L", DOSE, every=7, count=4)]}, metrics=["cmax:[L]", "auc:[L]"],
              t_end=28, points=113, backend=backend, chunk_size=chunk_size, progress=False)
    ensemble.run(model, X.head(4 * chunk_size), **kw)  # warm the pool / workers
    start = time.perf_counter()
    res = ensemble.run(model, X, **kw)
    rate = len(X) / (time.perf_counter() - start)
    assert res.n_failed == 0
    return rate


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--raw-n", type=int, default=5000)
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args(argv)

    model = qsp.Model.from_file(HERE / "tmdd.ant")
    X = ensemble.sample_parameters(RANGES, args.n, seed=1)
    cores = os.cpu_count()
    rates = {"raw loop (1 core)": raw_loop(model.sbml, X.head(args.raw_n))}
    rates["qsp serial"] = qsp_rate(model, X.head(args.raw_n), "serial")
    rates[f"qsp processes ({cores})"] = qsp_rate(model, X, ensemble.ProcessBackend())
    if not args.no_dask:
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=cores, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            rates[f"qsp dask LocalCluster ({cores})"] = qsp_rate(model, X, ensemble.DaskBackend(client))
    base = rates["raw loop (1 core)"]
    print(f"TMDD, 4 lognormal parameters, weekly x4, 28 d, 113 points; n={args.n} ({args.raw_n} for 1-core runs)")
    for name, r in rates.items():
        print(f"{name:<28} {r:9.0f} sims/s   {r / base:5.2f}x raw")
    return rates


if __name__ == "__main__":
    main()
