"""Reading SBML and Antimony safely, and preparing SBML for simulation.

Everything here works on text and libsbml documents; nothing simulates.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import libsbml

from .errors import ModelError, UnsupportedModelError

#: Largest model file or string qsp will read, in bytes (override with QSP_MAX_MODEL_BYTES).
MAX_MODEL_BYTES = int(os.environ.get("QSP_MAX_MODEL_BYTES", 64 * 1024 * 1024))

#: Prefixes of the ids qsp adds to a model so that infusions need no recompilation.
INFUSION_RATE_PREFIX = "qsp_rate_"
INFUSION_REACTION_PREFIX = "qsp_infusion_"
#: Id of the parameter that holds time-triggered events back during an equilibration pre-run.
TIME_GATE_ID = "qsp_equilibrating"

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def read_model_file(path: str | os.PathLike) -> bytes:
    """Return the bytes of a model file after checking that it exists, is small enough and non-empty."""
    p = Path(path)
    if not p.exists():
        raise ModelError(f"model file {str(p)!r} does not exist")
    if not p.is_file():
        raise ModelError(f"model path {str(p)!r} is not a file")
    size = p.stat().st_size
    if size == 0:
        raise ModelError(f"model file {str(p)!r} is empty")
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"model file {str(p)!r} is {size} bytes, over the {MAX_MODEL_BYTES}-byte limit")
    return p.read_bytes()


def _as_bytes(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"model text is {len(data)} bytes, over the {MAX_MODEL_BYTES}-byte limit")
    return data


def check_xml_safety(data: bytes) -> None:
    """Refuse XML that could expand entities or reach outside the document.

    SBML never needs a document type declaration, so any ``<!DOCTYPE`` or
    ``<!ENTITY`` is rejected before a parser sees the text (no entity
    expansion, no external entities).
    """
    if _DTD.search(data):
        raise ModelError("refusing XML with a DOCTYPE or ENTITY declaration (not needed by SBML and unsafe)")


def parse_sbml(text: str | bytes, location: str | None = None) -> libsbml.SBMLDocument:
    """Parse SBML text into a libsbml document, raising :class:`ModelError` on unreadable input.

    ``location`` is the file path the text came from; it lets ``comp``
    models find their external model definitions.
    """
    data = _as_bytes(text)
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise ModelError("model text is empty")
    if not stripped.startswith(b"<"):
        raise ModelError("model text is not XML (it does not start with '<'); use Model.from_antimony for Antimony")
    check_xml_safety(data)
    doc = libsbml.readSBMLFromString(data.decode("utf-8", errors="replace"))
    if location:
        doc.setLocationURI(Path(location).resolve().as_uri())
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_FATAL or err.getCategory() == libsbml.LIBSBML_CAT_XML:
            raise ModelError(f"not readable SBML: {_one_line(err.getMessage())} (line {err.getLine()})")
    if doc.getModel() is None:
        if doc.getNumErrors():
            raise ModelError(f"not readable SBML: {_one_line(doc.getError(0).getMessage())}")
        raise ModelError("the document contains no SBML <model>")
    return doc


def antimony_to_sbml(text: str) -> str:
    """Convert Antimony text to SBML text, raising :class:`ModelError` with Antimony's message."""
    import antimony

    _as_bytes(text)
    if not text.strip():
        raise ModelError("Antimony text is empty")
    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(text) < 0:
        raise ModelError(f"invalid Antimony: {_one_line(antimony.getLastError())}")
    name = antimony.getMainModuleName()
    sbml = antimony.getSBMLString(name)
    if not sbml:
        raise ModelError(f"invalid Antimony: {_one_line(antimony.getLastError()) or 'no model produced'}")
    return sbml


def _one_line(msg: str, limit: int = 400) -> str:
    text = " ".join(str(msg).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def flatten(doc: libsbml.SBMLDocument) -> libsbml.SBMLDocument:
    """Return ``doc`` with hierarchical (``comp``) submodels flattened into one model."""
    if not doc.isPackageEnabled("comp"):
        return doc
    props = libsbml.ConversionProperties()
    props.addOption("flatten comp", True)
    props.addOption("leavePorts", False)
    if doc.convert(props) != libsbml.LIBSBML_OPERATION_SUCCESS:
        msgs = [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
                if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
        last = _one_line(msgs[-1] if msgs else "unknown error")
        raise ModelError(f"cannot flatten hierarchical (comp) model: {last}")
    return doc


def promote_local_parameters(doc: libsbml.SBMLDocument) -> dict[str, tuple[str, str]]:
    """Make every reaction-local (kinetic-law) parameter a global parameter, in place.

    libsbml names the promoted parameter ``<reaction>_<local id>`` (made unique when that id is
    taken), and rewrites the kinetic law to use it. Returns ``{global id: (reaction id, local id)}``.
    """
    model = doc.getModel()
    local = [(r.getId(), p.getId()) for r in model.getListOfReactions() if r.isSetKineticLaw()
             for p in list(r.getKineticLaw().getListOfParameters()) + list(r.getKineticLaw().getListOfLocalParameters())]
    if not local:
        return {}
    before = {p.getId() for p in model.getListOfParameters()}
    props = libsbml.ConversionProperties()
    props.addOption("promoteLocalParameters", True)
    if doc.convert(props) != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelError("cannot make the model's reaction-local parameters global (libsbml refused)")
    model = doc.getModel()
    new = {p.getId() for p in model.getListOfParameters()} - before
    return {f"{rid}_{pid}": (rid, pid) for rid, pid in local if f"{rid}_{pid}" in new}


def _has_delay(node: libsbml.ASTNode | None) -> bool:
    if node is None:
        return False
    if node.getType() == libsbml.AST_FUNCTION_DELAY:
        return True
    return any(_has_delay(node.getChild(i)) for i in range(node.getNumChildren()))


def check_supported(doc: libsbml.SBMLDocument) -> None:
    """Raise :class:`UnsupportedModelError` for constructs libRoadRunner cannot integrate.

    These are algebraic rules, the ``delay()`` function and fast reactions.
    The error names the construct and the element that uses it.
    """
    model = doc.getModel()
    for rule in model.getListOfRules():
        if rule.isAlgebraic():
            raise UnsupportedModelError(
                "model uses an algebraic rule, which qsp cannot simulate (libRoadRunner has no DAE solver)",
                "algebraic rule")
    for rxn in model.getListOfReactions():
        if rxn.isSetFast() and rxn.getFast():
            raise UnsupportedModelError(
                f"model uses a fast reaction ({rxn.getId()!r}), which qsp cannot simulate "
                "(fast reactions need a rapid-equilibrium solver)", "fast reaction")
    elements = _all_elements(doc)
    for rxn in model.getListOfReactions():  # L2 stoichiometryMath is not always listed among all elements
        for ref in list(rxn.getListOfReactants()) + list(rxn.getListOfProducts()):
            if hasattr(ref, "isSetStoichiometryMath") and ref.isSetStoichiometryMath():
                elements.append(ref.getStoichiometryMath())
    for el in elements:
        if hasattr(el, "isSetMath") and el.isSetMath() and _has_delay(el.getMath()):
            owner = el.getId() if el.isSetId() else (el.getParentSBMLObject().getId()
                                                      if el.getParentSBMLObject() is not None else "")
            where = f" (in {owner!r})" if owner else ""
            raise UnsupportedModelError(
                f"model uses the delay() function{where}, which qsp cannot simulate "
                "(libRoadRunner has no delay-differential solver)", "delay()")


def _species_with_rules(model: libsbml.Model) -> set[str]:
    return {r.getVariable() for r in model.getListOfRules() if not r.isAlgebraic()}


def infusible_species(doc: libsbml.SBMLDocument) -> list[str]:
    """Species that a zero-order input can be added to by an extra reaction.

    They are floating (not constant, not boundary), not set by a rule and
    carry no conversion factor (which would rescale the input).
    """
    model = doc.getModel()
    ruled = _species_with_rules(model)
    if model.isSetConversionFactor():
        return []
    out = []
    for s in model.getListOfSpecies():
        if s.getConstant() or s.getBoundaryCondition() or s.getId() in ruled:
            continue
        if s.isSetConversionFactor():
            continue
        out.append(s.getId())
    return out


def add_infusion_inputs(doc: libsbml.SBMLDocument, species: list[str]) -> dict[str, str]:
    """Add, for each species, a rate parameter (0 by default) and a reaction ``-> S`` at that rate.

    Returns ``{species_id: rate_parameter_id}``. The rate is in model
    substance units per model time unit. Changing the parameter's value
    switches an infusion on or off without recompiling the model.
    """
    model = doc.getModel()
    taken = {el.getId() for el in _all_elements(doc) if el.isSetId()}
    level = doc.getLevel()
    out = {}
    for sid in species:
        pid = _fresh(INFUSION_RATE_PREFIX + sid, taken)
        rid = _fresh(INFUSION_REACTION_PREFIX + sid, taken)
        p = model.createParameter()
        p.setId(pid)
        p.setValue(0.0)
        p.setConstant(False)
        r = model.createReaction()
        r.setId(rid)
        r.setReversible(False)
        if level == 3 and doc.getVersion() == 1:
            r.setFast(False)
        ref = r.createProduct()
        ref.setSpecies(sid)
        ref.setStoichiometry(1.0)
        if level == 3:
            ref.setConstant(True)
        law = r.createKineticLaw()
        law.setMath(libsbml.parseL3Formula(pid))
        out[sid] = pid
    return out


def reads_time(model: libsbml.Model, math: libsbml.ASTNode | None) -> bool:
    """Whether ``math`` reads the simulation time, directly, through assignment rules or function definitions."""
    rules = {r.getVariable(): r.getMath() for r in model.getListOfRules() if r.isAssignment()}
    functions = {f.getId(): f.getBody() for f in model.getListOfFunctionDefinitions()}
    seen: set[str] = set()
    stack = [math]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        kind = node.getType()
        if kind == libsbml.AST_NAME_TIME:
            return True
        if kind in (libsbml.AST_NAME, libsbml.AST_FUNCTION) and node.getName() not in seen:
            name = node.getName()
            seen.add(name)
            stack.append(rules.get(name) if kind == libsbml.AST_NAME else functions.get(name))
        stack.extend(node.getChild(i) for i in range(node.getNumChildren()))
    return False


def gate_time_events(doc: libsbml.SBMLDocument) -> str | None:
    """Add a parameter (0 by default) that, when 1, keeps every time-triggered event from firing.

    Each event whose trigger reads the time gets the trigger ``(trigger) && gate < 0.5``; with the
    gate at 0 the model behaves exactly as written. Returns the gate's id, or None when no event
    reads the time.
    """
    model = doc.getModel()
    events = [ev for ev in model.getListOfEvents()
              if ev.isSetTrigger() and reads_time(model, ev.getTrigger().getMath())]
    if not events:
        return None
    taken = {el.getId() for el in _all_elements(doc) if el.isSetId()}
    gate = _fresh(TIME_GATE_ID, taken)
    p = model.createParameter()
    p.setId(gate)
    p.setValue(0.0)
    p.setConstant(False)
    if doc.getLevel() >= 3:
        p.setUnits("dimensionless")
    for ev in events:
        trigger = ev.getTrigger()
        both = libsbml.ASTNode(libsbml.AST_LOGICAL_AND)
        both.addChild(trigger.getMath().deepCopy())
        below = libsbml.ASTNode(libsbml.AST_RELATIONAL_LT)
        name = libsbml.ASTNode(libsbml.AST_NAME)
        name.setName(gate)
        half = libsbml.ASTNode(libsbml.AST_REAL)
        half.setValue(0.5)
        below.addChild(name)
        below.addChild(half)
        both.addChild(below)
        trigger.setMath(both)
    return gate


def _all_elements(doc):
    els = doc.getListOfAllElements()
    return [els.get(i) for i in range(els.getSize())]


def _fresh(base: str, taken: set[str]) -> str:
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


def to_string(doc: libsbml.SBMLDocument) -> str:
    """Serialise a libsbml document to SBML text."""
    return libsbml.writeSBMLToString(doc)


def math_ids(node: libsbml.ASTNode | None, out: set[str] | None = None) -> set[str]:
    """The ids a math expression names (function definitions' arguments are their own, not model ids)."""
    out = set() if out is None else out
    if node is None:
        return out
    if node.getType() == libsbml.AST_NAME:
        out.add(node.getName())
    for i in range(node.getNumChildren()):
        math_ids(node.getChild(i), out)
    return out


def ids_read(model: libsbml.Model, math: libsbml.ASTNode | None) -> set[str]:
    """The ids ``math`` reads, directly and through the assignment rules of ``model``."""
    rules = {r.getVariable(): r for r in model.getListOfRules() if r.isAssignment()}
    reads: set[str] = set()
    stack = list(math_ids(math))
    while stack:
        sid = stack.pop()
        if sid not in reads:
            reads.add(sid)
            if sid in rules:
                stack.extend(math_ids(rules[sid].getMath()))
    return reads


def initial_assignment_inputs(doc: libsbml.SBMLDocument) -> set[str]:
    """Ids whose initial value other initial values are computed from.

    These are the symbols read by initial assignments, directly or through
    assignment rules, the compartments of species given by initial
    concentration when such species feed an initial assignment, and the
    compartments of species whose initial *concentration* an initial
    assignment sets (their amount is that value times the compartment size).
    """
    model = doc.getModel()
    inputs: set[str] = set()
    for ia in model.getListOfInitialAssignments():
        inputs |= ids_read(model, ia.getMath())
        target = model.getSpecies(ia.getSymbol())
        if target is not None and not target.getHasOnlySubstanceUnits():
            inputs.add(target.getCompartment())
    for sid in list(inputs):
        s = model.getSpecies(sid)
        if s is not None:
            inputs.add(s.getCompartment())
    return inputs


def concentration_species_by_compartment(doc: libsbml.SBMLDocument) -> dict[str, list[str]]:
    """For each compartment, the species whose initial value is given as a concentration."""
    model = doc.getModel()
    ruled = _species_with_rules(model)
    with_ia = {ia.getSymbol() for ia in model.getListOfInitialAssignments()}
    out: dict[str, list[str]] = {}
    for s in model.getListOfSpecies():
        if s.isSetInitialConcentration() and s.getId() not in ruled and s.getId() not in with_ia:
            out.setdefault(s.getCompartment(), []).append(s.getId())
    return out
