"""Peak memory of a streamed ensemble run at 10k and 1M simulations.

Each size runs in a fresh process that streams results to a Parquet
directory (``out=``) with the processes backend; the peak resident set size
(ru_maxrss) of the main process and of the largest worker are reported.
libRoadRunner keeps ~128 bytes per integration call for the life of a
process; the process backend replaces its workers every 50,000 simulations
each, which bounds the workers' growth. Flat memory means the 1M run peaks near the 10k run: results go
to disk chunk by chunk and never pile up. The input parameter table itself
(1M rows x 2 columns = 16 MB) is the only thing that grows.

Run: ``python benchmarks/ensemble_memory.py [--sizes 10000 1000000]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, resource, sys, time
import qsp
from qsp import ensemble
n, out, backend = int(sys.argv[1]), sys.argv[2], sys.argv[3]
m = qsp.Model.from_antimony("model m\n species A = 0; k = 0.2; V = 10\n A => ; k*A\nend")
X = ensemble.sample_parameters({"k": {"low": 0.05, "high": 0.5, "distribution": "loguniform"},
                                "V": {"low": 5, "high": 20, "distribution": "uniform"}}, n, seed=1)
backend = ensemble.ProcessBackend() if backend == "processes" else backend
t = time.perf_counter()
res = ensemble.run(m, X, regimens={"bolus": [qsp.Dose("A", 100)]}, metrics=["cmax:A", "auc:A"], t_end=24,
                   points=5, backend=backend, chunk_size=2000, out=out, progress=False)
wall = time.perf_counter() - t
if hasattr(backend, "close"):
    backend.close()  # reap the workers so their peak RSS is counted below
print(json.dumps({"n": n, "rows": len(res), "failed": res.n_failed, "wall_s": wall,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--backend", default="processes", choices=["serial", "processes"])
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "-c", CHILD, str(n), f"{d}/out.parquet", args.backend],
                               capture_output=True, text=True, check=True)
            row = json.loads(p.stdout.strip().splitlines()[-1])
            row["process_s"] = time.perf_counter() - t
            rows.append(row)
            print(f"{n:>9} sims: peak RSS main {row['peak_rss_mb']:7.1f} MB, largest worker "
                  f"{row['worker_peak_rss_mb']:7.1f} MB, run {row['wall_s']:6.1f} s, {row['rows']} rows, "
                  f"{row['failed']} failed")
    return rows


if __name__ == "__main__":
    main()
