"""Tables that describe a model's components, read from its SBML."""

from __future__ import annotations

import libsbml
import pandas as pd

from .model_units import compartment_unit, model_units, species_unit

__all__ = ["species_table", "parameter_table", "compartment_table", "reaction_table", "event_table", "rule_table"]


def _formula(ast) -> str:
    return libsbml.formulaToL3String(ast) if ast is not None else ""


def _rule_kinds(model) -> dict[str, str]:
    return {r.getVariable(): "assignment" if r.isAssignment() else "rate" if r.isRate() else "algebraic"
            for r in model.getListOfRules() if not r.isAlgebraic()}


def _init(m, key: str):
    return m._defaults.get(key, float("nan"))


def species_table(m) -> pd.DataFrame:
    """Species: name, compartment, initial value (amount or concentration), its units, flags."""
    model = m._doc.getModel()
    units = model_units(m)
    kinds = _rule_kinds(model)
    rows = []
    for s in model.getListOfSpecies():
        sid = s.getId()
        amount_only = s.getHasOnlySubstanceUnits()
        rows.append({
            "id": sid, "name": s.getName(), "compartment": s.getCompartment(),
            "value": _init(m, sid if amount_only else f"[{sid}]"),
            "quantity": "amount" if amount_only else "concentration",
            "units": species_unit(units, sid, not amount_only),
            "constant": s.getConstant(), "boundary_condition": s.getBoundaryCondition(),
            "rule": kinds.get(sid, ""),
        })
    return pd.DataFrame(rows, columns=["id", "name", "compartment", "value", "quantity", "units", "constant",
                                       "boundary_condition", "rule"]).set_index("id")


def parameter_table(m) -> pd.DataFrame:
    """Global parameters: name, value, units, constant, rule, and ``reaction``: for a parameter that was
    local to a reaction's kinetic law in the file, that reaction (its id is ``<reaction>_<local id>``)."""
    model = m._doc.getModel()
    units = model_units(m)
    kinds = _rule_kinds(model)
    local = getattr(m, "local_parameters", {})
    rows = []
    for p in model.getListOfParameters():
        pid = p.getId()
        value = _init(m, pid) if pid in m._defaults else float("nan")
        rows.append({"id": pid, "name": p.getName(), "value": value,
                     "units": units.of_selector(pid),
                     "constant": p.getConstant(), "rule": kinds.get(pid, ""),
                     "reaction": local[pid][0] if pid in local else ""})
    columns = ["id", "name", "value", "units", "constant", "rule", "reaction"]
    return pd.DataFrame(rows, columns=columns).set_index("id")


def compartment_table(m) -> pd.DataFrame:
    """Compartments: name, size, units, constant, spatial dimensions."""
    model = m._doc.getModel()
    units = model_units(m)
    rows = [{"id": c.getId(), "name": c.getName(), "value": _init(m, c.getId()),
             "units": compartment_unit(units, c.getId()), "constant": c.getConstant(),
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
