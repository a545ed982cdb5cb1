"""A regimen of :class:`qsp.Dose` objects run by the dataset engine, for doses given at steady state.

``Model.simulate`` hands a regimen here when a dose has ``steady_state=True``: the doses become dose
records (as event-table rows with II, ADDL and SS 1) and the output times EVID 2 rows after them,
so the value reported at a dosing instant is, as everywhere in ``simulate``, the value just after
the dose.
"""

from __future__ import annotations

import numpy as np

from ..dosing import Dose
from ..errors import DosingError
from .plan import DoseRecord, SubjectPlan
from .subject import run_subject

__all__ = ["simulate_regimen"]


def _record(model, dose: Dose, body_weight) -> DoseRecord:
    amount = model._amount(dose, body_weight)
    return DoseRecord(dose.target, amount, 0.0, dose.duration or 0.0, dose.every or 0.0, dose.count - 1,
                      1 if dose.steady_state else 0,
                      (("lag", dose.lag), ("bioavailability", dose.bioavailability)))


def simulate_regimen(model, grid: np.ndarray, t_start: float, outputs: tuple[str, ...], overrides: dict,
                     doses: tuple[Dose, ...], body_weight, rtol: float, atol: float) -> np.ndarray:
    """The outputs at ``grid`` (n_points x n_outputs) for ``doses`` from ``t_start``."""
    for d in doses:
        model._check_target(d)
        if d.time < t_start:
            raise DosingError(f"a dose at t={d.time:g} comes before t_start={t_start:g}")
    if sum(d.steady_state for d in doses) > 1:
        raise DosingError("only one dose of a regimen can be given at steady state (each resets the model)")
    events = [(d.time, 0, _record(model, d, body_weight)) for d in doses]
    events += [(float(t), 1, None) for t in grid]
    events.append((float(t_start), -1, None))  # where the simulation starts
    events.sort(key=lambda e: (e[0], e[1]))
    times = np.array([e[0] for e in events])
    evids = np.array([1 if e[2] is not None else 2 for e in events])
    out = np.full(len(events), -1)
    is_output = np.array([e[1] == 1 for e in events])
    out[is_output] = np.arange(int(is_output.sum()))
    plan = SubjectPlan("regimen", np.arange(len(events)), times, evids, tuple(() for _ in events),
                       tuple(e[2] for e in events), out, ())
    values, _ = run_subject(model, plan, outputs, dict(overrides), rtol=rtol, atol=atol,
                            ss_tolerance=max(100 * rtol, 1e-10))
    return values
