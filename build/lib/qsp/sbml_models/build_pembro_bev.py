"""Build ``pembro_bev.xml`` (SBML Level 3 Version 2) from ``pembro_bev.ant``.

Run from the repository root with the project's environment::

    .venv/bin/python sbml_models/build_pembro_bev.py           # write the XML
    .venv/bin/python sbml_models/build_pembro_bev.py --check   # exit 1 if the XML on disk differs from a fresh build

Steps shared by all shipped models are in ``_build.py``; this file holds the model's SBO terms.
"""

from __future__ import annotations

import sys

import libsbml
from qsp.sbml_models._build import (
    SBO_DEGRADATION,
    SBO_KINETIC_CONSTANT,
    SBO_PARAMETER,
    SBO_PROTEIN,
    SBO_TRANSPORT,
)
from qsp.sbml_models._build import build as build_model
from qsp.sbml_models._build import main as build_main

SBO_VOLUME = 468  # capacity (volume) parameter

PARAMETER_SBO = {
    "BW": SBO_PARAMETER, "V1_kg": SBO_VOLUME, "V2_kg": SBO_VOLUME, "Vb_kg": SBO_VOLUME,
    "CL1_kg": SBO_KINETIC_CONSTANT, "Q1_kg": SBO_KINETIC_CONSTANT, "CL2_kg": SBO_KINETIC_CONSTANT,
    "ka1": SBO_KINETIC_CONSTANT, "ka2": SBO_KINETIC_CONSTANT, "lambda": SBO_KINETIC_CONSTANT,
    "K": SBO_PARAMETER, "k1": SBO_KINETIC_CONSTANT, "k21": SBO_KINETIC_CONSTANT, "k22": SBO_KINETIC_CONSTANT,
    "k3": SBO_KINETIC_CONSTANT, "x1_0": SBO_PARAMETER, "x1": SBO_PARAMETER, "x2": SBO_PARAMETER,
    "x3": SBO_PARAMETER, "x4": SBO_PARAMETER, "kill": SBO_KINETIC_CONSTANT, "W": SBO_PARAMETER,
}

REACTION_SBO = {
    "pembro_absorption": SBO_TRANSPORT, "pembro_elimination": SBO_DEGRADATION,
    "pembro_distribution": SBO_TRANSPORT, "bev_absorption": SBO_TRANSPORT, "bev_elimination": SBO_DEGRADATION,
}

TITLE = "Pembrolizumab + bevacizumab in NSCLC xenografts (Gevertz & Kareva 2023), H1299 defaults"


def annotate(model: libsbml.Model) -> None:
    """SBO terms of species (the antibodies), parameters and reactions, in place."""
    for s in model.getListOfSpecies():
        s.setSBOTerm(SBO_PROTEIN)
    for p in model.getListOfParameters():
        if p.getId() in PARAMETER_SBO:
            p.setSBOTerm(PARAMETER_SBO[p.getId()])
    for r in model.getListOfReactions():
        r.setSBOTerm(REACTION_SBO[r.getId()])


def build() -> str:
    """The checked SBML text (raises on any libSBML error or warning)."""
    return build_model("pembro_bev", title=TITLE, time_units="day", annotate=annotate, substance_units="ug",
                       volume_units="mL")


if __name__ == "__main__":
    sys.exit(build_main("pembro_bev", build))
