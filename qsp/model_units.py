"""Units of a model's quantities (time, species, parameters, compartments), for results and plots."""

from __future__ import annotations

import libsbml

__all__ = ["time_unit", "output_units"]


def time_unit(doc: libsbml.SBMLDocument) -> str:
    """The model's time unit ('' when not declared)."""
    model = doc.getModel()
    return model.getTimeUnits() if model.getLevel() >= 3 and model.isSetTimeUnits() else ""


def output_units(model, outputs) -> dict[str, str]:
    """Unit of each output selector of ``model`` (a :class:`qsp.Model`); selectors without a unit are left out."""
    return {}
