"""What `qsp info` costs on a large model, against loading and simulating it.

On BioModels BIOMD0000000255 (504 species): the time to load the model (libRoadRunner compiles it),
to build the six introspection tables `qsp info` prints, and to simulate it once, each the median of
``--repeats`` runs in this process. The tables' cost is reported as a ratio to one simulation; loading
is paid by both `qsp info` and `qsp simulate`.

Run: ``python benchmarks/info.py [--model PATH] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import qsp

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "references" / "biomodels" / "BIOMD0000000255.xml"


def _tables(m) -> int:
    return sum(len(t) for t in (m.species, m.parameters, m.compartments, m.reactions, m.events, m.rules))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    load, tables, sim = [], [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        m = qsp.load_model(args.model)
        t1 = time.perf_counter()
        rows = _tables(m)
        t2 = time.perf_counter()
        m.simulate(100, points=101)
        t3 = time.perf_counter()
        load.append(t1 - t0)
        tables.append(t2 - t1)
        sim.append(t3 - t2)
    med = statistics.median
    print(f"model: {Path(args.model).name}, {rows} table rows, median of {args.repeats}")
    print(f"load (compile) {med(load):.2f} s | info tables {med(tables):.3f} s | one simulation {med(sim):.3f} s")
    print(f"info tables / one simulation: {med(tables) / med(sim):.2f}; (load + tables) / (load + simulation): "
          f"{(med(load) + med(tables)) / (med(load) + med(sim)):.2f}")


if __name__ == "__main__":
    main()
