"""A :class:`~qsp.fit.dataset_objective.DatasetObjective` written as a PEtab v1 problem.

PEtab v1 has no dosing records: each subject is a simulation condition, and its doses are what this
module adds to the SBML model, set per condition by condition-table parameters. A bolus at time 0
adds ``dose_S_0_amount`` to the initial value of species ``S`` (an initial assignment: libRoadRunner
settles the events that fire at the start when it resets, before a condition's values are set); a
later one is the event ``time >= dose_S_k_time: S = S + dose_S_k_amount`` (over the compartment
where ``S`` means a concentration; lag and bioavailability parameters in the trigger and the
assignment, numbers folded into the values; unused slots at time ``inf``, amount 0); an infusion is
a term ``piecewise(infusion_S_k_rate, infusion_S_k_start <= time && time < infusion_S_k_end, 0)`` of
a new reaction ``-> S``. ADDL repeats are written out, up to the subject's last record. Parameters
set per subject by the dataset are condition-table columns. A subject not starting at time 0 is
shifted to start there (exact unless the model reads the time: then refused).

What PEtab v1 cannot express exactly is a one-line :class:`qsp.InputError` naming the row: SS
doses, resets (EVID 3, 4), modelled rates and durations (RATE -1, -2), parameters changing within a
subject, infusions with a parameter lag or bioavailability, and an observation written before a dose
at the same time (PEtab sees the dose first). Censored (BLQ) rows are refused, or dropped with a
warning when ``censored="drop"``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd

from ..errors import InputError, QSPWarning
from .objective import to_linear
from .petab_read import PetabTables

__all__ = ["dataset_tables", "export_dataset"]


def export_dataset(objective, directory, x=None, *, censored: str = "refuse") -> str:
    """Write ``objective`` as a PEtab v1 problem in ``directory`` (nominal values from ``x``, on the
    parameter scales; None: the objective's) and lint it; returns the YAML path."""
    from .petab_export import write_problem

    return write_problem(dataset_tables(objective, x, censored=censored), directory)


def dataset_tables(obj, x=None, *, censored: str = "refuse") -> PetabTables:
    """The SBML model and the four PEtab tables of ``obj`` (see the module's description)."""
    import libsbml

    if censored not in ("refuse", "drop"):
        raise InputError(f"censored must be 'refuse' or 'drop'; got {censored!r}")
    x = obj.space.nominal if x is None else np.asarray(x, dtype=float)
    if x.shape != (len(obj.space),):
        raise InputError(f"x must have one value per estimated parameter ({len(obj.space)}); got shape {x.shape}")
    doc = libsbml.readSBMLFromString(obj._model_ref.sbml)
    if doc.getLevel() < 3 and not doc.setLevelAndVersion(3, 2, False):
        raise InputError("PEtab export: the model cannot be converted to SBML Level 3 for its dose events")
    model = doc.getModel()
    _check_estimated(obj, model)
    measured = set(obj.measurements["row"].astype(int).tolist())
    options: dict = {}
    subjects = [_Subject.of(plan, model, measured, options) for plan in obj.plans]
    if len({s.condition for s in subjects}) < len(subjects):  # IDs alike once made identifiers (1.5, 1_5)
        for k, s in enumerate(subjects):
            s.condition = f"subject_{k + 1}"
    _shift_times(subjects, model)
    conditions = _Doses(doc, subjects, options).write(obj)
    observables, noise_of = _observables(obj, model)
    measurements = _measurements(obj, subjects, noise_of, censored)
    parameters = _parameters(obj, x, model)
    return PetabTables(sbml=libsbml.writeSBMLToString(doc), condition_df=conditions, measurement_df=measurements,
                       observable_df=observables, parameter_df=parameters,
                       name=re.sub(r"\W", "_", obj._model_ref.name) or "dataset")


# ---------------------------------------------------------------------------------------------- checks
def _check_estimated(obj, model) -> None:
    for pid in obj.model_ids:
        if model.getParameter(pid) is None:
            raise InputError(f"PEtab export: {pid!r} is estimated but is not a model parameter (PEtab v1 estimates "
                             "parameters only)")
    per_subject = {k for p in obj.plans for k, _ in p.initial}
    clash = sorted(per_subject & set(obj.model_ids))
    if clash:
        raise InputError(f"PEtab export: {clash[0]!r} is estimated and also set per subject by the dataset")


def _row(r) -> str:
    return f"dataset row {int(r)}"


class _Subject:
    """One subject's doses as PEtab can hold them: boluses and infusions with numeric times."""

    def __init__(self, plan, condition: str):
        self.plan, self.condition, self.shift = plan, condition, 0.0
        self.boluses: dict[str, dict[float, float]] = defaultdict(dict)   # species -> {time: amount}
        self.infusions: dict[str, list[tuple[float, float, float]]] = defaultdict(list)  # (start, end, rate)

    @classmethod
    def of(cls, plan, model, measured: set, options: dict) -> _Subject:
        """``measured``: the rows that are measurements; ``options``: (lag|bioavailability, species) ->
        the model parameter it reads, filled in as dose records name them."""
        s = cls(plan, _condition_id(plan.subject))
        end = float(np.max(plan.times)) if len(plan.times) else 0.0
        observed_at: dict[float, int] = {}
        for i, t in enumerate(plan.times.tolist()):
            row, evid = int(plan.rows[i]), int(plan.evids[i])
            if evid in (3, 4):
                raise InputError(f"PEtab export: {_row(row)} resets the subject (EVID {evid}); PEtab v1 has no resets")
            changed = (plan.settings[i] if i > 0 else ()) or (plan.after[i] if plan.after else ())
            if changed:
                raise InputError(f"PEtab export: {_row(row)} changes parameter {changed[0][0]!r} within the subject; "
                                 "PEtab v1 conditions hold one value per subject")
            if row in measured:
                observed_at.setdefault(t, row)
            rec = plan.doses[i]
            if rec is None:
                continue
            if rec.steady_state:
                raise InputError(f"PEtab export: {_row(row)} is a steady-state dose (SS {rec.steady_state}); PEtab "
                                 "v1 cannot express it")
            if rec.rate in (-1, -2):
                what = "rate" if rec.rate == -1 else "duration"
                raise InputError(f"PEtab export: {_row(row)} has a modelled infusion {what} (RATE {rec.rate:g}); "
                                 "PEtab v1 cannot express it")
            times = [t]
            if rec.additional and rec.interval > 0:
                times += [t + k * rec.interval for k in range(1, rec.additional + 1) if t + k * rec.interval <= end]
            for k, tk in enumerate(times):
                s._add(rec, tk, row, model, options, observed_at if k == 0 else {})
        return s

    def _add(self, rec, t: float, row: int, model, options: dict, observed_at: dict) -> None:
        opts = dict(rec.options)
        lag, f = opts.get("lag", 0.0), opts.get("bioavailability", 1.0)
        for name, value in (("lag", lag), ("bioavailability", f)):
            if isinstance(value, str):
                if model.getParameter(value) is None or _is_ruled(model, value):
                    raise InputError(f"PEtab export: {_row(row)}: the {name} {value!r} must be a model parameter "
                                     "that no rule or initial assignment sets")
                if options.setdefault((name, rec.species), value) != value:
                    raise InputError(f"PEtab export: {_row(row)}: the {name} of doses into {rec.species!r} is "
                                     f"{value!r} here and {options[(name, rec.species)]!r} elsewhere")
        start = t + (lag if not isinstance(lag, str) else 0.0)
        if rec.rate > 0 or rec.duration > 0:
            if isinstance(lag, str) or isinstance(f, str):
                raise InputError(f"PEtab export: {_row(row)} is an infusion whose lag or bioavailability is a model "
                                 "parameter; PEtab export supports numbers there")
            amount = rec.amount * f
            if amount > 0:
                rate, dur = (rec.rate, amount / rec.rate) if rec.rate > 0 else (amount / rec.duration, rec.duration)
                self.infusions[rec.species].append((start, start + dur, rate))
            return
        if rec.amount <= 0:
            return
        if not isinstance(lag, str) and start in observed_at:
            raise InputError(f"PEtab export: {_row(observed_at[start])} is an observation written before the dose "
                             f"of {_row(row)} at the same time; PEtab v1 sees the dose first (write the dose first)")
        amount = rec.amount * (f if not isinstance(f, str) else 1.0)
        slot = self.boluses[rec.species]
        slot[start] = slot.get(start, 0.0) + amount


def _is_ruled(model, sid: str) -> bool:
    return any(r.getVariable() == sid for r in model.getListOfRules()) or \
        model.getInitialAssignmentBySymbol(sid) is not None


def _condition_id(subject) -> str:
    text = re.sub(r"\W", "_", str(subject))
    return f"subject_{text}"


def _model_reads_time(model) -> bool:
    from ..sbml import reads_time

    maths = [r.getMath() for r in model.getListOfRules()]
    maths += [r.getKineticLaw().getMath() for r in model.getListOfReactions() if r.isSetKineticLaw()]
    for ev in model.getListOfEvents():
        maths += [ev.getTrigger().getMath() if ev.isSetTrigger() else None,
                  ev.getDelay().getMath() if ev.isSetDelay() else None]
        maths += [a.getMath() for a in ev.getListOfEventAssignments()]
    return any(reads_time(model, m) for m in maths if m is not None)


def _shift_times(subjects: list[_Subject], model) -> None:
    """Start every subject at time 0 (PEtab simulations do), when that changes nothing."""
    late = [s for s in subjects if len(s.plan.times) and float(s.plan.times[0]) != 0.0]
    if not late:
        return
    if _model_reads_time(model):
        s = late[0]
        raise InputError(f"PEtab export: subject {s.plan.subject} starts at TIME {float(s.plan.times[0]):g}, not 0, "
                         "and the model reads the time; PEtab v1 simulations start at 0")
    for s in late:
        s.shift = float(s.plan.times[0])
        s.boluses = defaultdict(dict, {sp: {t - s.shift: a for t, a in d.items()} for sp, d in s.boluses.items()})
        s.infusions = defaultdict(list, {sp: [(a - s.shift, b - s.shift, r) for a, b, r in v]
                                         for sp, v in s.infusions.items()})


# ---------------------------------------------------------------------------------------------- the model
class _Doses:
    """The dose events and infusion reactions added to the model, and the condition table that sets them."""

    def __init__(self, doc, subjects: list[_Subject], options: dict):
        from ..sbml import infusible_species

        self.doc, self.model, self.subjects, self.options = doc, doc.getModel(), subjects, options
        self.taken = {el.getId() for el in doc.getListOfAllElements() if el.isSetId()}
        self.infusible = set(infusible_species(doc))
        self.columns: dict[str, list[float]] = {}

    def _fresh(self, base: str) -> str:
        stem = re.sub(r"\W", "_", base)
        pid, k = stem, 1
        while pid in self.taken:
            k += 1
            pid = f"{stem}_{k}"
        self.taken.add(pid)
        return pid

    def _parameter(self, base: str, values: list[float], default: float) -> str:
        pid = self._fresh(base)
        p = self.model.createParameter()
        p.setId(pid)
        p.setConstant(True)
        p.setValue(default)  # dose times inf: no event fires when libRoadRunner resets
        self.columns[pid] = values
        return pid

    def write(self, obj) -> pd.DataFrame:
        species = sorted({sp for s in self.subjects for sp in s.boluses} | {sp for s in self.subjects
                                                                           for sp in s.infusions})
        for sp in species:
            self._check_species(sp)
            lag = self.options.get(("lag", sp))
            if not lag and any(s.boluses.get(sp, {}).get(0.0) for s in self.subjects):
                self._initial(sp, [s.boluses.get(sp, {}).pop(0.0, 0.0) for s in self.subjects])
            n = max(len(s.boluses.get(sp, {})) for s in self.subjects)
            for k in range(n):
                self._bolus(sp, k)
            n = max(len(s.infusions.get(sp, [])) for s in self.subjects)
            if n:
                self._infusion(sp, n)
        index = [s.condition for s in self.subjects]
        table = pd.DataFrame(self.columns, index=pd.Index(index, name="conditionId"))
        names = sorted({k for s in self.subjects for k, _ in s.plan.initial})
        for name in names:
            table[name] = [dict(s.plan.initial).get(name, math.nan) for s in self.subjects]
        for key, value in obj.base.items():
            if self.model.getCompartment(key) is not None:
                table[key] = float(value)
        table.insert(0, "conditionName", [str(s.plan.subject) for s in self.subjects])
        return table

    def _check_species(self, sp: str) -> None:
        s = self.model.getSpecies(sp)
        if s is None or s.getConstant() or s.getBoundaryCondition() or \
                any(r.isAssignment() and r.getVariable() == sp for r in self.model.getListOfRules()):
            raise InputError(f"PEtab export: doses go into {sp!r}, which is not a species the model integrates")

    def _amount_math(self, sp: str, value: str) -> str:
        f = self.options.get(("bioavailability", sp))
        out = f"{value} * {f}" if f else value
        s = self.model.getSpecies(sp)
        return out if s.getHasOnlySubstanceUnits() else f"({out}) / {s.getCompartment()}"

    def _initial(self, sp: str, amounts: list[float]) -> None:
        """Doses at time 0 add to the initial value (an initial assignment): libRoadRunner settles the events
        that fire at the start when it resets, before the condition's values are set."""
        import libsbml

        aid = self._parameter(f"dose_{sp}_0_amount", amounts, 0.0)
        s, m = self.model.getSpecies(sp), self.model
        ia = m.getInitialAssignmentBySymbol(sp)
        if ia is not None:
            old = f"({libsbml.formulaToL3String(ia.getMath())})"
        else:  # the initial value as SBML math reads it (amount or concentration), in the compartment
            amount = s.isSetInitialAmount() or not s.isSetInitialConcentration()
            v = s.getInitialAmount() if amount else s.getInitialConcentration()
            old = repr(float(v)) if math.isfinite(v) else "0"
            if amount != s.getHasOnlySubstanceUnits() and old != "0":
                old = f"{old} {'/' if amount else '*'} {s.getCompartment()}"
            ia = m.createInitialAssignment()
            ia.setSymbol(sp)
        ia.setMath(libsbml.parseL3Formula(f"{old} + {self._amount_math(sp, aid)}"))

    def _bolus(self, sp: str, k: int) -> None:
        import libsbml

        times, amounts = [], []
        for s in self.subjects:
            doses = sorted(s.boluses.get(sp, {}).items())
            t, a = doses[k] if k < len(doses) else (math.inf, 0.0)
            times.append(t)
            amounts.append(a)
        tid = self._parameter(f"dose_{sp}_{k + 1}_time", times, math.inf)
        aid = self._parameter(f"dose_{sp}_{k + 1}_amount", amounts, 0.0)
        lag = self.options.get(("lag", sp))
        ev = self.model.createEvent()
        ev.setId(self._fresh(f"dose_{sp}_{k + 1}"))
        ev.setUseValuesFromTriggerTime(True)
        trig = ev.createTrigger()
        trig.setInitialValue(False)  # a dose at time 0 fires at the start
        trig.setPersistent(True)
        trig.setMath(libsbml.parseL3Formula(f"time >= {tid} + {lag}" if lag else f"time >= {tid}"))
        ea = ev.createEventAssignment()
        ea.setVariable(sp)
        ea.setMath(libsbml.parseL3Formula(f"{sp} + {self._amount_math(sp, aid)}"))

    def _infusion(self, sp: str, n: int) -> None:
        import libsbml

        if sp not in self.infusible:
            raise InputError(f"PEtab export: {sp!r} takes boluses only (it has a rate rule or a conversion factor)")
        terms = []
        for k in range(n):
            rows = [s.infusions.get(sp, [])[k] if k < len(s.infusions.get(sp, [])) else (0.0, 0.0, 0.0)
                    for s in self.subjects]
            a = self._parameter(f"infusion_{sp}_{k + 1}_start", [r[0] for r in rows], 0.0)
            b = self._parameter(f"infusion_{sp}_{k + 1}_end", [r[1] for r in rows], 0.0)
            r = self._parameter(f"infusion_{sp}_{k + 1}_rate", [r[2] for r in rows], 0.0)
            terms.append(f"piecewise({r}, {a} <= time && time < {b}, 0)")
        reaction = self.model.createReaction()
        reaction.setId(self._fresh(f"infusion_{sp}"))
        reaction.setReversible(False)
        if self.doc.getVersion() == 1:
            reaction.setFast(False)
        ref = reaction.createProduct()
        ref.setSpecies(sp)
        ref.setStoichiometry(1.0)
        ref.setConstant(True)
        reaction.createKineticLaw().setMath(libsbml.parseL3Formula(" + ".join(terms)))


# ---------------------------------------------------------------------------------------------- the tables
def _formula(model, output: str) -> str:
    """The PEtab formula of a qsp output selector (a species id means its concentration unless the species
    has only substance units, as in SBML math)."""
    sid = output[1:-1] if output.startswith("[") and output.endswith("]") else output
    s = model.getSpecies(sid)
    if s is None:
        return output
    amount_only = s.getHasOnlySubstanceUnits()
    if output.startswith("["):
        return f"{sid} / {s.getCompartment()}" if amount_only else sid
    return sid if amount_only else f"{sid} * {s.getCompartment()}"


def _observables(obj, model) -> tuple[pd.DataFrame, dict]:
    ids, rows = {}, []
    for output in dict.fromkeys(obj.measurements["output"]):
        oid = "obs_" + (re.sub(r"\W", "_", output).strip("_") or "y")
        while oid in ids.values():
            oid += "_"
        ids[output] = oid
        p1, p2 = f"noiseParameter1_{oid}", f"noiseParameter2_{oid}"
        y = _formula(model, output)  # petab.lint wants model quantities in a noise formula, not the observable
        noise = {"additive": p1, "proportional": f"{p1} * abs({y})",
                 "combined": f"sqrt({p1}^2 + ({p2} * ({y}))^2)"}[obj.error]
        rows.append({"observableId": oid, "observableFormula": y,
                     "observableTransformation": "log" if obj.distribution == "lognormal" else "lin",
                     "noiseFormula": noise, "noiseDistribution": "normal"})
    return pd.DataFrame(rows).set_index("observableId"), ids


def _sigma_text(obj, name: str) -> str:
    if f"sigma_{name}" in obj.space.ids:
        return f"sigma_{name}"
    return repr(float(obj.sigma_fixed[name]))


def _measurements(obj, subjects: list[_Subject], ids: dict, censored: str) -> pd.DataFrame:
    m = obj.measurements
    cut = m["censored"].to_numpy(bool)
    if cut.any():
        first = int(m["row"].to_numpy()[np.flatnonzero(cut)[0]])
        if censored == "refuse":
            raise InputError(f"PEtab export: {_row(first)} is censored (BLQ 1) and PEtab v1 has no censoring; drop "
                             "the BLQ rows first, or export with censored='drop'")
        warnings.warn(f"PEtab export: {int(cut.sum())} censored (BLQ) observations left out, first {_row(first)}; "
                      "the exported likelihood lacks their M3 terms", QSPWarning, stacklevel=3)
    by_subject = {s.plan.subject: s for s in subjects}
    where = [by_subject[subject] for subject, _ in obj._where]
    names = {"additive": ["add"], "proportional": ["prop"], "combined": ["add", "prop"]}[obj.error]
    noise = ";".join(_sigma_text(obj, n) for n in names)
    table = pd.DataFrame({"observableId": m["output"].map(ids).to_numpy(),
                          "simulationConditionId": [s.condition for s in where],
                          "time": m["time"].to_numpy(float) - np.array([s.shift for s in where]),
                          "measurement": m["measurement"].to_numpy(float), "noiseParameters": noise})
    return table.loc[~cut].reset_index(drop=True)


def _parameters(obj, x: np.ndarray, model) -> pd.DataFrame:
    space = obj.space
    lower, upper = to_linear(space.lower, space.scales), to_linear(space.upper, space.scales)
    rows = [{"parameterId": pid, "parameterScale": sc, "lowerBound": lo, "upperBound": hi, "nominalValue": v,
             "estimate": 1} for pid, sc, lo, hi, v in zip(space.ids, space.scales, lower, upper,
                                                          to_linear(x, space.scales))]
    rows += [{"parameterId": pid, "parameterScale": "lin", "lowerBound": float(v), "upperBound": float(v),
              "nominalValue": float(v), "estimate": 0} for pid, v in obj.base.items()
             if model.getParameter(pid) is not None]
    return pd.DataFrame(rows).set_index("parameterId")
