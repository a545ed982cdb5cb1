"""Times at which a model's equations switch: ``time < T`` (and the like) in rules and rate laws.

A step input written as ``piecewise(dose, time >= T, 0)`` is a discontinuity the integrator should
not step across: the simulation stops at ``T`` and restarts there, as it does at a dose. The
switching times are solved from the comparisons (linear in ``time``) of the model's rules and
kinetic laws, function definitions expanded, as expressions of model quantities; they are evaluated
when a simulation starts, with that simulation's parameter values. A switching time that depends on
the state is only approximate, and an extra stop never changes a result, so none is left out.
"""

from __future__ import annotations

import math

import libsbml
import numpy as np

from .. import engine
from ..sbml import math_ids

__all__ = ["Breakpoints", "find_breakpoints"]

_RELATIONS = (libsbml.AST_RELATIONAL_LT, libsbml.AST_RELATIONAL_LEQ, libsbml.AST_RELATIONAL_GT,
              libsbml.AST_RELATIONAL_GEQ, libsbml.AST_RELATIONAL_EQ, libsbml.AST_RELATIONAL_NEQ)


class Breakpoints:
    """Switching times as expressions: strings (picklable) compiled on first use."""

    def __init__(self, expressions: list[tuple[str, tuple[str, ...]]]):
        self.expressions = expressions  # (sympy source, the model ids it reads)
        self._compiled = None

    def __bool__(self) -> bool:
        return bool(self.expressions)

    def __getstate__(self):
        return {"expressions": self.expressions, "_compiled": None}

    def values(self, rr) -> np.ndarray:
        """The switching times for the instance's current values (sorted, finite, unique)."""
        if not self.expressions:
            return np.empty(0)
        if self._compiled is None:
            import sympy

            self._compiled = []
            for text, names in self.expressions:
                syms = [sympy.Symbol(n) for n in names]
                expr = sympy.sympify(text, locals={n: s for n, s in zip(names, syms)})
                self._compiled.append((sympy.lambdify(syms, expr, modules="math", dummify=True), names))
        out = []
        for fn, names in self._compiled:
            try:
                v = float(fn(*[engine.get_value(rr, n) for n in names]))
            except (ArithmeticError, ValueError, TypeError, RuntimeError):
                continue
            if math.isfinite(v):
                out.append(v)
        return np.unique(np.asarray(out, float))


def find_breakpoints(doc: libsbml.SBMLDocument) -> Breakpoints:
    """The switching times of the model's rules and kinetic laws (see the module docstring)."""
    import sympy
    from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

    doc = doc.clone()
    props = libsbml.ConversionProperties()
    props.addOption("expandFunctionDefinitions", True)
    doc.convert(props)
    model = doc.getModel()
    rules = {r.getVariable(): r.getMath() for r in model.getListOfRules() if r.isAssignment()}
    maths = [r.getMath() for r in model.getListOfRules()]
    maths += [r.getKineticLaw().getMath() for r in model.getListOfReactions() if r.isSetKineticLaw()]
    time = sympy.Symbol(_TIME)
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for node in _relations([m for m in maths if m is not None]):
        try:
            sides = [_inline(node.getChild(i).deepCopy(), rules) for i in range(2)]
            names = sorted(set().union(*(math_ids(s) for s in sides)))
            local = {n: sympy.Symbol(n) for n in names} | {_TIME: time}
            exprs = [parse_expr(_l3(s), local_dict=local, transformations=standard_transformations + (convert_xor,))
                     for s in sides]
            diff = sympy.expand(exprs[0] - exprs[1])
            if not diff.has(time) or sympy.degree(diff, time) != 1:
                continue
            slope = diff.coeff(time, 1)
            if slope.has(time) or slope == 0:
                continue
            at = sympy.simplify(-(diff - slope * time) / slope)
        except Exception:  # noqa: BLE001 - a comparison that cannot be solved just gets no stop
            continue
        reads = tuple(sorted(str(s) for s in at.free_symbols))
        found.setdefault(str(at), (str(at), reads))
    return Breakpoints(list(found.values()))


def _relations(maths):
    stack = list(maths)
    while stack:
        node = stack.pop()
        if node.getType() in _RELATIONS and node.getNumChildren() == 2:
            yield node
        stack.extend(node.getChild(i) for i in range(node.getNumChildren()))


def _reads_time(node) -> bool:
    if node.getType() == libsbml.AST_NAME_TIME:
        return True
    return any(_reads_time(node.getChild(i)) for i in range(node.getNumChildren()))


def _inline(node, rules: dict, depth: int = 0):
    """``node`` with the assignment-rule variables that read the time replaced by their rules' math."""
    if depth > 20:
        return node
    for name in math_ids(node):
        math = rules.get(name)
        if math is not None and _reads_time(_inline(math.deepCopy(), rules, depth + 1)):
            node.replaceArgument(name, _inline(math.deepCopy(), rules, depth + 1))
    return node


_TIME = "time"  # libsbml writes the time csymbol as ``time``, whatever the file names it


def _l3(node) -> str:
    return libsbml.formulaToL3String(node).replace("ln(", "log(")
