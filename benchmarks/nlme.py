"""Population fitting (SAEM): wall time, and simulations per second inside SAEM against the raw rate.

Datasets (``../shared/references/data/nlmixr2data``):

- ``theo_sd``: 12 subjects, one oral dose, 11 observations each; one-compartment oral model
  (tests/models/one_cpt_oral.ant), IIV on KA, CL, V, additive error, kernels (2, 2, 2);
- ``Oral_1CPT``: 120 subjects, oral doses at 0, 72, ..., 192 h and a steady-state dose (SS 1, II 24) at
  216 h, 48 observations each; IIV on CL, V, KA, exponential error, kernels (1, 1, 1);
- ``pembro_bev``: the shipped model, 30 simulated xenograft animals (as tests/test_nlme_shipped.py), IIV
  on lambda and k21, exponential error, kernels (1, 1, 1), rtol 1e-6.

For each: SAEM on the processes backend (``--workers``, default 2) for ``--iterations`` (K1,K2 per
dataset), without the post-hoc stage unless ``--posthoc`` (conditional modes, SEs, log-likelihood);
reported: wall time, E-step simulations, simulations per second inside the E-steps (all workers
together), and the raw rate of the same subjects: ``simulate_dataset`` of the dataset at the subjects'
true / fitted parameters, serial (one core) and on the processes backend, and for theo_sd a plain
libRoadRunner loop (reset, set KA/CL/V, dose, simulate the sampling times). The ratio is SAEM's rate
over ``simulate_dataset``'s rate on the same backend: what the MCMC, the stochastic approximation and the
stage round trips cost per simulation. ``--profile`` adds, for Oral_1CPT, where one serial E-step's time
goes (steady-state solving, integration, the rest).

Medians of ``--repeats`` runs. Prints a markdown table.

Run: ``python benchmarks/nlme.py [--theo 100,60] [--oral 20,10] [--pembro 50,30] [--repeats 1] [--profile]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import qsp
from qsp.datasets import read_dataset, simulate_dataset
from qsp.nlme import PopulationModel, saem

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "references" / "data" / "nlmixr2data"
MODELS = ROOT / "tests" / "models"


def _pair(text: str) -> tuple[int, int]:
    a, b = (int(x) for x in text.split(","))
    return a, b


def theo_case():
    data = read_dataset(DATA / "theo_sd.csv", evid_style="rxode2", cmt_map={1: "depot", 2: "central"})
    pop = PopulationModel.from_dict({
        "parameters": {"KA": {"initial": 1.0, "random": True}, "CL": {"initial": 3.0, "random": True},
                       "V": {"initial": 30.0, "random": True}}, "observe": {"DV": "CP"}, "error": "additive"})
    return qsp.Model.from_file(MODELS / "one_cpt_oral.ant"), data, pop, {"kernels": (2, 2, 2)}, None


def oral_case():
    table = pd.read_csv(DATA / "Oral_1CPT.csv")
    data = read_dataset(table, missing={"SS": [99]}, cmt_map={1: "depot", 2: "central"})
    pop = PopulationModel.from_dict({
        "parameters": {n: {"initial": s, "random": True, "omega": 0.5} for n, s in (("CL", 3.0), ("V", 50.0),
                                                                                    ("KA", 1.5))},
        "observe": {"DV": "CP"}, "error": "exponential", "ignore_columns": ["V", "CL", "KA"]})
    truth = read_dataset(table, missing={"SS": [99]}, cmt_map={1: "depot", 2: "central"})  # true V, CL, KA columns
    return qsp.Model.from_file(MODELS / "one_cpt_oral.ant"), data, pop, {"kernels": (1, 1, 1)}, truth


def pembro_case():
    sys.path.insert(0, str(ROOT))
    from tests.test_nlme_shipped import OPTIONS, POPULATION, study

    events, _ = study(30, 0.1)
    data = read_dataset(events, cmt_map={1: "A1"})
    return (qsp.load_model("pembro_bev"), data, PopulationModel.from_dict(POPULATION),
            {"kernels": (1, 1, 1), **OPTIONS}, data)


def raw_rate(model, data, fit, backend, options) -> float:
    """Subjects per second of simulate_dataset on ``data`` (at its true columns, else the fit's modes)."""
    if data is None:
        table = data_with_modes(fit)
        data = read_dataset(table, cmt_map=fit.problem.dataset.cmt_map)
    sim_options = {k: v for k, v in options.items() if k in ("rtol", "atol")}
    output = list(fit.population.observe.values())[0]
    simulate_dataset(model, data, output, backend=backend, **sim_options)  # warm
    start = time.perf_counter()
    simulate_dataset(model, data, output, backend=backend, **sim_options)
    return len(data.subjects) / (time.perf_counter() - start)


def data_with_modes(fit) -> pd.DataFrame:
    table = fit.problem.dataset.to_pandas()
    modes = fit.ebes[[fit.ebes.columns[0], *fit.population.names]].rename(columns={fit.ebes.columns[0]: "ID"})
    return table.merge(modes, on="ID", how="left")


def raw_theo_loop(fit, rounds: int = 100) -> float:
    """Subjects per second of a plain libRoadRunner loop over theo_sd at the fitted modes."""
    import roadrunner

    rr = roadrunner.RoadRunner(qsp.Model.from_file(MODELS / "one_cpt_oral.ant").sbml)
    rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = fit.problem.job.rtol, fit.problem.job.atol
    rr.timeCourseSelections = ["time", "CP"]
    table = pd.read_csv(DATA / "theo_sd.csv")
    modes = fit.ebes.set_index(fit.ebes.columns[0])
    subjects = []
    for sid, g in table.groupby("ID"):
        obs = np.unique(np.r_[0.0, g.loc[g["EVID"] == 0, "TIME"].to_numpy(float)])
        amt = float(g.loc[g["EVID"] != 0, "AMT"].iloc[0])
        subjects.append((amt, obs, modes.loc[sid, ["KA", "CL", "V"]].to_numpy()))
    start = time.perf_counter()
    for _ in range(rounds):
        for amt, obs, (ka, cl, v) in subjects:
            rr.resetAll()
            rr["KA"], rr["CL"], rr["V"] = ka, cl, v
            rr["depot"] = amt
            rr.simulate(times=obs)
    return rounds * len(subjects) / (time.perf_counter() - start)


def bench(name, case, iterations, workers, repeats, posthoc):
    model, data, pop, options, truth = case()
    walls, rates, sims, fits = [], [], [], []
    for _ in range(repeats):
        backend = qsp.ensemble.ProcessBackend(workers)
        try:
            fit = saem(model, data, pop, seed=1, iterations=iterations, is_samples=100, backend=backend,
                       standard_errors=posthoc, likelihood=posthoc, **options)
        finally:
            backend.close()
        s = fit.summary()
        walls.append(fit.wall_s)
        rates.append(s["simulations_per_s"])
        sims.append(fit.state.sims)
        fits.append(fit)
    fit = fits[-1]
    backend = qsp.ensemble.ProcessBackend(workers)
    try:
        raw_proc = raw_rate(model, truth, fit, backend, options)
    finally:
        backend.close()
    raw_serial = raw_rate(model, truth, fit, "serial", options)
    row = {"dataset": name, "subjects": fit.n_subjects, "observations": fit.n_observations,
           "iterations": f"{iterations[0]}+{iterations[1]}", "wall_s": statistics.median(walls),
           "estep_simulations": int(statistics.median(sims)), "saem_sims_per_s": statistics.median(rates),
           "dataset_sims_per_s_serial": raw_serial, "dataset_sims_per_s_processes": raw_proc,
           "ratio_saem_to_dataset": statistics.median(rates) / raw_proc}
    row["raw_rr_sims_per_s"] = raw_theo_loop(fit) if name == "theo_sd" else float("nan")
    return row


def profile_oral(subjects: int = 10) -> dict:
    """Shares of one short serial fit's time (E-steps and conditional modes) on Oral_1CPT's first subjects."""
    model, data, pop, options, _ = oral_case()
    ids = list(data.subjects)[:subjects]
    prof = cProfile.Profile()
    prof.enable()
    fit = saem(model, data, pop, seed=1, iterations=(4, 2), burn=2, standard_errors=False, likelihood=False,
               subjects=ids, **options)
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    cum = {f"{Path(k[0]).name}:{k[2]}": v[3] for k, v in stats.stats.items()}
    tot = {f"{Path(k[0]).name}:{k[2]}": v[2] for k, v in stats.stats.items()}
    total = cum["saem.py:saem"]
    sim = sum(v for k, v in tot.items() if "RoadRunner__simulate" in k)
    return {"fit_s": total, "steady_state": cum.get("steady_state.py:periodic_state", 0.0) / total,
            "run_subject": cum.get("subject.py:run_subject", 0.0) / total,
            "cvode_calls": sim / total,
            "integrations_per_sim": next((v[0] for k, v in stats.stats.items() if k[2] == "_simulate"), 0)
            / fit.n_simulations}


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--theo", type=_pair, default=(100, 60), metavar="K1,K2")
    ap.add_argument("--oral", type=_pair, default=(20, 10), metavar="K1,K2")
    ap.add_argument("--pembro", type=_pair, default=(50, 30), metavar="K1,K2")
    ap.add_argument("--only", choices=["theo_sd", "Oral_1CPT", "pembro_bev"], action="append")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--posthoc", action="store_true", help="also time conditional modes, SEs and the llh")
    ap.add_argument("--profile", action="store_true", help="where an Oral_1CPT E-step's time goes")
    args = ap.parse_args(argv)
    cases = {"theo_sd": (theo_case, args.theo), "Oral_1CPT": (oral_case, args.oral),
             "pembro_bev": (pembro_case, args.pembro)}
    rows = [bench(name, case, it, args.workers, args.repeats, args.posthoc)
            for name, (case, it) in cases.items() if not args.only or name in args.only]
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    if args.profile:
        p = profile_oral()
        print(f"\nOral_1CPT, 10 subjects, serial fit of 4+2 iterations ({p['fit_s']:.2f} s): "
              f"{p['run_subject']:.0%} in the dataset simulation (run_subject), {p['steady_state']:.0%} in "
              f"solving the steady state at 216 h, {p['cvode_calls']:.0%} inside libRoadRunner's simulate; "
              f"{p['integrations_per_sim']:.1f} integration calls per simulation")
    return rows


if __name__ == "__main__":
    main()
