"""Units of a model's quantities (time, species, parameters, compartments), for results and plots.

Units are read from the SBML unit definitions, never from their ids: a definition
``<unit kind="mole" scale="-9"/>`` reads ``nmol`` whatever it is called (an id or
name may say otherwise). A definition reads as SI symbols with prefixes, time as
``s``, ``min``, ``h``, ``day``, ``week``; a factor without a prefix is written out
(``(1800 s)``). Examples: ``nmol/L``, ``1/day``, ``L/(nmol*day)``, ``mm^3``.

Defaults follow the SBML level: in Level 3 a quantity without units (and no
model-wide default) has none, and is left out; in Level 2 the built-in units
``substance`` (mole), ``volume`` (litre), ``area`` (m^2), ``length`` (m) and
``time`` (second) apply unless the model redefines them.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable

import libsbml

__all__ = ["time_unit", "output_units", "model_units", "unit_string", "species_unit", "compartment_unit", "ModelUnits"]

# A unit term is (kind, factor, exponent): (factor * kind) ** exponent, kind a base-unit name.
Term = tuple[str, float, float]

_PREFIX = {-18: "a", -15: "f", -12: "p", -9: "n", -6: "u", -3: "m", -2: "c", -1: "d", 0: "", 3: "k", 6: "M", 9: "G"}
_SYMBOL = {
    "mole": "mol", "litre": "L", "liter": "L", "gram": "g", "metre": "m", "meter": "m", "second": "s",
    "item": "item", "kelvin": "K", "ampere": "A", "candela": "cd", "gray": "Gy", "becquerel": "Bq",
    "coulomb": "C", "farad": "F", "henry": "H", "hertz": "Hz", "joule": "J", "katal": "kat", "lumen": "lm",
    "lux": "lx", "newton": "N", "ohm": "Ohm", "pascal": "Pa", "radian": "rad", "siemens": "S",
    "sievert": "Sv", "steradian": "sr", "tesla": "T", "volt": "V", "watt": "W", "weber": "Wb",
}
#: Multiples of the second with a name: (factor in s, symbol in formulas, word for the time unit).
_TIME_NAMES = ((1.0, "s", "second"), (60.0, "min", "minute"), (3600.0, "h", "hour"), (86400.0, "day", "day"),
               (604800.0, "week", "week"))
#: SBML Level 2 built-in units (used when a Level 2 model does not redefine them).
_L2_BUILTIN: dict[str, list[Term]] = {
    "substance": [("mole", 1.0, 1.0)], "volume": [("litre", 1.0, 1.0)], "area": [("metre", 1.0, 2.0)],
    "length": [("metre", 1.0, 1.0)], "time": [("second", 1.0, 1.0)],
}
_DEFAULT_BY_DIMENSION = {3: "volume", 2: "area", 1: "length"}


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9)


def _terms_of_definition(ud: libsbml.UnitDefinition) -> list[Term]:
    terms = []
    for u in ud.getListOfUnits():
        kind = libsbml.UnitKind_toString(u.getKind())
        factor = u.getMultiplier() * 10.0 ** u.getScale()
        if kind == "kilogram":
            kind, factor = "gram", factor * 1e3
        elif kind == "liter":
            kind = "litre"
        elif kind == "meter":
            kind = "metre"
        terms.append((kind, factor, float(u.getExponent())))
    return terms


def _merge(terms: Iterable[Term]) -> list[Term]:
    """Add the exponents of equal (kind, factor) terms; drop zero exponents and plain dimensionless."""
    merged: list[list] = []
    for kind, factor, exp in terms:
        if kind == "dimensionless" and _close(factor, 1.0):
            continue
        for m in merged:
            if m[0] == kind and _close(m[1], factor):
                m[2] += exp
                break
        else:
            merged.append([kind, factor, exp])
    return [(k, f, e) for k, f, e in merged if e != 0]


def _symbol(kind: str, factor: float, item: str) -> tuple[str, bool]:
    """Symbol of ``factor * kind`` and whether it is a compound (needs parentheses under an exponent)."""
    if kind == "dimensionless":
        return f"{factor:g}", False
    if kind == "second":
        for f, sym, _ in _TIME_NAMES:
            if _close(factor, f):
                return sym, False
    base = item if kind == "item" else _SYMBOL.get(kind, kind)
    if factor > 0:
        k = round(math.log10(factor))
        if k in _PREFIX and _close(factor, 10.0 ** k) and (kind in _SYMBOL and kind != "item"):
            return _PREFIX[k] + base, False
        if _close(factor, 1.0):
            return base, False
    return f"{factor:g} {base}", True


def _power(kind: str, factor: float, exp: float, item: str, alone: bool) -> str:
    sym, compound = _symbol(kind, factor, item)
    if compound and not (alone and exp == 1):
        sym = f"({sym})"
    e = abs(exp)
    if e == 1:
        return sym
    return f"{sym}^{int(e) if float(e).is_integer() else e:g}"


def render(terms: Iterable[Term], item: str = "item") -> str:
    """Readable form of unit terms: ``nmol/L``, ``1/day``, ``L/(nmol*day)``; 'dimensionless' when empty."""
    terms = _merge(terms)
    if not terms:
        return "dimensionless"
    num = [t for t in terms if t[2] > 0]
    den = [t for t in terms if t[2] < 0]
    alone = len(terms) == 1
    top = "*".join(_power(k, f, e, item, alone) for k, f, e in num) or "1"
    if not den:
        return top
    bottom = "*".join(_power(k, f, e, item, False) for k, f, e in den)
    return f"{top}/({bottom})" if len(den) > 1 else f"{top}/{bottom}"


class ModelUnits:
    """Readable units of one SBML model's quantities (cached per unit id)."""

    def __init__(self, doc: libsbml.SBMLDocument):
        self._doc = doc  # keeps the libsbml model alive
        self.model = doc.getModel()
        self.level = self.model.getLevel()
        self._terms: dict[str, list[Term] | None] = {}
        self.selectors: dict[str, str] = {}
        self.item = self._item_name()

    def _item_name(self) -> str:
        """The model's own name for one item (e.g. 'cell') when exactly one definition says so."""
        names = [ud.getId() for ud in self.model.getListOfUnitDefinitions()
                 if ud.getId() not in _L2_BUILTIN and libsbml.UnitKind_forName(ud.getId()) == libsbml.UNIT_KIND_INVALID
                 and _merge(_terms_of_definition(ud)) == [("item", 1.0, 1.0)]]
        return names[0] if len(names) == 1 else "item"

    def terms(self, uid: str) -> list[Term] | None:
        """Unit terms of a unit id (a definition, a base unit or a Level 2 built-in); None for ''."""
        if not uid:
            return None
        if uid not in self._terms:
            ud = self.model.getUnitDefinition(uid)
            if ud is not None:
                found = _terms_of_definition(ud)
            elif self.level < 3 and uid in _L2_BUILTIN:
                found = _L2_BUILTIN[uid]
            elif libsbml.UnitKind_forName(uid) != libsbml.UNIT_KIND_INVALID:
                found = _terms_of_definition(_single(uid, self.model))
            else:
                found = [(uid, 1.0, 1.0)]  # an id with no definition: shown as it is
            self._terms[uid] = found
        return self._terms[uid]

    def string(self, uid: str) -> str:
        """Readable form of a unit id ('' when ``uid`` is '')."""
        t = self.terms(uid)
        return "" if t is None else render(t, self.item)

    # ---------------------------------------------------------------- defaults by SBML level
    def time_id(self) -> str:
        m = self.model
        if self.level >= 3:
            return m.getTimeUnits() if m.isSetTimeUnits() else ""
        return "time"

    def substance_id(self, species: libsbml.Species) -> str:
        if species.isSetSubstanceUnits():
            return species.getSubstanceUnits()
        if self.level >= 3:
            return self.model.getSubstanceUnits() if self.model.isSetSubstanceUnits() else ""
        return "substance"

    def extent_id(self) -> str:
        if self.level >= 3:
            return self.model.getExtentUnits() if self.model.isSetExtentUnits() else ""
        return "substance"

    def size_terms(self, comp: libsbml.Compartment | None) -> list[Term] | None:
        """Unit terms of a compartment's size; [] for a 0-dimensional compartment."""
        if comp is None:
            return None
        if comp.isSetUnits():
            return self.terms(comp.getUnits())
        dims = comp.getSpatialDimensionsAsDouble() if comp.isSetSpatialDimensions() or self.level < 3 else None
        if dims == 0:
            return []
        key = _DEFAULT_BY_DIMENSION.get(int(dims)) if dims is not None and float(dims).is_integer() else None
        if key is None:
            return None
        if self.level >= 3:
            m = self.model
            uid = {"volume": m.getVolumeUnits, "area": m.getAreaUnits, "length": m.getLengthUnits}[key]()
            return self.terms(uid)
        return self.terms(key)

    def species_terms(self, sid: str, concentration: bool) -> list[Term] | None:
        s = self.model.getSpecies(sid)
        if s is None:
            return None
        sub = self.terms(self.substance_id(s))
        if sub is None or not concentration:
            return sub
        if self.level < 3 and s.isSetSpatialSizeUnits():
            size = self.terms(s.getSpatialSizeUnits())
        else:
            size = self.size_terms(self.model.getCompartment(s.getCompartment()))
        if size is None:
            return None
        return sub + [(k, f, -e) for k, f, e in size]

    # ---------------------------------------------------------------- selectors
    def of_selector(self, sel: str) -> str:
        """Readable unit of an output selector ('' when unknown or undeclared)."""
        m = self.model
        if sel.startswith("[") and sel.endswith("]"):
            t = self.species_terms(sel[1:-1], True)
        elif m.getSpecies(sel) is not None:
            t = self.species_terms(sel, False)
        elif m.getCompartment(sel) is not None:
            t = self.size_terms(m.getCompartment(sel))
        elif m.getParameter(sel) is not None:
            t = self._parameter_terms(m.getParameter(sel))
        elif m.getReaction(sel) is not None:
            t = self._reaction_terms(m.getReaction(sel))
        else:
            t = None
        return "" if t is None else render(t, self.item)

    def _reaction_terms(self, r: libsbml.Reaction) -> list[Term] | None:
        ext, tim = self.terms(self.extent_id()), self.terms(self.time_id())
        if ext is not None and tim is not None:
            return ext + [(k, f, -e) for k, f, e in tim]
        return _derived(r.getKineticLaw())

    def _parameter_terms(self, p: libsbml.Parameter) -> list[Term] | None:
        if p.isSetUnits():
            return self.terms(p.getUnits())
        rule = self.model.getRule(p.getId())
        return _derived(rule) if rule is not None and rule.isAssignment() else None


def _derived(element) -> list[Term] | None:
    """Units libsbml derives from the formula of a rule or kinetic law, when all its parts declare units."""
    if element is None or element.getMath() is None:
        return None
    derived = element.getDerivedUnitDefinition()
    if derived is None or element.containsUndeclaredUnits():
        return None
    return _terms_of_definition(derived)


def _single(kind: str, model: libsbml.Model) -> libsbml.UnitDefinition:
    ud = libsbml.UnitDefinition(model.getLevel(), model.getVersion())
    u = ud.createUnit()
    u.setKind(libsbml.UnitKind_forName(kind))
    u.setExponent(1)
    u.setScale(0)
    u.setMultiplier(1.0)
    return ud


def unit_string(model: libsbml.Model, uid: str) -> str:
    """Readable form of unit id ``uid`` in ``model`` ('' for '')."""
    return ModelUnits(model.getSBMLDocument()).string(uid)


def _time_word(terms: list[Term]) -> str | None:
    merged = _merge(terms)
    if len(merged) == 1 and merged[0][0] == "second" and merged[0][2] == 1:
        factor = merged[0][1]
        for f, _, word in _TIME_NAMES:
            if _close(factor, f):
                return word
    return None


def time_unit(doc: libsbml.SBMLDocument) -> str:
    """The model's time unit as a readable string ('' when not declared).

    Level 3: the model's ``timeUnits``. Level 2: the built-in ``time`` unit, as the
    model redefines it, else second (the Level 2 default, reported as ``'second'``).
    Multiples of the second read ``'second'``, ``'minute'``, ``'hour'``, ``'day'``,
    ``'week'``; others as a formula (``'1800 s'``, ``'ms'``).
    """
    units = ModelUnits(doc)
    terms = units.terms(units.time_id())
    if terms is None:
        return ""
    return _time_word(terms) or render(terms, units.item)


def species_unit(units: ModelUnits, sid: str, concentration: bool) -> str:
    """Readable unit of species ``sid``'s amount, or of its concentration ('' when undeclared)."""
    t = units.species_terms(sid, concentration)
    return "" if t is None else render(t, units.item)


def compartment_unit(units: ModelUnits, cid: str) -> str:
    """Readable unit of compartment ``cid``'s size ('' when undeclared)."""
    t = units.size_terms(units.model.getCompartment(cid))
    return "" if t is None else render(t, units.item)


_PER_MODEL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def model_units(model) -> ModelUnits:
    """The (cached) :class:`ModelUnits` of a :class:`qsp.Model`."""
    found = _PER_MODEL.get(model)
    if found is None:
        found = _PER_MODEL[model] = ModelUnits(model._doc)
    return found


def output_units(model, outputs: Iterable[str]) -> dict[str, str]:
    """Unit of each output selector of ``model`` (a :class:`qsp.Model`); selectors without a unit are left out.

    ``S``: the species' substance unit; ``[S]``: substance per compartment size;
    compartments: their size unit; parameters (assignment-rule ids included): their
    declared units, else those libsbml derives from the rule when fully declared;
    reactions: extent per time (Level 2: substance per time), else the units derived
    from the kinetic law when fully declared.
    """
    units = model_units(model)
    out = {}
    for sel in outputs:
        if sel not in units.selectors:
            units.selectors[sel] = units.of_selector(sel)
        if units.selectors[sel]:
            out[sel] = units.selectors[sel]
    return out
