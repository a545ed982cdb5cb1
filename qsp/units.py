"""Dose-unit conversion into a model's substance units.

A model species has substance units such as ``nmol`` (mole scaled), ``mg``
(gram scaled) or ``item``. A dose given in mass, moles or per body weight
is converted to those units with the drug's molecular weight (g/mol) and the
body weight (kg).
"""

from __future__ import annotations

from dataclasses import dataclass

import libsbml

from .errors import DosingError

AVOGADRO = 6.02214076e23  # 1/mol

#: Dose units qsp understands: name -> (dimension, factor to the SI base: g or mol).
DOSE_UNITS: dict[str, tuple[str, float]] = {
    "kg": ("mass", 1e3), "g": ("mass", 1.0), "mg": ("mass", 1e-3), "ug": ("mass", 1e-6),
    "ng": ("mass", 1e-9), "pg": ("mass", 1e-12),
    "mol": ("mole", 1.0), "mmol": ("mole", 1e-3), "umol": ("mole", 1e-6),
    "nmol": ("mole", 1e-9), "pmol": ("mole", 1e-12),
}
#: Where a missing body weight or molecular weight can be given, for Python and command-line users alike.
BODY_WEIGHT_SOURCES = "body_weight= in Python, --body-weight on the command line, or the model's body_weight metadata"
MOLECULAR_WEIGHT_SOURCES = "molecular_weight= on the Dose, mw= in a --dose spec, or the model's drug metadata"
_ALIASES = {"µg": "ug", "μg": "ug", "mcg": "ug", "µmol": "umol", "μmol": "umol"}


@dataclass(frozen=True)
class SubstanceUnit:
    """What one model substance unit is: ``dimension`` ('mole', 'mass', 'item') times ``factor`` of mol, g or items."""

    dimension: str | None
    factor: float
    label: str


def parse_dose_unit(unit: str) -> tuple[str, float, bool]:
    """Return (dimension, SI factor, per_kg) for a dose unit such as ``'mg'`` or ``'mg/kg'``."""
    u = unit.strip()
    per_kg = False
    if u.lower().endswith("/kg"):
        per_kg, u = True, u[:-3].strip()
    u = _ALIASES.get(u, u)
    if u not in DOSE_UNITS:
        known = ", ".join(list(DOSE_UNITS) + [k + "/kg" for k in ("mg", "ug", "nmol")])
        raise DosingError(f"unknown dose unit {unit!r}; use one of {known}, ...")
    dim, factor = DOSE_UNITS[u]
    return dim, factor, per_kg


def substance_unit(model: libsbml.Model, species_id: str) -> SubstanceUnit:
    """Return the substance unit of a species, resolving model-level defaults (SBML L2 and L3)."""
    s = model.getSpecies(species_id)
    uid = s.getSubstanceUnits() if s.isSetSubstanceUnits() else ""
    if not uid:
        if model.getLevel() >= 3:
            uid = model.getSubstanceUnits() if model.isSetSubstanceUnits() else ""
        else:
            uid = "substance"
    if not uid:
        return SubstanceUnit(None, 1.0, "")
    ud = model.getUnitDefinition(uid)
    if ud is None:
        if uid == "substance":  # SBML L2 built-in default: mole
            return SubstanceUnit("mole", 1.0, "mole")
        kinds = {"mole": "mole", "gram": "mass", "kilogram": "mass", "item": "item"}
        if uid in kinds:
            return SubstanceUnit(kinds[uid], 1e3 if uid == "kilogram" else 1.0, uid)
        return SubstanceUnit(None, 1.0, uid)
    if ud.getNumUnits() != 1:
        return SubstanceUnit(None, 1.0, uid)
    u = ud.getUnit(0)
    if u.getExponent() != 1:
        return SubstanceUnit(None, 1.0, uid)
    factor = u.getMultiplier() * 10.0 ** u.getScale()
    kind = u.getKind()
    if kind == libsbml.UNIT_KIND_MOLE:
        return SubstanceUnit("mole", factor, uid)
    if kind == libsbml.UNIT_KIND_GRAM:
        return SubstanceUnit("mass", factor, uid)
    if kind == libsbml.UNIT_KIND_KILOGRAM:
        return SubstanceUnit("mass", factor * 1e3, uid)
    if kind == libsbml.UNIT_KIND_ITEM:
        return SubstanceUnit("item", factor, uid)
    return SubstanceUnit(None, 1.0, uid)


def to_model_amount(amount: float, unit: str, target: SubstanceUnit, *,
                    molecular_weight: float | None, body_weight: float | None, species: str) -> float:
    """Convert ``amount`` in ``unit`` to the model substance units of ``species``.

    Parameters
    ----------
    amount : float
        Dose amount in ``unit``.
    unit : str
        A dose unit (``'mg'``, ``'ug/kg'``, ``'nmol'`` ...).
    target : SubstanceUnit
        The species' substance unit.
    molecular_weight : float or None
        g/mol; needed between mass and moles or items.
    body_weight : float or None
        kg; needed for per-kg units.
    """
    dim, factor, per_kg = parse_dose_unit(unit)
    given = f"{amount:g} {unit}"
    if per_kg:
        if body_weight is None:
            raise DosingError(f"dose of {given} into {species!r} is per kg and needs a body weight in kg "
                              f"({BODY_WEIGHT_SOURCES})")
        amount = amount * body_weight
    if target.dimension is None:
        raise DosingError(
            f"cannot convert {unit} into the substance units of {species!r} ({target.label or 'undeclared'}); "
            "give the dose in model units (unit=None in Python, no unit= in a --dose spec) or declare the "
            "species' substance units in the model")
    si = amount * factor  # g or mol
    if dim == "mass" and target.dimension in ("mole", "item"):
        if not molecular_weight:
            raise DosingError(f"dose of {given} into {species!r} needs a molecular weight in g/mol to convert "
                              f"mass to moles ({MOLECULAR_WEIGHT_SOURCES})")
        si, dim = si / molecular_weight, "mole"
    elif dim == "mole" and target.dimension == "mass":
        if not molecular_weight:
            raise DosingError(f"dose of {given} into {species!r} needs a molecular weight in g/mol to convert "
                              f"moles to mass ({MOLECULAR_WEIGHT_SOURCES})")
        si, dim = si * molecular_weight, "mass"
    if target.dimension == "item":
        return si * AVOGADRO / target.factor
    return si / target.factor
