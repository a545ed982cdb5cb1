"""Multi-start fits of PEtab benchmark problems: qsp against pyPESTO + AMICI, from the same start points.

For each problem (from ``shared/references/petab-benchmark``) both tools start from the same
``--starts`` Latin-hypercube points (``seed``), drawn by ``ParameterSpace.sample``, on the parameter
scale within the bounds:

* qsp: ``fit(PetabObjective.from_yaml(...), method=M, backend="processes")`` on all cores (``--method``,
  default ``"fides"``: trust region with the Fisher-information Hessian; ``"lbfgsb"``);
* pyPESTO + AMICI: ``pypesto.optimize.minimize`` with fides (``FidesOptimizer``, its default Hessian
  scheme), in the peer's own Python (``--peer-python``, a separate environment; see
  ``benchmarks/_pypesto_fit.py``), on one core (``SingleCoreEngine``) unless ``--peer-processes``.

Reported per tool: the set-up time (model compilation; for pyPESTO apart from the fit, for qsp the
objective in this process, while the workers' own compilation is inside the fit), the
log-likelihood at the nominal parameters, one objective value and one gradient there (median of a
few, after a first call), the fit's wall time, the starts whose final log-likelihood is within
``--tol`` of the best found by either tool and within ``--tol`` of the nominal one (the published
fit, from the collection's README), and the wall time per start reaching the best. Ratios are
qsp / pyPESTO: below 1, qsp is faster. Without the peer, qsp's numbers are printed alone.

Run: ``python benchmarks/fit.py [--problems Boehm_JProteomeRes2014,Fujita_SciSignal2010] [--starts 20]
[--seed 1] [--peer-python /tmp/peer/bin/python] [--json out/fit_bench.json]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PETAB = HERE.parents[1] / "shared" / "references" / "petab-benchmark"
PROBLEMS = "Boehm_JProteomeRes2014,Fujita_SciSignal2010"
PEER = os.environ.get("QSP_PEER_PYTHON", "/tmp/peer/bin/python")


def nominal_llh(root: Path) -> dict[str, float]:
    """``{problem: llh at the nominal parameters}`` from the table in the collection's README."""
    try:
        text = (root / "README.md").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.fullmatch(r"[A-Za-z0-9_]+", cells[0]):
            try:
                out[cells[0]] = float(cells[-1])
            except ValueError:
                pass
    return out


def _median_time(fn, repeats: int) -> float:
    """Median seconds of ``fn(k)`` for k = 1..repeats."""
    times = []
    for k in range(1, repeats + 1):
        t = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------- qsp
@contextlib.contextmanager
def _silenced(on: bool):
    """Point file descriptors 1 and 2 at /dev/null inside the block (worker processes started there
    keep them): CVODE writes its step-size messages from bad start points straight to stdout."""
    if not on:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def run_qsp(yaml: Path, starts: int, seed: int, quiet: bool = True, method: str = "fides") -> dict:
    import numpy as np

    from qsp.fit import FitError, PetabObjective, fit

    t0 = time.perf_counter()
    objective = PetabObjective.from_yaml(yaml)
    setup_s = time.perf_counter() - t0
    x = objective.space.nominal
    nominal_nllh = float(objective.nllh(x))
    objective.gradient(x)
    # each call at a point of its own (1e-9 apart on the parameter scale), so no kept simulation is reused
    nllh_s = _median_time(lambda k: objective.nllh(x + 1e-9 * k), 5)
    grad_s = _median_time(lambda k: objective.gradient(x - 1e-9 * k), 3)
    points = objective.space.sample(starts, seed)  # the points fit() draws for (starts, seed)
    try:
        with _silenced(quiet):
            res = fit(objective, starts=starts, seed=seed, method=method, backend="processes", progress=False)
    except FitError as exc:  # every start failed: still a row of the table
        res = exc.result
    table = res.starts
    ok = table["status"] != "failed"
    nllh = table["nllh"].to_numpy(dtype=float)
    return {
        "setup_s": setup_s, "nominal_nllh": nominal_nllh, "nllh_s": nllh_s, "gradient_s": grad_s,
        "wall_s": res.wall_s, "nllh": [v if math.isfinite(v) else None for v in nllh.tolist()],
        "n_failed": int((~ok).sum()), "n_own": int((table["status"] == "converged").sum()),
        "messages": {str(k): int(v) for k, v in table["optimizer_message"].value_counts().items()},
        "n_evals": float(np.median(table["n_evals"])), "n_grad": float(np.median(table["n_grad"])),
        "engine": f"backend='processes', {os.cpu_count()} workers",
        "optimizer": f"{method}; gradient: {type(objective).gradient.__qualname__}",
        "ids": list(objective.space.ids), "points": points.tolist(),
    }


# ---------------------------------------------------------------------------------------------- peer
def peer_available(python: str) -> tuple[bool, str]:
    if not (python and os.path.isfile(python) and os.access(python, os.X_OK)):
        return False, f"no Python at {python}"
    try:
        p = subprocess.run([python, "-c", "import pypesto, amici, fides, petab; print(pypesto.__version__, "
                                          "amici.__version__)"], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{python}: {exc}"
    if p.returncode:
        last = (p.stderr.strip().splitlines() or ["import failed"])[-1]
        return False, f"{python}: {last}"
    return True, p.stdout.strip()


def run_peer(python: str, yaml: Path, q: dict, seed: int, model_root: Path, processes: int,
             timeout: float) -> dict:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(python) + os.pathsep + env.get("PATH", "")  # swig, for compiling the model
    with tempfile.TemporaryDirectory(prefix="qsp-bench-") as tmp:
        starts_file, out = os.path.join(tmp, "starts.json"), os.path.join(tmp, "result.json")
        with open(starts_file, "w") as fh:
            json.dump({"ids": q["ids"], "points": q["points"]}, fh)
        cmd = [python, str(HERE / "_pypesto_fit.py"), "--yaml", str(yaml), "--starts-file", starts_file,
               "--out", out, "--model-dir", str(model_root / yaml.stem), "--seed", str(seed),
               "--processes", str(processes)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp, env=env)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:g} s"}
        if p.returncode or not os.path.exists(out):
            tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-15:])
            return {"error": f"exit status {p.returncode}:\n{tail}"}
        with open(out) as fh:
            r = json.load(fh)
    r["nllh"] = [s["nllh"] for s in r["starts"]]
    r["n_failed"] = sum(s["nllh"] is None for s in r["starts"])
    r["n_own"] = sum((s["exitflag"] or 0) > 0 for s in r["starts"])  # fides: FTOL, XTOL or GTOL met
    r["messages"] = {}
    for s in r["starts"]:
        r["messages"][s["message"]] = r["messages"].get(s["message"], 0) + 1
    r["n_evals"] = statistics.median([s["n_fval"] or 0 for s in r["starts"]]) if r["starts"] else math.nan
    r["n_grad"] = statistics.median([s["n_grad"] or 0 for s in r["starts"]]) if r["starts"] else math.nan
    v = r.get("versions", {})
    r["engine"] = f"{r['engine']} (pyPESTO {v.get('pypesto', '?')}, AMICI {v.get('amici', '?')})"
    r["setup_s"] = r.pop("compile_s")
    return r


# ---------------------------------------------------------------------------------------------- report
def _count(nllh: list, threshold: float) -> int:
    """Starts whose final llh is at least ``threshold``."""
    return sum(1 for v in nllh if v is not None and -v >= threshold)


def _fmt(v, spec=".3g") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, spec) if isinstance(v, (int, float)) else str(v)


def _ratio(a, b) -> str:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return "-"
    return f"{a / b:.3g}"


def summarize(name: str, q: dict, peer: dict | None, nominal: float | None, tol: float) -> dict:
    tools = {"qsp": q} | ({"pyPESTO": peer} if peer else {})
    best = max(-min(v for v in t["nllh"] if v is not None) if any(v is not None for v in t["nllh"]) else -math.inf
               for t in tools.values())
    for t in tools.values():
        finite = [v for v in t["nllh"] if v is not None]
        t["best_llh"] = -min(finite) if finite else math.nan
        t["n_best"] = _count(t["nllh"], best - tol)
        t["n_nominal"] = _count(t["nllh"], nominal - tol) if nominal is not None else None
        t["per_converged_s"] = t["wall_s"] / t["n_best"] if t["n_best"] else math.inf
    return {"problem": name, "best_llh_either": best, "nominal_llh": nominal, "tools": tools}


def print_table(s: dict, n_starts: int, seed: int, tol: float) -> None:
    q, p = s["tools"]["qsp"], s["tools"].get("pyPESTO")
    nom = s["nominal_llh"]
    print(f"\n{s['problem']}: {len(q['ids'])} estimated parameters, {n_starts} starts (seed {seed}); "
          f"best llh of either tool {s['best_llh_either']:.3f}; nominal llh {_fmt(nom, '.3f')}")
    rows = [
        ("set-up / compilation, s", q["setup_s"], p and p["setup_s"], ".3g", True),
        ("llh at nominal", -q["nominal_nllh"], p and -p["nominal_nllh"], ".4f", False),
        ("one objective value, ms", 1e3 * q["nllh_s"], p and 1e3 * p["nllh_s"], ".3g", True),
        ("one gradient, ms", 1e3 * q["gradient_s"], p and 1e3 * p["gradient_s"], ".3g", True),
        ("fit wall time, s", q["wall_s"], p and p["wall_s"], ".3g", True),
        ("best llh", q["best_llh"], p and p["best_llh"], ".3f", False),
        (f"starts within {tol:g} of best", q["n_best"], p and p["n_best"], "d", True),
        (f"starts within {tol:g} of nominal", q["n_nominal"], p and p["n_nominal"], "d", True),
        ("failed starts", q["n_failed"], p and p["n_failed"], "d", False),
        ("optimiser's own criterion met", q["n_own"], p and p["n_own"], "d", False),
        ("median f / grad evals per start", f"{q['n_evals']:.0f} / {q['n_grad']:.0f}",
         p and f"{p['n_evals']:.0f} / {p['n_grad']:.0f}", "", False),
        ("wall s per converged start", q["per_converged_s"], p and p["per_converged_s"], ".3g", True),
    ]
    w = 34
    print(f"  {'':{w}} {'qsp':>14} {'pyPESTO+AMICI':>14} {'qsp/pyPESTO':>12}")
    for label, a, b, spec, ratio in rows:
        r = _ratio(a, b) if (ratio and p and isinstance(a, (int, float))) else ""
        print(f"  {label:{w}} {_fmt(a, spec):>14} {_fmt(b, spec) if p else 'n/a':>14} {r:>12}")
    print(f"  qsp:     {q['engine']}; {q['optimizer']}")
    if p:
        print(f"  pyPESTO: {p['engine']}; {p['optimizer']}; AMICI compilation "
              f"{'reused from an earlier run' if p.get('compile_reused') else 'included in set-up'}")
    for tool, t in (("qsp", q), ("pyPESTO", p)):
        if t:
            common = sorted(t["messages"].items(), key=lambda kv: -kv[1])[:3]
            print(f"  {tool} stops: " + "; ".join(f"{n}x {m[:70] or '-'}" for m, n in common))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default=PROBLEMS, help="comma-separated problem folders")
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tol", type=float, default=0.1, help="llh distance counted as reaching the best")
    ap.add_argument("--method", default="fides", help="qsp's optimiser (qsp.fit.fit method=; default fides)")
    ap.add_argument("--peer-python", default=PEER, help="Python of the environment with pypesto and amici")
    ap.add_argument("--peer-processes", type=int, default=1, help="pyPESTO engine processes (1: SingleCoreEngine)")
    ap.add_argument("--peer-timeout", type=float, default=7200, help="seconds per problem for the peer")
    ap.add_argument("--model-dir", default=os.path.join(tempfile.gettempdir(), "qsp-bench-amici"),
                    help="where AMICI compiles the models (kept, reused by later runs)")
    ap.add_argument("--root", default=str(PETAB), help="folder of the PEtab problems")
    ap.add_argument("--json", default=None, help="also write every number to this JSON file")
    ap.add_argument("--solver-output", action="store_true",
                    help="let the solvers' messages during qsp's fit through (hidden by default)")
    args = ap.parse_args()

    root = Path(args.root)
    nominal = nominal_llh(root)
    have_peer, peer_info = peer_available(args.peer_python)
    print(f"qsp: {os.cpu_count()} cores; peer: " + (f"pyPESTO/AMICI {peer_info} at {args.peer_python}" if have_peer
                                                      else f"pyPESTO + AMICI not found ({peer_info})"))
    summaries = []
    for name in [p.strip() for p in args.problems.split(",") if p.strip()]:
        yaml = root / name / f"{name}.yaml"
        if not yaml.exists():
            print(f"\n{name}: no {yaml}; skipped")
            continue
        q = run_qsp(yaml, args.starts, args.seed, quiet=not args.solver_output, method=args.method)
        peer = None
        if have_peer:
            peer = run_peer(args.peer_python, yaml, q, args.seed, Path(args.model_dir), args.peer_processes,
                            args.peer_timeout)
            if "error" in peer:
                print(f"\n{name}: pyPESTO + AMICI failed: {peer['error']}")
                peer = None
        s = summarize(name, q, peer, nominal.get(name), args.tol)
        print_table(s, args.starts, args.seed, args.tol)
        summaries.append(s)
    if not have_peer:
        print(f"\npyPESTO + AMICI not found ({peer_info}); only qsp's numbers are shown. Install the peer in its own "
              "environment (python3 -m venv /tmp/peer && /tmp/peer/bin/pip install pypesto amici fides petab swig) "
              "and pass --peer-python.")
    if args.json:
        for s in summaries:
            for t in s["tools"].values():
                t.pop("points", None)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summaries, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
