"""Build ``cd3_crs.xml`` (SBML Level 3 Version 2) from ``cd3_crs.ant``.

Run from the repository root with the project's environment::

    .venv/bin/python sbml_models/build_cd3_crs.py           # write the XML
    .venv/bin/python sbml_models/build_cd3_crs.py --check   # exit 1 if the XML on disk differs from a fresh build

Steps shared by all shipped models are in ``_build.py``; this file holds what is particular to the model:
its SBO terms.
"""

from __future__ import annotations

import sys

import libsbml
from qsp.sbml_models._build import (
    SBO_CONCENTRATION,
    SBO_DEGRADATION,
    SBO_HILL,
    SBO_KINETIC_CONSTANT,
    SBO_MATERIAL,
    SBO_MAX_RATE,
    SBO_PARAMETER,
    SBO_PROTEIN,
)
from qsp.sbml_models._build import build as build_model
from qsp.sbml_models._build import main as build_main

SPECIES_SBO = {
    "D_c": SBO_PROTEIN,
    "Dchen_c": SBO_PROTEIN,
    "Tn_tum": SBO_MATERIAL, "Ta_tum": SBO_MATERIAL, "Td_tum": SBO_MATERIAL,
    "Tn_hlt": SBO_MATERIAL, "Ta_hlt": SBO_MATERIAL, "Td_hlt": SBO_MATERIAL,
    "IFNg": SBO_PROTEIN, "TNFa": SBO_PROTEIN, "IL2": SBO_PROTEIN, "IL6": SBO_PROTEIN, "IL10": SBO_PROTEIN,
    "IL6_chen": SBO_PROTEIN,
}

PARAMETER_SBO = {
    "CL": SBO_KINETIC_CONSTANT, "CL_chen": SBO_KINETIC_CONSTANT,
    "k_act": SBO_KINETIC_CONSTANT, "k_des": SBO_KINETIC_CONSTANT, "k_rec": SBO_KINETIC_CONSTANT,
    "kdeg_chen": SBO_KINETIC_CONSTANT,
    "gam": SBO_HILL,
    "Emax_chen": SBO_MAX_RATE,
    "IFNg_0": SBO_CONCENTRATION, "TNFa_0": SBO_CONCENTRATION, "IL2_0": SBO_CONCENTRATION,
    "IL6_0": SBO_CONCENTRATION, "IL10_0": SBO_CONCENTRATION, "BL_chen": SBO_CONCENTRATION,
    "EC50_tum": SBO_CONCENTRATION, "EC50_hlt": SBO_CONCENTRATION,
    "C_pl": SBO_CONCENTRATION, "C_pl_ngml": SBO_CONCENTRATION, "Cp_chen": SBO_CONCENTRATION,
}

REACTION_SBO = {
    "J_elim": SBO_DEGRADATION,
    "J_elim_chen": SBO_DEGRADATION,
}


TITLE = "CD3 T-cell engager cytokine release with step-up attenuation (Weddell-like surrogate + Chen 2019 priming)"


def annotate(model: libsbml.Model) -> None:
    """SBO terms of species, parameters and reactions, in place."""
    for s in model.getListOfSpecies():
        s.setSBOTerm(SPECIES_SBO[s.getId()])
    for p in model.getListOfParameters():
        p.setSBOTerm(PARAMETER_SBO.get(p.getId(), SBO_PARAMETER))
    for r in model.getListOfReactions():
        r.setSBOTerm(REACTION_SBO[r.getId()])


def build() -> str:
    """The checked SBML text (raises on any libSBML error or warning)."""
    return build_model("cd3_crs", title=TITLE, time_units="hour", annotate=annotate)


if __name__ == "__main__":
    sys.exit(build_main("cd3_crs", build))
