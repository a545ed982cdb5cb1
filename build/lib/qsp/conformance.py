"""Run the SBML Test Suite's semantic TimeCourse cases through qsp's public API.

Each case is loaded with :meth:`qsp.Model.from_file`, simulated with
:meth:`qsp.Model.simulate` at the case's output times, and compared with the
expected results by the suite's rule ``|U - C| <= absolute + relative * |C|``
at every point. A case that qsp refuses with :class:`UnsupportedModelError`
is recorded as ``unsupported`` with the construct named.

Usage: ``python -m qsp.conformance CASES_DIR [--out results.csv] [--every N] [--jobs N]``
"""

from __future__ import annotations

import argparse
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

__all__ = ["case_ids", "run_case", "run_suite"]

#: Integrator tolerances used for the suite (tighter than the simulate() default).
RTOL, ATOL = 1e-10, 1e-14


def _settings(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            out[key.strip()] = value.strip()
    return out


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def case_ids(cases_dir: str | Path) -> list[str]:
    """Ids of the TimeCourse cases under ``cases_dir``, sorted."""
    out = []
    for d in sorted(Path(cases_dir).iterdir()):
        tags = d / f"{d.name}-tags.txt"
        if tags.exists() and "TimeCourse" in tags.read_text():
            out.append(d.name)
    return out


def _expected(path: Path) -> tuple[list[str], np.ndarray]:
    lines = path.read_text().strip().splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    rows = [[float(x) for x in line.split(",")] for line in lines[1:]]
    return header, np.array(rows, dtype=float)


def run_case(cases_dir: str | Path, case: str, *, rtol: float = RTOL, atol: float = ATOL) -> dict:
    """Run one case; returns a dict with case, status and detail.

    Status: ``pass``; ``fail`` (values outside the suite's tolerances); ``unsupported`` (refused on load,
    naming the construct); ``refused`` (a clear QSPError about what the case asks for, e.g. an output
    qsp cannot select); ``crash`` (any other exception: a bug).
    """
    from .errors import QSPError, UnsupportedModelError
    from .model import Model

    d = Path(cases_dir) / case
    settings = _settings(d / f"{case}-settings.txt")
    header, expected = _expected(d / f"{case}-results.csv")
    amounts = set(_names(settings.get("amount", "")))
    concentrations = set(_names(settings.get("concentration", "")))
    variables = _names(settings["variables"])
    selectors = [f"[{v}]" if v in concentrations else v for v in variables]
    t0 = float(settings.get("start") or 0)
    t1 = t0 + float(settings["duration"])
    steps = int(settings["steps"])
    out = {"case": case, "status": "", "construct": "", "max_violation": np.nan, "detail": ""}
    try:
        model = Model.from_file(d / f"{case}-sbml.xml")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.simulate(t1, t_start=t0, points=steps + 1, outputs=selectors, rtol=rtol, atol=atol)
    except UnsupportedModelError as exc:
        out.update(status="unsupported", construct=exc.construct, detail=str(exc))
        return out
    except QSPError as exc:
        out.update(status="refused", detail=f"{type(exc).__name__}: {exc}"[:300])
        return out
    except Exception as exc:  # a qsp bug: record it, do not stop the suite
        out.update(status="crash", detail=f"{type(exc).__name__}: {exc}"[:300])
        return out
    del amounts
    col = {h: i for i, h in enumerate(header)}
    worst = 0.0
    for v, sel in zip(variables, selectors):
        c = expected[:, col[v]]
        u = res[sel]
        finite = np.isfinite(c)
        same_nonfinite = (~finite) & ((np.isnan(c) & np.isnan(u)) | (c == u))
        if not (finite | same_nonfinite).all():
            out.update(status="fail", detail=f"{v}: non-finite mismatch")
            return out
        err = np.abs(u[finite] - c[finite]) - (float(settings["absolute"]) + float(settings["relative"])
                                               * np.abs(c[finite]))
        err = np.where(np.isnan(err), np.inf, err)
        if err.size:
            worst = max(worst, float(err.max()))
    out["max_violation"] = worst
    out["status"] = "pass" if worst <= 0 else "fail"
    return out


def _run_one(args):
    return run_case(*args)


def run_suite(cases_dir: str | Path, cases: list[str] | None = None, *, jobs: int = 1):
    """Run many cases (in ``jobs`` processes) and return a DataFrame, one row per case."""
    import pandas as pd

    cases = case_ids(cases_dir) if cases is None else cases
    work = [(str(cases_dir), c) for c in cases]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            rows = list(pool.map(_run_one, work, chunksize=8))
    else:
        rows = [_run_one(w) for w in work]
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    import os

    p = argparse.ArgumentParser(prog="python -m qsp.conformance", description=__doc__.splitlines()[0])
    p.add_argument("cases_dir")
    p.add_argument("--out", help="CSV file for per-case results")
    p.add_argument("--every", type=int, default=1, help="run every Nth case only")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)
    if not Path(args.cases_dir).is_dir():
        print(f"qsp: error: {args.cases_dir!r} is not a directory", file=sys.stderr)
        return 1
    cases = case_ids(args.cases_dir)[:: args.every]
    df = run_suite(args.cases_dir, cases, jobs=args.jobs)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(args.out, index=False)
    counts = df["status"].value_counts().to_dict()
    print(f"{len(df)} TimeCourse cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    unsupported = df[df.status == "unsupported"]["construct"].value_counts().to_dict()
    if unsupported:
        print("unsupported: " + ", ".join(f"{k} {v}" for k, v in unsupported.items()))
    for _, row in df[df.status.isin(["fail", "refused", "crash"])].iterrows():
        print(f"  {row.case} {row.status}: {row.detail or row.max_violation}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
