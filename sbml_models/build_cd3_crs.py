"""Build ``cd3_crs.xml`` (SBML Level 3 Version 2) from ``cd3_crs.ant``.

Run from anywhere::

    python sbml_models/build_cd3_crs.py           # write the XML
    python sbml_models/build_cd3_crs.py --check   # exit 1 if the XML on disk differs from a fresh build

The script converts the Antimony text with libantimony, sets the model-level units, gives every literal
number in the math the unit ``dimensionless`` (all literals in this model are pure numbers), adds SBO terms,
runs the libSBML consistency checks with units checking on, and writes the XML only when there are no errors
and no unit warnings. The output is deterministic: running the script twice gives byte-identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import antimony
import libsbml

HERE = Path(__file__).resolve().parent
ANT = HERE / "cd3_crs.ant"
XML = HERE / "cd3_crs.xml"
MODEL_ID = "cd3_crs"
MODEL_NAME = "CD3 T-cell engager cytokine release with step-up attenuation (Weddell-like surrogate + Chen 2019 priming)"

# SBO terms (https://www.ebi.ac.uk/sbo/)
SBO_COMPARTMENT = 290  # physical compartment
SBO_PROTEIN = 252  # polypeptide chain (drugs, cytokines)
SBO_MATERIAL = 240  # material entity (T-cell populations)
SBO_PARAMETER = 2  # quantitative systems description parameter
SBO_KINETIC_CONSTANT = 9  # kinetic constant
SBO_MAX_RATE = 186  # maximal velocity
SBO_HILL = 190  # Hill coefficient
SBO_CONCENTRATION = 196  # concentration of an entity pool
SBO_DEGRADATION = 179  # degradation

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


def antimony_to_sbml(path: Path) -> str:
    """Return the SBML text libantimony produces for the Antimony file at ``path``."""
    antimony.clearPreviousLoads()
    if antimony.loadAntimonyFile(str(path)) < 0:
        raise RuntimeError(f"antimony could not read {path}: {antimony.getLastError()}")
    return antimony.getSBMLString(MODEL_ID)


def _dimensionless_literals(node: libsbml.ASTNode | None) -> None:
    """Give every literal number under ``node`` the unit 'dimensionless' (L3 ``sbml:units`` on <cn>)."""
    if node is None:
        return
    if node.isNumber() and not node.hasUnits():
        node.setUnits("dimensionless")
    for i in range(node.getNumChildren()):
        _dimensionless_literals(node.getChild(i))


def _math_holders(model: libsbml.Model):
    for rule in model.getListOfRules():
        yield rule
    for ia in model.getListOfInitialAssignments():
        yield ia
    for r in model.getListOfReactions():
        if r.isSetKineticLaw():
            yield r.getKineticLaw()
    for ev in model.getListOfEvents():
        yield ev.getTrigger()
        for ea in ev.getListOfEventAssignments():
            yield ea


def annotate(doc: libsbml.SBMLDocument) -> None:
    """Set L3V2, model-level units, literal units and SBO terms in place."""
    if doc.getLevel() != 3 or doc.getVersion() != 2:
        if not doc.setLevelAndVersion(3, 2):
            raise RuntimeError("could not convert the document to SBML L3V2")
    model = doc.getModel()
    model.setName(MODEL_NAME)
    model.setTimeUnits("hour")
    model.setSubstanceUnits("nmol")
    model.setExtentUnits("nmol")
    model.setVolumeUnits("litre")
    for holder in _math_holders(model):
        math = holder.getMath().deepCopy()
        _dimensionless_literals(math)
        holder.setMath(math)
    for c in model.getListOfCompartments():
        c.setSBOTerm(SBO_COMPARTMENT)
    for s in model.getListOfSpecies():
        s.setSBOTerm(SPECIES_SBO[s.getId()])
    for p in model.getListOfParameters():
        p.setSBOTerm(PARAMETER_SBO.get(p.getId(), SBO_PARAMETER))
    for r in model.getListOfReactions():
        r.setSBOTerm(REACTION_SBO[r.getId()])


def check(doc: libsbml.SBMLDocument) -> list[str]:
    """Run libSBML's consistency checks with units checking on; return errors and unit warnings."""
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    problems = []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_WARNING:
            problems.append(f"{err.getSeverityAsString()} {err.getErrorId()}: {' '.join(err.getMessage().split())}")
    return problems


def build() -> str:
    """Return the final SBML text; raise when libSBML reports an error or warning."""
    doc = libsbml.readSBMLFromString(antimony_to_sbml(ANT))
    annotate(doc)
    problems = check(doc)
    if problems:
        raise RuntimeError("libSBML consistency problems:\n" + "\n".join(problems))
    return libsbml.writeSBMLToString(doc)


def main(argv: list[str]) -> int:
    text = build()
    if "--check" in argv:
        same = XML.exists() and XML.read_text(encoding="utf-8") == text
        print(f"{XML.name} is {'up to date' if same else 'OUT OF DATE'}")
        return 0 if same else 1
    XML.write_text(text, encoding="utf-8")
    print(f"wrote {XML} ({len(text)} characters, 0 consistency errors or unit warnings)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
