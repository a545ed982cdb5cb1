"""Build ``trimeric.xml`` (SBML Level 3 Version 2) from ``trimeric.ant``.

Run from anywhere::

    python sbml_models/build_trimeric.py

The script converts the Antimony text with libantimony, sets the model-level units, adds SBO terms, runs the
libSBML consistency checks (units checking on) and writes the XML only when there are no errors. The output is
deterministic: running the script twice gives byte-identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import antimony
import libsbml

HERE = Path(__file__).resolve().parent
ANT = HERE / "trimeric.ant"
XML = HERE / "trimeric.xml"

# SBO terms (https://www.ebi.ac.uk/sbo/)
SBO_COMPARTMENT = 290  # physical compartment
SBO_PROTEIN = 252  # polypeptide chain
SBO_COMPLEX = 253  # non-covalent complex
SBO_KINETIC_CONSTANT = 9  # kinetic constant
SBO_FORWARD_RATE_CONSTANT = 153  # forward rate constant
SBO_REVERSE_RATE_CONSTANT = 156  # reverse rate constant
SBO_DISSOCIATION_CONSTANT = 282  # dissociation constant
SBO_CONCENTRATION = 196  # concentration of an entity pool
SBO_PARAMETER = 2  # quantitative systems description parameter
SBO_BINDING = 177  # non-covalent binding
SBO_DEGRADATION = 179  # degradation
SBO_TRANSPORT = 185  # transport reaction
SBO_PRODUCTION = 393  # production

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


def antimony_to_sbml(path: Path) -> str:
    """Return the SBML text libantimony produces for the Antimony file at ``path``."""
    antimony.clearPreviousLoads()
    if antimony.loadAntimonyFile(str(path)) < 0:
        raise RuntimeError(f"antimony could not read {path}: {antimony.getLastError()}")
    return antimony.getSBMLString("trimeric")


def annotate(doc: libsbml.SBMLDocument) -> None:
    """Set L3V2, model-level units and SBO terms in place."""
    if doc.getLevel() != 3 or doc.getVersion() != 2:
        if not doc.setLevelAndVersion(3, 2):
            raise RuntimeError("could not convert the document to SBML L3V2")
    model = doc.getModel()
    model.setName("Bispecific trimeric complex (FAP x 4-1BB) with two-compartment PK, RECON-v0")
    model.setTimeUnits("day")
    model.setSubstanceUnits("nmol")
    model.setExtentUnits("nmol")
    model.setVolumeUnits("litre")
    for c in model.getListOfCompartments():
        c.setSBOTerm(SBO_COMPARTMENT)
    for s in model.getListOfSpecies():
        s.setSBOTerm(SPECIES_SBO[s.getId()])
    for p in model.getListOfParameters():
        if p.getId() in PARAMETER_SBO:
            p.setSBOTerm(PARAMETER_SBO[p.getId()])
    for r in model.getListOfReactions():
        r.setSBOTerm(REACTION_SBO[r.getId()])


def check(doc: libsbml.SBMLDocument) -> list[str]:
    """Run the libSBML consistency checks with units checking on; return the error messages."""
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    errors = []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            errors.append(f"{err.getErrorId()}: {err.getMessage().strip()}")
    return errors


def build() -> str:
    """Return the final SBML text; raise when libSBML reports an error."""
    doc = libsbml.readSBMLFromString(antimony_to_sbml(ANT))
    annotate(doc)
    errors = check(doc)
    if errors:
        raise RuntimeError("libSBML consistency errors:\n" + "\n".join(errors))
    return libsbml.writeSBMLToString(doc)


def main() -> int:
    text = build()
    XML.write_text(text, encoding="utf-8")
    print(f"wrote {XML} ({len(text)} characters, 0 consistency errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
