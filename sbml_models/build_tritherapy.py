"""Build ``tritherapy.xml`` (SBML Level 3 Version 2) from ``tritherapy.ant``.

Run from the repository root with the project's environment::

    .venv/bin/python sbml_models/build_tritherapy.py

The script converts the Antimony text (``qsp.sbml.antimony_to_sbml``), sets the model-level units and the
species substance units, gives every literal number the unit ``dimensionless`` (so libSBML can check the
units of every expression), adds SBO terms, runs the libSBML consistency checks with units on
(``qsp.validation.validate_document``) and writes the XML only when there is no error and no warning.
The output is deterministic: running the script twice gives byte-identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import libsbml

from qsp.sbml import antimony_to_sbml
from qsp.validation import validate_document

HERE = Path(__file__).resolve().parent
ANT = HERE / "tritherapy.ant"
XML = HERE / "tritherapy.xml"

# SBO terms (https://www.ebi.ac.uk/sbo/)
SBO_COMPARTMENT = 290  # physical compartment
SBO_CELL = 285  # material entity of unspecified nature (cell population)
SBO_DRUG = 247  # simple chemical
SBO_ANTIBODY = 252  # polypeptide chain (antibody; PD-L1 protein)
SBO_STATE = 2  # quantitative systems description parameter
SBO_KINETIC_CONSTANT = 9
SBO_TRANSPORT = 185
SBO_DEGRADATION = 179

SUBSTANCE_UNITS = {"nTeff": "cell", "dTeff": "cell", "PDL1": "dimensionless", "A_ip": "nmol", "A_c": "nmol",
                   "DDRi_gut": "nmol", "DDRi_c": "nmol"}
SPECIES_SBO = {"nTeff": SBO_CELL, "dTeff": SBO_CELL, "PDL1": SBO_ANTIBODY, "A_ip": SBO_ANTIBODY,
               "A_c": SBO_ANTIBODY, "DDRi_gut": SBO_DRUG, "DDRi_c": SBO_DRUG}
REACTION_SBO = {"mAb_absorption": SBO_TRANSPORT, "mAb_elimination": SBO_DEGRADATION,
                "DDRi_absorption": SBO_TRANSPORT, "DDRi_presystemic_loss": SBO_DEGRADATION,
                "DDRi_elimination": SBO_DEGRADATION}


def _dimensionless_numbers(node: libsbml.ASTNode | None) -> None:
    """Give every literal number in ``node`` the unit 'dimensionless' (SBML L3 ``sbml:units`` on <cn>)."""
    if node is None:
        return
    if node.isNumber() and not node.isSetUnits():
        node.setUnits("dimensionless")
    for i in range(node.getNumChildren()):
        _dimensionless_numbers(node.getChild(i))


def annotate(doc: libsbml.SBMLDocument) -> None:
    """Set L3V2, model-level and species units, number units and SBO terms in place."""
    if doc.getLevel() != 3 or doc.getVersion() != 2:
        if not doc.setLevelAndVersion(3, 2):
            raise RuntimeError("could not convert the document to SBML L3V2")
    model = doc.getModel()
    model.setName("Tritherapy: RT + anti-PD-L1 + DDRi (Kosinsky 2018 base + switchable DDRi module)")
    model.setTimeUnits("day")
    model.setSubstanceUnits("nmol")
    model.setExtentUnits("nmol")
    model.setVolumeUnits("litre")
    for c in model.getListOfCompartments():
        c.setSBOTerm(SBO_COMPARTMENT)
    for s in model.getListOfSpecies():
        s.setSubstanceUnits(SUBSTANCE_UNITS[s.getId()])
        s.setSBOTerm(SPECIES_SBO[s.getId()])
    for r in model.getListOfReactions():
        r.setSBOTerm(REACTION_SBO[r.getId()])
    for p in model.getListOfParameters():
        p.setSBOTerm(SBO_STATE if not p.getConstant() else SBO_KINETIC_CONSTANT)
    elements = doc.getListOfAllElements()
    for i in range(elements.getSize()):
        el = elements.get(i)
        if isinstance(el, libsbml.FunctionDefinition):
            continue  # numbers inside a lambda take the units of its arguments
        if hasattr(el, "isSetMath") and el.isSetMath():
            math = el.getMath().deepCopy()
            _dimensionless_numbers(math)
            el.setMath(math)


def build() -> str:
    """Return the final SBML text; raise when libSBML reports an error or a warning."""
    doc = libsbml.readSBMLFromString(antimony_to_sbml(ANT.read_text(encoding="utf-8")))
    annotate(doc)
    text = libsbml.writeSBMLToString(doc)
    report = validate_document(text, units=True)
    if report.issues:
        raise RuntimeError("libSBML consistency issues:\n" + str(report))
    return text


def main() -> int:
    text = build()
    XML.write_text(text, encoding="utf-8")
    print(f"wrote {XML} ({len(text)} characters, 0 consistency errors, 0 warnings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
