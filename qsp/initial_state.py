"""The state a simulation starts from after overrides: initial assignments and t = t_start event triggers.

libRoadRunner computes initial assignments once, when it compiles a model; changing ``init(p)`` of a
parameter they read makes it regenerate the model (about 100 ms). For parameter scans, sensitivity
studies and virtual populations that vary baselines (a receptor level, a starting tumour volume) that
would dominate the cost of each simulation. Instead, the initial assignments are compiled here into
small Python closures over libsbml's math trees; after the overrides are set on the reset state, each
assignment is evaluated in dependency order and its target set, as libRoadRunner would have at load.

Event triggers are compiled the same way (:func:`compile_triggers`): an override can make a trigger
true (or false) at the start time where the compiled model had it the other way round. libRoadRunner
decides which events fire at the start when it resets, from the values then, so the caller checks the
triggers an override reads and, when one flips, takes the regenerating path for that call.

Math that cannot be compiled (an unknown function, a ``csymbol`` other than time, an ``rateOf``, a
reaction id) makes :func:`compile_plan` return None (and a trigger's expression None) and the caller
keeps the regenerating path.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import libsbml

from . import engine
from .sbml import ids_read

__all__ = ["InitialAssignmentPlan", "Trigger", "compile_plan", "compile_triggers"]

Getter = Callable[[str], float]
Expr = Callable[[Getter], float]


class _Unsupported(Exception):
    pass


def _nary(fn, args):
    return lambda get: fn([a(get) for a in args])


_UNARY = {
    libsbml.AST_FUNCTION_ABS: abs, libsbml.AST_FUNCTION_EXP: math.exp, libsbml.AST_FUNCTION_LN: math.log,
    libsbml.AST_FUNCTION_FLOOR: math.floor, libsbml.AST_FUNCTION_CEILING: math.ceil,
    libsbml.AST_FUNCTION_SIN: math.sin, libsbml.AST_FUNCTION_COS: math.cos, libsbml.AST_FUNCTION_TAN: math.tan,
    libsbml.AST_FUNCTION_ARCSIN: math.asin, libsbml.AST_FUNCTION_ARCCOS: math.acos,
    libsbml.AST_FUNCTION_ARCTAN: math.atan, libsbml.AST_FUNCTION_SINH: math.sinh,
    libsbml.AST_FUNCTION_COSH: math.cosh, libsbml.AST_FUNCTION_TANH: math.tanh,
    libsbml.AST_FUNCTION_FACTORIAL: lambda x: math.gamma(x + 1.0),
    libsbml.AST_LOGICAL_NOT: lambda x: float(not x),
}
_BINARY = {
    libsbml.AST_DIVIDE: lambda a, b: a / b if b else math.copysign(math.inf, a) if a else math.nan,
    libsbml.AST_POWER: lambda a, b: a ** b, libsbml.AST_FUNCTION_POWER: lambda a, b: a ** b,
    libsbml.AST_RELATIONAL_EQ: lambda a, b: float(a == b), libsbml.AST_RELATIONAL_NEQ: lambda a, b: float(a != b),
    libsbml.AST_RELATIONAL_GT: lambda a, b: float(a > b), libsbml.AST_RELATIONAL_GEQ: lambda a, b: float(a >= b),
    libsbml.AST_RELATIONAL_LT: lambda a, b: float(a < b), libsbml.AST_RELATIONAL_LEQ: lambda a, b: float(a <= b),
}
_REDUCE = {
    libsbml.AST_PLUS: lambda v: math.fsum(v) if v else 0.0,
    libsbml.AST_TIMES: lambda v: math.prod(v) if v else 1.0,
    libsbml.AST_LOGICAL_AND: lambda v: float(all(v)), libsbml.AST_LOGICAL_OR: lambda v: float(any(v)),
    libsbml.AST_LOGICAL_XOR: lambda v: float(sum(bool(x) for x in v) % 2 == 1),
}
_CONSTANTS = {libsbml.AST_CONSTANT_E: math.e, libsbml.AST_CONSTANT_PI: math.pi,
              libsbml.AST_CONSTANT_TRUE: 1.0, libsbml.AST_CONSTANT_FALSE: 0.0,
              libsbml.AST_NAME_AVOGADRO: 6.02214179e23}
for _name in ("AST_FUNCTION_MAX", "AST_FUNCTION_MIN"):  # SBML L3V2 only
    if hasattr(libsbml, _name):
        _REDUCE[getattr(libsbml, _name)] = max if _name.endswith("MAX") else min


class _Compiler:
    """Turns libsbml math into closures ``f(get) -> float``; ``get(id)`` reads the model's current value."""

    def __init__(self, model: libsbml.Model, selector: Callable[[str], str]):
        self.model = model
        self.selector = selector
        self.functions = {f.getId(): f for f in model.getListOfFunctionDefinitions()}

    def compile(self, node: libsbml.ASTNode | None, scope: dict[str, Expr] | None = None) -> Expr:
        if node is None:
            raise _Unsupported("missing math")
        scope = scope or {}
        t = node.getType()
        args = [self.compile(node.getChild(i), scope) for i in range(node.getNumChildren())] \
            if t not in (libsbml.AST_FUNCTION, libsbml.AST_FUNCTION_PIECEWISE) else None
        if node.isNumber():
            value = node.getValue()
            return lambda get: value
        if t == libsbml.AST_NAME:
            name = node.getName()
            if name in scope:
                return scope[name]
            sel = self.selector(name)
            return lambda get: get(sel)
        if t == libsbml.AST_NAME_TIME:
            return lambda get: get("time")
        if t in _CONSTANTS:
            value = _CONSTANTS[t]
            return lambda get: value
        if t == libsbml.AST_MINUS:
            if len(args) == 1:
                a = args[0]
                return lambda get: -a(get)
            a, b = args
            return lambda get: a(get) - b(get)
        if t in _REDUCE:
            return _nary(_REDUCE[t], args)
        if t in _UNARY and len(args) == 1:
            fn, a = _UNARY[t], args[0]
            return lambda get: float(fn(a(get)))
        if t in _BINARY and len(args) == 2:
            fn, (a, b) = _BINARY[t], args
            return lambda get: float(fn(a(get), b(get)))
        if t == libsbml.AST_FUNCTION_ROOT:
            deg, x = args if len(args) == 2 else ((lambda get: 2.0), args[0])
            return lambda get: x(get) ** (1.0 / deg(get))
        if t == libsbml.AST_FUNCTION_LOG:
            base, x = args if len(args) == 2 else ((lambda get: 10.0), args[0])
            return lambda get: math.log(x(get)) / math.log(base(get))
        if t == libsbml.AST_FUNCTION_PIECEWISE:
            parts = [self.compile(node.getChild(i), scope) for i in range(node.getNumChildren())]
            pairs = [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
            otherwise = parts[-1] if len(parts) % 2 else (lambda get: math.nan)

            def piecewise(get):
                for value, cond in pairs:
                    if cond(get):
                        return value(get)
                return otherwise(get)

            return piecewise
        if t == libsbml.AST_FUNCTION:
            return self._call(node, scope)
        raise _Unsupported(node.getName() or libsbml.formulaToL3String(node))

    def _call(self, node: libsbml.ASTNode, scope: dict[str, Expr]) -> Expr:
        fd = self.functions.get(node.getName())
        if fd is None or not fd.isSetMath():
            raise _Unsupported(node.getName())
        args = [self.compile(node.getChild(i), scope) for i in range(node.getNumChildren())]
        names = [fd.getArgument(i).getName() for i in range(fd.getNumArguments())]
        if len(names) != len(args):
            raise _Unsupported(node.getName())
        return self.compile(fd.getBody(), dict(zip(names, args)))


class InitialAssignmentPlan:
    """Initial assignments as compiled closures, in the order their dependencies require."""

    def __init__(self, steps: list[tuple[str, str, Expr]], compartment_species: dict[str, list[str]]):
        self.steps = steps  # (target id, selector to set, expression)
        self.compartment_species = compartment_species

    def apply(self, rr, keep: set[str]) -> None:
        """Evaluate every assignment on ``rr``'s current state and set its target (ids in ``keep`` stay)."""

        def get(sel: str) -> float:
            return 0.0 if sel == "time" else engine.get_value(rr, sel)  # initial assignments hold at t = 0

        for target, selector, expr in self.steps:
            if target in keep:
                continue
            value = expr(get)
            kept = {}
            for s in self.compartment_species.get(target, ()):
                if s not in keep:
                    kept[f"[{s}]"] = get(f"[{s}]")
            engine.set_value(rr, selector, value)
            for sel, conc in kept.items():
                engine.set_value(rr, sel, conc)


class _Symbols:
    """How each id of a model is read: the selector for its value and what it depends on through rules."""

    def __init__(self, model: libsbml.Model):
        self.species = {s.getId(): s for s in model.getListOfSpecies()}
        self.others = {c.getId() for c in model.getListOfCompartments()} | \
            {p.getId() for p in model.getListOfParameters()}
        self.model = model
        # an initial assignment to a rate-rule variable sets its starting value (valid SBML); one to an
        # assignment-rule variable is not, and is left to libRoadRunner
        self.assigned = {r.getVariable() for r in model.getListOfRules() if r.isAssignment()}

    def selector(self, sid: str) -> str:
        s = self.species.get(sid)
        if s is not None:
            return sid if s.getHasOnlySubstanceUnits() else f"[{sid}]"
        if sid in self.others:
            return sid
        raise _Unsupported(sid)

    def reads(self, math: libsbml.ASTNode | None) -> set[str]:
        """Ids ``math`` reads, directly and through assignment rules."""
        return ids_read(self.model, math)


class Trigger:
    """An event trigger as a closure; ``value(get, t)`` is its truth at time ``t`` (None: not compiled)."""

    def __init__(self, event_id: str, reads: set[str], expr: Expr | None):
        self.event_id, self.reads, self.expr = event_id, reads, expr

    def value(self, rr, t: float) -> bool:
        def get(sel: str) -> float:
            return t if sel == "time" else engine.get_value(rr, sel)

        return bool(self.expr(get))


def compile_triggers(doc: libsbml.SBMLDocument) -> list[Trigger]:
    """The document's event triggers (``expr`` None where the math cannot be evaluated here)."""
    model = doc.getModel()
    symbols = _Symbols(model)
    compiler = _Compiler(model, symbols.selector)
    out = []
    for ev in model.getListOfEvents():
        math = ev.getTrigger().getMath() if ev.isSetTrigger() else None
        try:
            expr = compiler.compile(math)
        except _Unsupported:
            expr = None
        out.append(Trigger(ev.getId(), symbols.reads(math), expr))
    return out


def compile_plan(doc: libsbml.SBMLDocument, compartment_species: dict[str, list[str]]) -> InitialAssignmentPlan | None:
    """Compile the document's initial assignments, or None if any of them cannot be evaluated here."""
    model = doc.getModel()
    symbols = _Symbols(model)
    compiler = _Compiler(model, symbols.selector)
    pending = {}
    try:
        for ia in model.getListOfInitialAssignments():
            target = ia.getSymbol()
            if target in symbols.assigned or target not in symbols.species and target not in symbols.others:
                return None
            pending[target] = (symbols.selector(target), compiler.compile(ia.getMath()), symbols.reads(ia.getMath()))
    except _Unsupported:
        return None
    steps = []
    while pending:  # dependency order; a cycle is invalid SBML and left to libRoadRunner
        ready = [t for t, (_, _, reads) in pending.items() if not (reads & (set(pending) - {t}))]
        if not ready:
            return None
        for t in ready:
            sel, expr, _ = pending.pop(t)
            steps.append((t, sel, expr))
    return InitialAssignmentPlan(steps, {c: list(v) for c, v in compartment_species.items()})

