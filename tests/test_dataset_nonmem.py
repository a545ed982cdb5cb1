"""Dataset simulation against NONMEM 7's own output for the 29-subject dosing event table.

The table (../shared/references/data/nonmem-dosing/1001-data.csv) covers boluses and infusions into
the depot and the central compartment, ADDL, SS 1 and 2, steady-state infusions longer than the
interval, a steady-state constant infusion, lag times, bioavailability, modelled rate and duration,
EVID 3 and 4 resets. NONMEM's CP is printed with 5 significant digits.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.datasets import read_dataset, simulate_dataset

DATA = Path(__file__).resolve().parents[2] / "shared" / "references" / "data" / "nonmem-dosing"
MODEL = Path(__file__).resolve().parent / "models" / "nonmem_1001.ant"
OPTIONS = dict(lag={"central": "LAGT"}, bioavailability={"central": "BIOAV"},
               modelled_rate={"central": "RAT2"}, modelled_duration={"central": "DUR2"})


@pytest.fixture(scope="module")
def nonmem():
    if not DATA.is_dir():
        pytest.skip(f"reference data not found at {DATA}")
    model = qsp.Model.from_file(MODEL)
    ds = read_dataset(DATA / "1001-data.csv", cmt_map={1: "depot", 2: "central"})
    sim = simulate_dataset(model, ds, "CP", **OPTIONS)
    ref = pd.read_csv(DATA / "1001-nonmem.csv")
    return ds, sim, ref


def test_every_observation_row_matches_nonmem(nonmem):
    ds, sim, ref = nonmem
    table = sim.table
    assert len(table) == len(ref) == 3837
    assert np.array_equal(table["ID"].to_numpy(), ref["ID"].to_numpy())
    assert np.array_equal(table["TIME"].to_numpy(), ref["TIME"].to_numpy())
    obs = table["EVID"].to_numpy() == 0
    assert obs.sum() == 3799
    cp, want = table["CP"].to_numpy()[obs], ref["CP"].to_numpy()[obs]
    zero = want == 0
    assert np.all(np.abs(cp[zero]) <= 1e-6)
    rel = np.abs(cp[~zero] - want[~zero]) / np.abs(want[~zero])
    assert rel.max() < 1e-4, (rel.max(), np.argmax(rel))
    assert sim.failures.empty
    assert table.loc[~obs, "CP"].isna().all()          # dose rows get no output


def test_steady_state_records_report_convergence(nonmem):
    _, sim, _ = nonmem
    ss = sim.steady_state
    # SS 1 or 2 rows: subjects 9-15, 19, 21-25 (three in 25), 28 (two), 29
    assert len(ss) == 18
    assert ss["converged"].all()
    assert (ss["residual"] <= 1e-6).all()
    assert set(ss["ID"]) == {9, 10, 11, 12, 13, 14, 15, 19, 21, 22, 23, 24, 25, 28, 29}


def test_processes_backend_gives_the_same_table(nonmem):
    ds, sim, _ = nonmem
    model = qsp.Model.from_file(MODEL)
    again = simulate_dataset(model, ds, "CP", backend="processes", chunk_size=4, **OPTIONS)
    assert np.allclose(again.table["CP"], sim.table["CP"], rtol=1e-12, atol=0, equal_nan=True)


def test_every_row_matches_nonmem_with_rows_all(nonmem):
    ds, _, ref = nonmem
    model = qsp.Model.from_file(MODEL)
    sim = simulate_dataset(model, ds, "CP", rows="all", **OPTIONS)
    cp, want = sim.table["CP"].to_numpy(), ref["CP"].to_numpy()
    dose_rows = sim.table["EVID"].to_numpy() != 0
    assert dose_rows.sum() == 38                       # dose and reset rows: the state just after them
    zero = want == 0
    assert np.all(np.abs(cp[zero]) <= 1e-6)
    assert (np.abs(cp[~zero] - want[~zero]) / np.abs(want[~zero])).max() < 1e-4
