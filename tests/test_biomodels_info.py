"""Units, counts and `qsp info` on real BioModels files (SBML Level 2, written by others)."""

import functools
import json
from pathlib import Path

import libsbml
import pytest

import qsp
from qsp import cli

BIOMODELS = Path(__file__).resolve().parents[2] / "shared" / "references" / "biomodels"

pytestmark = pytest.mark.skipif(not BIOMODELS.is_dir(), reason="BioModels reference files not found")

#: Small enough to load quickly (BIOMD0000000255, 504 species, takes seconds to compile).
FILES = ["BIOMD0000000010", "BIOMD0000000019", "BIOMD0000000056", "BIOMD0000000290", "BIOMD0000000321",
         "BIOMD0000000407", "BIOMD0000000434"]


@functools.cache
def load(name: str) -> qsp.Model:
    return qsp.Model.from_file(BIOMODELS / f"{name}.xml")


def _seconds_per_time_unit(name: str) -> float | None:
    """What the file's `time` unit definition says one time unit is, in seconds (None: not redefined)."""
    model = libsbml.readSBMLFromFile(str(BIOMODELS / f"{name}.xml")).getModel()
    ud = model.getUnitDefinition("time")
    if ud is None:
        return None
    (u,) = list(ud.getListOfUnits())
    assert u.getKind() == libsbml.UNIT_KIND_SECOND and u.getExponent() == 1
    return u.getMultiplier() * 10.0 ** u.getScale()


@pytest.mark.parametrize("name,expected", [
    ("BIOMD0000000056", "minute"), ("BIOMD0000000290", "day"), ("BIOMD0000000321", "hour"),
    ("BIOMD0000000434", "day"), ("BIOMD0000000019", "minute"), ("BIOMD0000000010", "second"),
    ("BIOMD0000000407", "second"),
])
def test_level2_time_units(name, expected):
    seconds = _seconds_per_time_unit(name)
    assert (seconds or 1.0) == {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[expected]
    m = load(name)
    assert m.time_unit == expected
    assert m.simulate(1, points=2, outputs=m.outputs[:1]).time_unit == expected


@pytest.mark.parametrize("name", FILES)
def test_repr_counts_match_the_tables(name):
    m = load(name)
    n_boundary = int(m.species["boundary_condition"].sum())
    species = f"{len(m.species)} species" + (f" ({n_boundary} boundary)" if n_boundary else "")
    assert repr(m) == f"Model({name!r}: {species}, {len(m.parameters)} parameters, {len(m.reactions)} reactions)"


def test_boundary_species_are_counted_and_carry_units():
    m = load("BIOMD0000000290")
    assert repr(m).startswith("Model('BIOMD0000000290': 5 species (1 boundary),")
    boundary = m.species.index[m.species["boundary_condition"]].tolist()
    assert boundary == ["A_im"]
    res = m.simulate(5, points=3, outputs=["A", "A_im", "[A]", "r1a"])
    # substance is redefined as item, volume is the Level 2 default litre, time is redefined as the day
    assert res.units == {"A": "item", "A_im": "item", "[A]": "item/L", "r1a": "item/day"}
    assert m.species.loc["A", "quantity"] == "amount" and m.species.loc["A", "units"] == "item"


def test_redefined_substance_reads_from_its_definition_not_its_name():
    """BIOMD0000000321 names its `substance` 'micromole' but defines it as 1e-9 mole."""
    m = load("BIOMD0000000321")
    ud = m._doc.getModel().getUnitDefinition("substance")
    assert ud.getName() == "micromole" and ud.getUnit(0).getScale() == -9
    assert m.simulate(1, points=2, outputs=["A_dopa"]).units == {"A_dopa": "nmol"}
    assert m.parameters.loc["CL_dopa0", "units"] == "L/h"


def test_info_text_and_json_report_the_time_unit(capfd, monkeypatch):
    monkeypatch.setattr(cli, "ANALYSIS_COMMANDS", type(cli.ANALYSIS_COMMANDS)())  # core subcommands only
    path = str(BIOMODELS / "BIOMD0000000056.xml")
    assert cli.main(["info", path]) == 0
    out = capfd.readouterr().out
    m = load("BIOMD0000000056")
    assert out.splitlines()[:2] == [repr(m), "time unit: minute"]
    assert f"species ({len(m.species)})" in out and f"parameters ({len(m.parameters)})" in out
    assert cli.main(["info", "--format", "json", path]) == 0
    data = json.loads(capfd.readouterr().out)
    assert data["time_unit"] == "minute" and len(data["species"]) == len(m.species)
    # amounts (hasOnlySubstanceUnits) in the Level 2 default substance unit, the mole
    assert {(r["quantity"], r["units"]) for r in data["species"]} == {("amount", "mol")}
