"""Build ``trimeric.xml`` (SBML Level 3 Version 2) from ``trimeric.ant``.

Run from anywhere::

    python sbml_models/build_trimeric.py           # write the XML
    python sbml_models/build_trimeric.py --check   # exit 1 if the XML on disk differs from a fresh build

Steps shared by all shipped models are in ``_build.py``; this file holds the model's SBO terms.
"""

from __future__ import annotations

import sys

import libsbml
from qsp.sbml_models._build import (
    SBO_BINDING,
    SBO_COMPLEX,
    SBO_CONCENTRATION,
    SBO_DEGRADATION,
    SBO_DISSOCIATION_CONSTANT,
    SBO_FORWARD_RATE_CONSTANT,
    SBO_KINETIC_CONSTANT,
    SBO_PARAMETER,
    SBO_PRODUCTION,
    SBO_PROTEIN,
    SBO_REVERSE_RATE_CONSTANT,
    SBO_TRANSPORT,
)
from qsp.sbml_models._build import build as build_model
from qsp.sbml_models._build import main as build_main

SPECIES_SBO = {
    "Cp": SBO_PROTEIN,
    "Cper": SBO_PROTEIN,
    "D": SBO_PROTEIN,
    "A": SBO_PROTEIN,
    "B": SBO_PROTEIN,
    "DA": SBO_COMPLEX,
    "DB": SBO_COMPLEX,
    "ADB": SBO_COMPLEX,
}

PARAMETER_SBO = {
    "CL": SBO_KINETIC_CONSTANT,
    "Q": SBO_KINETIC_CONSTANT,
    "k_T": SBO_KINETIC_CONSTANT,
    "f_T": SBO_PARAMETER,
    "A0": SBO_CONCENTRATION,
    "B0": SBO_CONCENTRATION,
    "D0": SBO_CONCENTRATION,
    "kdegA": SBO_KINETIC_CONSTANT,
    "kdegB": SBO_KINETIC_CONSTANT,
    "kintA": SBO_KINETIC_CONSTANT,
    "kintB": SBO_KINETIC_CONSTANT,
    "kintAB": SBO_KINETIC_CONSTANT,
    "kon1": SBO_FORWARD_RATE_CONSTANT,
    "kon2": SBO_FORWARD_RATE_CONSTANT,
    "kon3": SBO_FORWARD_RATE_CONSTANT,
    "kon4": SBO_FORWARD_RATE_CONSTANT,
    "koff1": SBO_REVERSE_RATE_CONSTANT,
    "koff2": SBO_REVERSE_RATE_CONSTANT,
    "koff3": SBO_REVERSE_RATE_CONSTANT,
    "koff4": SBO_REVERSE_RATE_CONSTANT,
    "KD1": SBO_DISSOCIATION_CONSTANT,
    "KD2": SBO_DISSOCIATION_CONSTANT,
    "alpha": SBO_PARAMETER,
    "ksynA": SBO_KINETIC_CONSTANT,
    "ksynB": SBO_KINETIC_CONSTANT,
}

REACTION_SBO = {
    "J_clear": SBO_DEGRADATION,
    "J_periph": SBO_TRANSPORT,
    "J_tumour": SBO_TRANSPORT,
    "v1_bind_A": SBO_BINDING,
    "v2_bind_B": SBO_BINDING,
    "v3_DA_B": SBO_BINDING,
    "v4_DB_A": SBO_BINDING,
    "syn_A": SBO_PRODUCTION,
    "deg_A": SBO_DEGRADATION,
    "syn_B": SBO_PRODUCTION,
    "deg_B": SBO_DEGRADATION,
    "int_DA": SBO_DEGRADATION,
    "int_DB": SBO_DEGRADATION,
    "int_ADB": SBO_DEGRADATION,
}


def annotate(model: libsbml.Model) -> None:
    """SBO terms of species, parameters and reactions, in place."""
    for s in model.getListOfSpecies():
        s.setSBOTerm(SPECIES_SBO[s.getId()])
    for p in model.getListOfParameters():
        if p.getId() in PARAMETER_SBO:
            p.setSBOTerm(PARAMETER_SBO[p.getId()])
    for r in model.getListOfReactions():
        r.setSBOTerm(REACTION_SBO[r.getId()])


def build() -> str:
    """The checked SBML text (raises on any libSBML error)."""
    return build_model("trimeric", title="Bispecific trimeric complex (FAP x 4-1BB) with two-compartment PK, RECON-v0",
                       time_units="day", annotate=annotate, dimensionless_numbers=False, strict=False)


if __name__ == "__main__":
    sys.exit(build_main("trimeric", build))
