"""Tables that describe a model's components, read from its SBML."""

from __future__ import annotations

import libsbml
import pandas as pd

__all__ = ["species_table", "parameter_table", "compartment_table", "reaction_table", "event_table", "rule_table"]


def _formula(ast) -> str:
    return libsbml.formulaToL3String(ast) if ast is not None else ""


def _units(element, model) -> str:
    if hasattr(element, "isSetUnits") and element.isSetUnits():
        return element.getUnits()
    return ""


def _rule_kind(model, sid: str) -> str:
    rule = model.getRule(sid)
    if rule is None:
        return ""
    return "assignment" if rule.isAssignment() else "rate" if rule.isRate() else "algebraic"


def _init(m, key: str):
    return m._defaults.get(key, float("nan"))


def species_table(m) -> pd.DataFrame:
    """Species: name, compartment, initial value (amount or concentration), units, flags."""
    model = m._doc.getModel()
    rows = []
    for s in model.getListOfSpecies():
        sid = s.getId()
        amount_only = s.getHasOnlySubstanceUnits()
        substance = s.getSubstanceUnits() or (model.getSubstanceUnits() if model.getLevel() >= 3 else "")
        comp = model.getCompartment(s.getCompartment())
        volume = comp.getUnits() if comp is not None and comp.isSetUnits() else (
            model.getVolumeUnits() if model.getLevel() >= 3 and model.isSetVolumeUnits() else "")
        rows.append({
            "id": sid, "name": s.getName(), "compartment": s.getCompartment(),
            "value": _init(m, sid if amount_only else f"[{sid}]"),
            "quantity": "amount" if amount_only else "concentration",
            "units": substance if amount_only or not substance else f"{substance}/{volume or '?'}",
            "constant": s.getConstant(), "boundary_condition": s.getBoundaryCondition(),
            "rule": _rule_kind(model, sid),
        })
    return pd.DataFrame(rows, columns=["id", "name", "compartment", "value", "quantity", "units", "constant",
                                       "boundary_condition", "rule"]).set_index("id")


def parameter_table(m) -> pd.DataFrame:
    """Global parameters: name, value, units, constant, rule (qsp's own infusion inputs excluded)."""
    model = m._doc.getModel()
    rows = []
    for p in model.getListOfParameters():
        pid = p.getId()
        value = _init(m, pid) if pid in m._defaults else float("nan")
        rows.append({"id": pid, "name": p.getName(), "value": value, "units": _units(p, model),
                     "constant": p.getConstant(), "rule": _rule_kind(model, pid)})
    return pd.DataFrame(rows, columns=["id", "name", "value", "units", "constant", "rule"]).set_index("id")


def compartment_table(m) -> pd.DataFrame:
    """Compartments: name, size, units, constant, spatial dimensions."""
    model = m._doc.getModel()
    rows = [{"id": c.getId(), "name": c.getName(), "value": _init(m, c.getId()),
             "units": _units(c, model), "constant": c.getConstant(),
             "dimensions": c.getSpatialDimensionsAsDouble()} for c in model.getListOfCompartments()]
    return pd.DataFrame(rows, columns=["id", "name", "value", "units", "constant", "dimensions"]).set_index("id")


def _side(refs) -> str:
    parts = []
    for r in refs:
        st = r.getStoichiometry() if hasattr(r, "getStoichiometry") else 1
        parts.append(r.getSpecies() if st == 1 else f"{st:g} {r.getSpecies()}")
    return " + ".join(parts)


def reaction_table(m) -> pd.DataFrame:
    """Reactions: name, equation, rate law, reversible."""
    model = m._doc.getModel()
    rows = []
    for r in model.getListOfReactions():
        law = r.getKineticLaw()
        arrow = " <-> " if r.getReversible() else " -> "
        mods = [x.getSpecies() for x in r.getListOfModifiers()]
        eq = _side(r.getListOfReactants()) + arrow + _side(r.getListOfProducts())
        if mods:
            eq += f"  (modifiers: {', '.join(mods)})"
        rows.append({"id": r.getId(), "name": r.getName(), "equation": eq.strip(),
                     "rate_law": _formula(law.getMath()) if law is not None and law.isSetMath() else "",
                     "reversible": r.getReversible()})
    return pd.DataFrame(rows, columns=["id", "name", "equation", "rate_law", "reversible"]).set_index("id")


def event_table(m) -> pd.DataFrame:
    """Events: name, trigger, delay, assignments."""
    model = m._doc.getModel()
    rows = []
    for i, e in enumerate(model.getListOfEvents()):
        trig = e.getTrigger()
        assigns = "; ".join(f"{a.getVariable()} = {_formula(a.getMath())}" for a in e.getListOfEventAssignments())
        rows.append({"id": e.getId() or f"event_{i}", "name": e.getName(),
                     "trigger": _formula(trig.getMath()) if trig is not None else "",
                     "delay": _formula(e.getDelay().getMath()) if e.isSetDelay() else "",
                     "assignments": assigns})
    return pd.DataFrame(rows, columns=["id", "name", "trigger", "delay", "assignments"]).set_index("id")


def rule_table(m) -> pd.DataFrame:
    """Rules: variable, type (assignment, rate), formula."""
    model = m._doc.getModel()
    rows = [{"variable": r.getVariable(), "type": "assignment" if r.isAssignment() else "rate",
             "formula": _formula(r.getMath())} for r in model.getListOfRules()]
    return pd.DataFrame(rows, columns=["variable", "type", "formula"])
