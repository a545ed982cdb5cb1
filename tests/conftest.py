"""Shared fixtures: small models with closed-form solutions."""

from pathlib import Path

import pytest

import qsp

SUITE = Path(__file__).resolve().parents[2] / "shared" / "sbml-test-suite" / "cases"

#: One-compartment IV model: V = 10 L, amount A in umol, k = 0.2 /h, time in h.
PK1_ANTIMONY = """
model pk1
  unit substance = 1e-6 mole
  unit time_unit = 3600 second
  unit volume = litre
  unit umol = 1e-6 mole
  unit per_hour = 1 / 3600 second
  compartment V = 10 litre
  species A in V = 0
  k = 0.2 per_hour
  elimination: A -> ; k * A * V
end
"""


@pytest.fixture(scope="session")
def pk1_text():
    return PK1_ANTIMONY


@pytest.fixture()
def pk1():
    return qsp.Model.from_antimony(PK1_ANTIMONY)


@pytest.fixture(scope="session")
def suite_dir():
    if not SUITE.is_dir():
        pytest.skip(f"SBML Test Suite not found at {SUITE}")
    return SUITE


BIOMODELS = Path(__file__).resolve().parents[2] / "shared" / "references" / "biomodels"


@pytest.fixture(scope="session")
def biomodels():
    if not BIOMODELS.is_dir():
        pytest.skip(f"BioModels files not found at {BIOMODELS}")
    return BIOMODELS
