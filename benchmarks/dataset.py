"""Dataset simulation: qsp's simulate_dataset against a raw libRoadRunner loop, in one run.

(a) NONMEM's 29-subject dosing table (``1001-data.csv``) with ``tests/models/nonmem_1001.ant``:
qsp simulates all 29 subjects; the raw loop does the subjects it can do simply (no steady state, no
reset, no modelled rate or duration: boluses and fixed-rate infusions, ADDL, lag time and
bioavailability), and its numbers are checked against qsp's on those subjects.

(b) A synthetic population: oral 100 mg q12h x 7 (ADDL 6) into the depot, 20 observations per
subject over 96 h, per-subject ``CL`` and ``V`` columns drawn log-normal (fixed seed). qsp runs it
with the serial and the processes backend (all cores, pool warmed before timing); the raw loop sets
CL and V, resets, and simulates dose to dose. Agreement is checked on a sample of subjects.

Both sides integrate with CVODE at rtol 1e-8, atol 1e-12 (qsp's defaults for datasets). Reported:
medians of ``--repeats`` runs, subjects per second, and ratios against the raw loop.

Run: ``python benchmarks/dataset.py [--subjects 10000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import roadrunner

import qsp
from qsp.datasets import read_dataset, simulate_dataset

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "tests" / "models" / "nonmem_1001.ant"
DATA = HERE.parents[1] / "shared" / "references" / "data" / "nonmem-dosing" / "1001-data.csv"
CMT_MAP = {1: "depot", 2: "central"}
OPTIONS = dict(lag={"central": "LAGT"}, bioavailability={"central": "BIOAV"},
               modelled_rate={"central": "RAT2"}, modelled_duration={"central": "DUR2"})
RTOL, ATOL = 1e-8, 1e-12
REL = 1e-6  # raw and qsp must agree to this relative difference
DOSE_MG, II_H, ADDL = 100.0, 12.0, 6
OBS_H = np.array([0.25, 0.5, 1, 2, 4, 6, 8, 12, 24, 36, 48, 60, 72, 72.5, 73, 74, 76, 78, 84, 96], dtype=float)


# ---------------------------------------------------------------------- the raw libRoadRunner side
def raw_setup(antimony_text: str):
    """The model for the raw loop, with a zero-order input per species for infusions (mg/h)."""
    import antimony

    body = antimony_text.rstrip().rsplit("end", 1)[0]
    body += ("  R_depot = 0; R_central = 0\n"
             "  infuse_depot: -> depot; R_depot\n"
             "  infuse_central: -> central; R_central\n"
             "end\n")
    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(body) < 0:
        raise RuntimeError(antimony.getLastError())
    sbml = antimony.getSBMLString(antimony.getMainModuleName())
    roadrunner.Config.setValue(roadrunner.Config.ROADRUNNER_DISABLE_PYTHON_DYNAMIC_PROPERTIES, True)
    rr = roadrunner.RoadRunner(sbml)
    rr.timeCourseSelections = ["time", "CP"]
    rr.integrator.setValue("relative_tolerance", RTOL)
    rr.integrator.setValue("absolute_tolerance", ATOL)
    return rr


def raw_events(doses: np.ndarray) -> list[tuple[float, str, float]]:
    """Dose rows (TIME, AMT, CMT 1|2, RATE, II, ADDL, LAGT, BIOAV) as sorted events
    (time h, target, amount mg or rate change mg/h); lag and F apply to the central compartment."""
    events = []
    for t, amt, cmt, rate, ii, addl, lagt, f in doses:
        central = cmt == 2
        given, lag = amt * (f if central else 1.0), (lagt if central else 0.0)
        name = "central" if central else "depot"
        for k in range(int(addl) + 1):
            start = t + k * ii + lag
            if rate > 0:
                events.append((start, "R_" + name, rate))
                events.append((start + given / rate, "R_" + name, -rate))
            else:
                events.append((start, name, given))
    return sorted(events, key=lambda e: e[0])


def raw_subject(rr, events, obs: np.ndarray, params: dict[str, float] | None = None) -> np.ndarray:
    """CP at the (sorted) observation times; an observation at an event's time sees the event."""
    rr.resetAll()
    for k, v in (params or {}).items():
        rr.setValue(k, v)
    out = np.empty(len(obs))
    last = float(obs[-1])
    stops = sorted({e[0] for e in events if e[0] <= last} | {last})
    t, j, e = 0.0, 0, 0
    for stop in stops:
        lo = j
        while j < len(obs) and obs[j] < stop:
            j += 1
        if stop > t:  # integrate to the next event, through the observations before it
            grid = np.unique(np.concatenate(([t], obs[lo:j], [stop])))
            res = np.asarray(rr.simulate(times=grid))
            out[lo:j] = res[np.searchsorted(grid, obs[lo:j]), 1]
        t = stop
        while e < len(events) and events[e][0] <= stop:
            _, target, value = events[e]
            rr.setValue(target, rr.getValue(target) + value)
            e += 1
    out[j:] = rr.getValue("CP")  # observations at the last time
    return out


# ---------------------------------------------------------------------- helpers
def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def max_rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative difference; values near zero (below 1e-9 of the largest) compared absolutely."""
    scale = np.maximum(np.abs(b), 1e-9 * np.max(np.abs(b)))
    return float(np.max(np.abs(a - b) / scale))


# ---------------------------------------------------------------------- (a) NONMEM's dosing table
def simple_subjects(table: pd.DataFrame) -> list:
    """Subjects whose rows are observations and doses (EVID 0, 1) only, the doses boluses or fixed-rate
    infusions (RATE >= 0), none at steady state."""
    keep = []
    for sid, g in table.groupby("ID", sort=False):
        if g["EVID"].isin((0, 1)).all() and g["SS"].eq(0).all() and (g["RATE"] >= 0).all():
            keep.append(sid)
    return keep


def nonmem_table(model, repeats: int) -> dict:
    raw_frame = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    ds = read_dataset(raw_frame, cmt_map=CMT_MAP)
    table = ds.to_pandas()
    subset = simple_subjects(table)
    sub_ds = read_dataset(raw_frame[raw_frame["ID"].astype(float).isin(subset)], cmt_map=CMT_MAP)

    cols = ["TIME", "AMT", "CMT", "RATE", "II", "ADDL", "LAGT", "BIOAV"]
    numeric = pd.read_csv(DATA, na_values=".").rename(columns=str.upper)
    per_subject = []
    for sid in subset:
        g = numeric[numeric["ID"] == sid]
        per_subject.append((g.loc[g["EVID"] == 1, cols].to_numpy(float), g.loc[g["EVID"] == 0, "TIME"].to_numpy(float)))
    rr = raw_setup(MODEL.read_text())

    def raw_loop():
        return [raw_subject(rr, raw_events(doses), obs) for doses, obs in per_subject]

    def run(d):
        return lambda: simulate_dataset(model, d, "CP", **OPTIONS, rtol=RTOL, atol=ATOL)

    run(ds)()  # compiles the worker's copy of the model once
    raw_loop()
    qsp_all, sim_all = median_time(run(ds), repeats)
    qsp_sub, sim_sub = median_time(run(sub_ds), repeats)
    raw_sub, raw_values = median_time(raw_loop, repeats)
    assert sim_all.failures.empty and sim_sub.failures.empty
    got = sim_all.table
    want = np.concatenate(raw_values)
    mine = got.loc[got["ID"].isin(subset) & (got["EVID"] == 0), "CP"].to_numpy()
    rel = max_rel(want, mine)
    assert rel < REL, f"raw loop and qsp disagree on the NONMEM subset: max rel diff {rel:.2e}"
    return {"subjects": len(ds.subjects), "subset": [int(s) for s in subset], "qsp_all_s": qsp_all,
            "qsp_subset_s": qsp_sub, "raw_subset_s": raw_sub, "ratio": qsp_sub / raw_sub, "max_rel": rel}


# ---------------------------------------------------------------------- (b) a synthetic population
def synthetic(n: int, seed: int = 20240) -> pd.DataFrame:
    """n subjects: 100 mg q12h x 7 into the depot (ADDL 6), 20 observations; CL (L/h), V (L) per subject."""
    rng = np.random.default_rng(seed)
    cl = 1.1 * np.exp(rng.normal(0.0, 0.3, n))
    v = 20.0 * np.exp(rng.normal(0.0, 0.25, n))
    k = len(OBS_H) + 1
    ids = np.repeat(np.arange(1, n + 1), k)
    time_h = np.tile(np.concatenate(([0.0], OBS_H)), n)
    first = np.tile(np.r_[True, np.zeros(len(OBS_H), bool)], n)
    return pd.DataFrame({"ID": ids, "TIME": time_h, "EVID": first.astype(int), "AMT": np.where(first, DOSE_MG, 0.0),
                         "CMT": np.where(first, 1, 2), "II": np.where(first, II_H, 0.0),
                         "ADDL": np.where(first, ADDL, 0), "CL": np.repeat(cl, k), "V": np.repeat(v, k)})


def population(model, n: int, repeats: int) -> dict:
    frame = synthetic(n)
    ds = read_dataset(frame, cmt_map=CMT_MAP)
    rr = raw_setup(MODEL.read_text())
    params = frame.groupby("ID", sort=False)[["CL", "V"]].first().to_dict("records")
    doses = np.array([[0.0, DOSE_MG, 1, 0.0, II_H, ADDL, 0.0, 1.0]])

    def raw_loop():
        return [raw_subject(rr, raw_events(doses), OBS_H, p) for p in params]

    def run(backend):
        return lambda: simulate_dataset(model, ds, "CP", backend=backend, rtol=RTOL, atol=ATOL)

    warm = read_dataset(synthetic(64), cmt_map=CMT_MAP)
    for backend in ("serial", "processes"):  # the worker's model compiled, the pool started
        simulate_dataset(model, warm, "CP", backend=backend)
    times, sims = {}, {}
    times["raw"], raw_values = median_time(raw_loop, repeats)
    times["serial"], sims["serial"] = median_time(run("serial"), repeats)
    times["processes"], sims["processes"] = median_time(run("processes"), repeats)
    rng = np.random.default_rng(1)
    sample = np.sort(rng.choice(n, size=min(n, 200), replace=False))
    want = np.concatenate([raw_values[i] for i in sample])
    rel = {}
    for name, sim in sims.items():
        assert sim.failures.empty
        obs = sim.table.loc[sim.table["EVID"] == 0, "CP"].to_numpy().reshape(n, len(OBS_H))
        rel[name] = max_rel(want, obs[sample].ravel())
        assert rel[name] < REL, f"raw loop and qsp ({name}) disagree: max rel diff {rel[name]:.2e}"
    return {"subjects": n, "sample": len(sample), "seconds": times, "max_rel": rel,
            "rate": {k: n / v for k, v in times.items()}, "ratio": {k: v / times["raw"] for k, v in times.items()}}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=10_000, help="subjects in the synthetic population")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    model = qsp.Model.from_file(MODEL)
    out = {}
    if DATA.is_file():
        a = out["nonmem"] = nonmem_table(model, args.repeats)
        subset = ", ".join(map(str, a["subset"]))
        print(f"(a) NONMEM dosing table 1001, {a['subjects']} subjects; median of {args.repeats}")
        print(f"    raw subset: subjects {subset} (boluses and fixed-rate infusions, ADDL, lag, F; "
              f"no SS, reset or modelled rate); max rel diff raw vs qsp {a['max_rel']:.1e}")
        n_sub = len(a["subset"])
        print(f"    {'raw libRoadRunner loop, subset':<34} {a['raw_subset_s'] * 1e3:9.1f} ms  "
              f"{a['raw_subset_s'] / n_sub * 1e3:7.2f} ms/subject")
        print(f"    {'qsp simulate_dataset, subset':<34} {a['qsp_subset_s'] * 1e3:9.1f} ms  "
              f"{a['qsp_subset_s'] / n_sub * 1e3:7.2f} ms/subject   {a['ratio']:5.2f}x raw")
        print(f"    {'qsp simulate_dataset, all':<34} {a['qsp_all_s'] * 1e3:9.1f} ms  "
              f"{a['qsp_all_s'] / a['subjects'] * 1e3:7.2f} ms/subject")
    else:
        print(f"(a) skipped: {DATA} not found")
    b = out["population"] = population(model, args.subjects, args.repeats)
    cores = os.cpu_count()
    print(f"(b) synthetic population, {b['subjects']} subjects: oral {DOSE_MG:g} mg q{II_H:g}h x {ADDL + 1}, "
          f"{len(OBS_H)} observations, CL and V per subject; median of {args.repeats}; "
          f"checked on {b['sample']} subjects")
    labels = {"raw": "raw libRoadRunner loop (1 core)", "serial": "qsp serial",
              "processes": f"qsp processes ({cores} cores)"}
    for key, label in labels.items():
        extra = f"   max rel diff {b['max_rel'][key]:.1e}" if key in b["max_rel"] else ""
        print(f"    {label:<34} {b['seconds'][key]:8.2f} s  {b['rate'][key]:8.0f} subjects/s  "
              f"{b['ratio'][key]:5.2f}x raw time{extra}")
    return out


if __name__ == "__main__":
    main()
