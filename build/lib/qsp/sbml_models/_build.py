"""Shared steps of the ``build_<name>.py`` scripts: Antimony source -> checked SBML L3V2 file.

Every shipped model is written in Antimony (``<name>.ant``) and converted here: libantimony turns it into
SBML, the document is raised to Level 3 Version 2, the model-level units are set, literal numbers can be
given the unit ``dimensionless`` (so libSBML can check the units of every expression), the model's own
``annotate`` function adds SBO terms and species units, and libSBML's consistency checks run with units
checking on. The XML is written only when there is no error (and, with ``strict``, no warning). The
output is deterministic: building twice gives byte-identical files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import libsbml

from qsp.sbml import antimony_to_sbml
from qsp.validation import validate_document

HERE = Path(__file__).resolve().parent

# SBO terms used by more than one model (https://www.ebi.ac.uk/sbo/)
SBO_PARAMETER = 2  # quantitative systems description parameter
SBO_KINETIC_CONSTANT = 9  # kinetic constant
SBO_FORWARD_RATE_CONSTANT = 153
SBO_REVERSE_RATE_CONSTANT = 156
SBO_BINDING = 177  # non-covalent binding
SBO_DEGRADATION = 179
SBO_TRANSPORT = 185
SBO_MAX_RATE = 186  # maximal velocity
SBO_HILL = 190  # Hill coefficient
SBO_CONCENTRATION = 196  # concentration of an entity pool
SBO_MATERIAL = 240  # material entity
SBO_DRUG = 247  # simple chemical
SBO_PROTEIN = 252  # polypeptide chain
SBO_COMPLEX = 253  # non-covalent complex
SBO_DISSOCIATION_CONSTANT = 282
SBO_CELL = 285  # material entity of unspecified nature (a cell population)
SBO_COMPARTMENT = 290  # physical compartment
SBO_PRODUCTION = 393

Annotator = Callable[[libsbml.Model], None]


def math_holders(model: libsbml.Model) -> Iterator[libsbml.SBase]:
    """Every element of ``model`` that carries math (rules, initial assignments, kinetic laws, events)."""
    yield from model.getListOfRules()
    yield from model.getListOfInitialAssignments()
    for r in model.getListOfReactions():
        if r.isSetKineticLaw():
            yield r.getKineticLaw()
    for ev in model.getListOfEvents():
        yield ev.getTrigger()
        if ev.isSetDelay():
            yield ev.getDelay()
        yield from ev.getListOfEventAssignments()


def _dimensionless_literals(node: libsbml.ASTNode | None) -> None:
    if node is None:
        return
    if node.isNumber() and not node.hasUnits():
        node.setUnits("dimensionless")
    for i in range(node.getNumChildren()):
        _dimensionless_literals(node.getChild(i))


def build(name: str, *, title: str, time_units: str, annotate: Annotator, substance_units: str = "nmol",
          volume_units: str = "litre", dimensionless_numbers: bool = True, strict: bool = True) -> str:
    """Return the checked SBML L3V2 text of ``sbml_models/<name>.ant``.

    Raises
    ------
    RuntimeError
        When libSBML reports an error (or, with ``strict``, a warning), listing them.
    """
    text = (HERE / f"{name}.ant").read_text(encoding="utf-8")
    doc = libsbml.readSBMLFromString(antimony_to_sbml(text))
    if (doc.getLevel(), doc.getVersion()) != (3, 2) and not doc.setLevelAndVersion(3, 2):
        raise RuntimeError("could not convert the document to SBML L3V2")
    model = doc.getModel()
    model.setName(title)
    model.setTimeUnits(time_units)
    model.setSubstanceUnits(substance_units)
    model.setExtentUnits(substance_units)
    model.setVolumeUnits(volume_units)
    if dimensionless_numbers:
        for holder in math_holders(model):
            if holder.isSetMath():
                math = holder.getMath().deepCopy()
                _dimensionless_literals(math)
                holder.setMath(math)
    for c in model.getListOfCompartments():
        c.setSBOTerm(SBO_COMPARTMENT)
    annotate(model)
    sbml = libsbml.writeSBMLToString(doc)
    report = validate_document(sbml, units=True)
    problems = report.errors if not strict else report.issues
    if len(problems):
        raise RuntimeError(f"libSBML consistency problems in {name}:\n{report}")
    return sbml


def main(name: str, make: Callable[[], str], argv: list[str] | None = None) -> int:
    """Write ``<name>.xml`` from ``make()``; with ``--check``, exit 1 if the file on disk differs."""
    argv = sys.argv[1:] if argv is None else argv
    xml = HERE / f"{name}.xml"
    text = make()
    if "--check" in argv:
        same = xml.exists() and xml.read_text(encoding="utf-8") == text
        print(f"{xml.name} is {'up to date' if same else 'OUT OF DATE'}")
        return 0 if same else 1
    xml.write_text(text, encoding="utf-8")
    print(f"wrote {xml} ({len(text)} characters, 0 consistency problems)")
    return 0
