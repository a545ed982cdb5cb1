"""Per-simulation overhead of qsp's Model.simulate against a raw libRoadRunner loop.

Both sides run the shipped ``trimeric`` model with the same 5 parameter
overrides and the same 4-dose weekly IV regimen over 28 days (113 output
points), in one process, interleaved in batches. The raw loop is what a
libRoadRunner user writes: reset, set parameters, simulate to each dose
time, add the dose, simulate on. Reported: median time per simulation of
each and their ratio (qsp / raw).

Run: ``python benchmarks/overhead.py [--sims 2000] [--batches 7]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import roadrunner

import qsp

PARAMS = {"CL": 0.25, "Q": 0.6, "kdegA": 0.5, "kintAB": 2.0, "alpha": 1.5}
DOSE_NMOL = 50.0
DOSE_TIMES = [0.0, 7.0, 14.0, 21.0]
T_END, POINTS = 28.0, 113
OUTPUTS = ["Cp", "ADB"]


def raw_setup(sbml: str):
    roadrunner.Config.setValue(roadrunner.Config.ROADRUNNER_DISABLE_PYTHON_DYNAMIC_PROPERTIES, True)
    rr = roadrunner.RoadRunner(sbml)
    rr.timeCourseSelections = ["time"] + OUTPUTS
    return rr


def raw_once(rr) -> np.ndarray:
    rr.resetAll()
    for k, v in PARAMS.items():
        rr.setValue(k, v)
    grid = np.linspace(0, T_END, POINTS)
    pieces = []
    edges = DOSE_TIMES + [T_END]
    for i, t0 in enumerate(DOSE_TIMES):
        rr.setValue("Cp", rr.getValue("Cp") + DOSE_NMOL)
        t1 = edges[i + 1]
        pts = grid[(grid >= t0) & (grid < t1)] if i < len(DOSE_TIMES) - 1 else grid[grid >= t0]
        times = np.unique(np.concatenate(([t0], pts, [t1])))
        res = rr.simulate(times=times)
        keep = np.isin(times, pts)
        pieces.append(np.asarray(res)[keep, 1:])
    return np.vstack(pieces)


def qsp_setup(model: qsp.Model):
    doses = [qsp.Dose("Cp", DOSE_NMOL, time=0, every=7, count=4)]
    return lambda: model.simulate(T_END, points=POINTS, outputs=OUTPUTS, params=PARAMS, doses=doses).values


def timed(fn, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=1000, help="simulations per batch")
    ap.add_argument("--batches", type=int, default=7)
    args = ap.parse_args(argv)

    model = qsp.load_model("trimeric")
    rr = raw_setup(model.sbml)
    run_qsp = qsp_setup(model)
    a, b = raw_once(rr), run_qsp()
    assert a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-9), "raw and qsp disagree"
    raw_t, qsp_t = [], []
    for _ in range(args.batches):  # interleaved so machine noise hits both alike
        raw_t.append(timed(lambda: raw_once(rr), args.sims))
        qsp_t.append(timed(run_qsp, args.sims))
    raw_med, qsp_med = statistics.median(raw_t), statistics.median(qsp_t)
    out = {"raw_us": raw_med * 1e6, "qsp_us": qsp_med * 1e6, "ratio": qsp_med / raw_med,
           "overhead_us": (qsp_med - raw_med) * 1e6}
    print(f"trimeric, 5 overrides, 4 doses, {POINTS} points; median of {args.batches} batches x {args.sims} sims")
    print(f"raw libRoadRunner loop : {out['raw_us']:8.1f} us/sim")
    print(f"qsp Model.simulate     : {out['qsp_us']:8.1f} us/sim")
    print(f"ratio qsp/raw          : {out['ratio']:8.3f}   (overhead {out['overhead_us']:+.1f} us/sim)")
    return out


if __name__ == "__main__":
    main()
