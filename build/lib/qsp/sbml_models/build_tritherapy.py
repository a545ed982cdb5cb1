"""Build ``tritherapy.xml`` (SBML Level 3 Version 2) from ``tritherapy.ant``.

Run from the repository root with the project's environment::

    .venv/bin/python sbml_models/build_tritherapy.py           # write the XML
    .venv/bin/python sbml_models/build_tritherapy.py --check   # exit 1 if the XML on disk differs from a fresh build

Steps shared by all shipped models are in ``_build.py``; this file holds what is particular to the model:
its SBO terms and the substance units of its species (cells, dimensionless PD-L1, nmol).
"""

from __future__ import annotations

import sys

import libsbml
from qsp.sbml_models._build import (
    SBO_CELL,
    SBO_DEGRADATION,
    SBO_DRUG,
    SBO_KINETIC_CONSTANT,
    SBO_PARAMETER,
    SBO_PROTEIN,
    SBO_TRANSPORT,
)
from qsp.sbml_models._build import build as build_model
from qsp.sbml_models._build import main as build_main

SUBSTANCE_UNITS = {"nTeff": "cell", "dTeff": "cell", "PDL1": "dimensionless", "A_ip": "nmol", "A_c": "nmol",
                   "DDRi_gut": "nmol", "DDRi_c": "nmol"}
SPECIES_SBO = {"nTeff": SBO_CELL, "dTeff": SBO_CELL, "PDL1": SBO_PROTEIN, "A_ip": SBO_PROTEIN,
               "A_c": SBO_PROTEIN, "DDRi_gut": SBO_DRUG, "DDRi_c": SBO_DRUG}
REACTION_SBO = {"mAb_absorption": SBO_TRANSPORT, "mAb_elimination": SBO_DEGRADATION,
                "DDRi_absorption": SBO_TRANSPORT, "DDRi_presystemic_loss": SBO_DEGRADATION,
                "DDRi_elimination": SBO_DEGRADATION}


TITLE = "Tritherapy: RT + anti-PD-L1 + DDRi (Kosinsky 2018 base + switchable DDRi module)"


def annotate(model: libsbml.Model) -> None:
    """Species substance units and SBO terms of species, reactions and parameters, in place."""
    for s in model.getListOfSpecies():
        s.setSubstanceUnits(SUBSTANCE_UNITS[s.getId()])
        s.setSBOTerm(SPECIES_SBO[s.getId()])
    for r in model.getListOfReactions():
        r.setSBOTerm(REACTION_SBO[r.getId()])
    for p in model.getListOfParameters():
        p.setSBOTerm(SBO_KINETIC_CONSTANT if p.getConstant() else SBO_PARAMETER)


def build() -> str:
    """The checked SBML text (raises on any libSBML error or warning)."""
    return build_model("tritherapy", title=TITLE, time_units="day", annotate=annotate)


if __name__ == "__main__":
    sys.exit(build_main("tritherapy", build))
