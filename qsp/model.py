"""The :class:`Model`: load, check, inspect, dose and simulate an SBML or Antimony model."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from . import engine, model_units
from . import sbml as _sbml
from ._ids import unknown_id
from .catalog import model_metadata, model_path
from .dosing import Dose, Schedule, as_dose_list, build_schedule
from .errors import DosingError, InputError, ModelError, QSPWarning, UnknownIdError
from .initial_state import compile_plan, compile_triggers
from .result import SimulationResult
from .instance import WarmInstance
from .arguments import MAX_VALUES, _as_mapping, _check_equilibrate, _finite, _output_grid, check_tolerances
from .units import substance_unit, to_model_amount

__all__ = ["Model", "load_model"]

_ANTIMONY_SUFFIXES = {".ant", ".antimony", ".txt"}
_SBML_SUFFIXES = {".xml", ".sbml"}


class Model(WarmInstance):
    """A compiled SBML model with one warm libRoadRunner instance.

    Build one with :meth:`from_file`, :meth:`from_sbml`, :meth:`from_antimony`,
    :meth:`bundled` or :func:`load_model`. Every :meth:`simulate` call starts
    from the model's defined initial state: overrides are arguments, never
    left behind for the next call.

    Attributes
    ----------
    name : str
        Model name (the bundled name, the file stem, or the SBML model id).
    metadata : dict
        Drugs, regimens, outputs and parameter ranges (shipped models); ``{}`` otherwise.
    sbml : str
        The SBML text as loaded (before qsp adds its infusion inputs).
    """

    def __init__(self, sbml: str, *, name: str | None = None, metadata: Mapping | None = None,
                 location: str | os.PathLike | None = None):
        doc = _sbml.parse_sbml(sbml, location=str(location) if location else None)
        doc = _sbml.flatten(doc)
        _sbml.check_supported(doc)
        #: Global ids of the parameters that were reaction-local in the file: id -> (reaction, local id).
        self.local_parameters = _sbml.promote_local_parameters(doc)
        self.sbml = sbml if isinstance(sbml, str) else sbml.decode("utf-8", errors="replace")
        self._location = str(location) if location else None
        self._doc = doc
        model = doc.getModel()
        self.name = name or model.getId() or model.getName() or "model"
        self.metadata = dict(metadata or {})

        import libsbml

        sim_doc = doc.clone()
        self._infusion = _sbml.add_infusion_inputs(sim_doc, _sbml.infusible_species(sim_doc))
        self._time_gate = _sbml.gate_time_events(sim_doc)
        self._sim_sbml = libsbml.writeSBMLToString(sim_doc)
        self._rr = self._compile(self._sim_sbml)
        self._index_ids()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_sbml(cls, text: str | bytes, *, name: str | None = None) -> Model:
        """Load SBML (Level 2 or 3) from a string."""
        if not isinstance(text, (str, bytes)):
            raise ModelError(f"Model.from_sbml expects SBML text (str or bytes). Got {type(text).__name__} instead.")
        return cls(text, name=name)

    @classmethod
    def from_antimony(cls, text: str, *, name: str | None = None) -> Model:
        """Load a model from Antimony text."""
        if not isinstance(text, str):
            raise ModelError(f"Model.from_antimony expects Antimony text (str). Got {type(text).__name__} instead.")
        return cls(_sbml.antimony_to_sbml(text), name=name)

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, name: str | None = None) -> Model:
        """Load an SBML (``.xml``, ``.sbml``) or Antimony (``.ant``, ``.antimony``, ``.txt``) file."""
        if not isinstance(path, (str, os.PathLike)):
            raise ModelError(f"Model.from_file expects a file path. Got {type(path).__name__} instead.")
        p = Path(path)
        data = _sbml.read_model_file(p)
        suffix = p.suffix.lower()
        if suffix in _ANTIMONY_SUFFIXES:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ModelError(f"Antimony file {str(p)!r} is not UTF-8 text") from None
            return cls(_sbml.antimony_to_sbml(text), name=name or p.stem)
        if suffix not in _SBML_SUFFIXES and not data.lstrip().startswith(b"<"):
            raise ModelError(f"cannot tell the format of {str(p)!r}: use a .xml/.sbml (SBML) or .ant (Antimony) file")
        return cls(data.decode("utf-8", errors="replace"), name=name or p.stem, location=p)

    @classmethod
    def bundled(cls, name: str) -> Model:
        """Load a model shipped with qsp by name (see :func:`qsp.list_models`)."""
        path = model_path(name)
        return cls(_sbml.read_model_file(path).decode("utf-8"), name=name, metadata=model_metadata(name),
                   location=path)

    @staticmethod
    def _compile(sbml_text: str):
        from . import engine

        try:
            return engine.compile_sbml(sbml_text)
        except Exception as exc:  # roadrunner raises RuntimeError and others
            msg = " ".join(str(exc).split())
            raise ModelError(f"libRoadRunner cannot compile the model: {msg[:500]}") from None

    def _index_ids(self) -> None:

        rr = self._rr
        m = engine.model_of(rr)
        self._floating = list(m.getFloatingSpeciesIds())
        self._boundary = list(m.getBoundarySpeciesIds())
        self._compartments = list(m.getCompartmentIds())
        internal = set(self._infusion.values()) | {self._time_gate}
        self._parameters = [p for p in m.getGlobalParameterIds() if p not in internal]
        self._reactions = [r for r in m.getReactionIds() if not r.startswith(_sbml.INFUSION_REACTION_PREFIX)]
        self._assigned = set(engine._R.RoadRunner_getAssignmentRuleIds(rr))
        self._with_initial_assignment = set(engine._R.RoadRunner_getInitialAssignmentIds(rr))
        species = self._floating + self._boundary
        self._selectors = set(species) | {f"[{s}]" for s in species} | set(self._compartments) \
            | set(self._parameters) | set(self._reactions)
        self._default_outputs = [str(s) for s in engine._R.RoadRunner__getSelections(rr) if str(s) != "time"]
        # Initial values as loaded (after initial assignments), for introspection and restoring.
        self._defaults: dict[str, float] = {}
        for sid in self._parameters + self._compartments + species:
            if sid not in self._assigned:
                self._defaults[sid] = engine.get_value(rr, sid)
        for sid in species:
            if sid not in self._assigned:
                self._defaults[f"[{sid}]"] = engine.get_value(rr, f"[{sid}]")
        self._ia_inputs = _sbml.initial_assignment_inputs(self._doc)
        self._conc_species = _sbml.concentration_species_by_compartment(self._doc)
        self._ia_plan = compile_plan(self._doc, self._conc_species) if self._ia_inputs else None
        self._triggers = [t for t in compile_triggers(self._doc) if t.reads]
        self._dirty: dict[str, float] = {}
        self._used = False
        self._has_delayed_events = any(e.isSetDelay() for e in self._doc.getModel().getListOfEvents())
        self._selection: tuple[str, ...] | None = None
        self._tolerances: tuple[float, float] | None = None
        self._schedules: dict = {}
        self.time_unit = model_units.time_unit(self._doc)
        self._drug_mw = {d["target"]: d.get("molecular_weight") for d in self.metadata.get("drugs", [])
                         if "target" in d}

    # ------------------------------------------------------------------ checking
    def validate(self, *, units: bool = True):
        """Run libsbml's consistency checks (and units checks) on the model as loaded.

        Returns
        -------
        ValidationReport
        """
        from .validation import validate_document

        return validate_document(self.sbml, units=units, location=self._location)

    # ------------------------------------------------------------------ introspection
    @property
    def species(self):
        """Species table indexed by id (name, compartment, value, quantity, units, constant, boundary_condition)."""
        from .introspection import species_table

        return species_table(self)

    @property
    def parameters(self):
        """Global parameter table indexed by id (name, value, units, constant, rule)."""
        from .introspection import parameter_table

        return parameter_table(self)

    @property
    def compartments(self):
        """Compartment table indexed by id (name, value, units, constant, dimensions)."""
        from .introspection import compartment_table

        return compartment_table(self)

    @property
    def reactions(self):
        """Reaction table indexed by id (name, equation, rate_law, reversible)."""
        from .introspection import reaction_table

        return reaction_table(self)

    @property
    def events(self):
        """Event table indexed by id (name, trigger, delay, assignments)."""
        from .introspection import event_table

        return event_table(self)

    @property
    def rules(self):
        """Rule table (variable, type, formula)."""
        from .introspection import rule_table

        return rule_table(self)

    @property
    def outputs(self) -> list[str]:
        """Default output selectors (those libRoadRunner reports by default)."""
        return list(self._default_outputs)

    @property
    def dose_targets(self) -> list[str]:
        """Species that accept both boluses and infusions."""
        return list(self._infusion)

    def __repr__(self) -> str:
        # Counted as the tables list them: every SBML species (boundary ones too), parameter and reaction.
        m = self._doc.getModel()
        n_boundary = sum(1 for s in m.getListOfSpecies() if s.getBoundaryCondition())
        boundary = f" ({n_boundary} boundary)" if n_boundary else ""
        return (f"Model({self.name!r}: {m.getNumSpecies()} species{boundary}, {m.getNumParameters()} parameters, "
                f"{m.getNumReactions()} reactions)")

    def _repr_html_(self) -> str | None:
        from .display import model_html

        return model_html(self)

    # ------------------------------------------------------------------ regimens
    def regimen(self, name: str | None = None) -> tuple[list[Dose], dict[str, float]]:
        """Doses and parameter overrides of a regimen in the model's metadata (default regimen if None)."""
        regimens = self.metadata.get("regimens", {})
        name = name or self.metadata.get("default_regimen")
        if name not in regimens:
            raise unknown_id("regimen", str(name), regimens, where=f" of model {self.name!r}")
        spec = regimens[name]
        return [Dose.from_dict(d) for d in spec.get("doses", [])], dict(spec.get("params", {}))

    def parameter_set(self, name: str) -> dict[str, float]:
        """Values of a named parameter set of the model's metadata (e.g. another calibration), for ``params=``.

        Shipped models list theirs under ``parameter_sets`` in the metadata, each with a description and
        its provenance (see ``qsp info MODEL``).
        """
        sets = self.metadata.get("parameter_sets", {})
        if name not in sets:
            raise unknown_id("parameter set", str(name), sets, where=f" of model {self.name!r}")
        return {k: float(v) for k, v in sets[name]["params"].items()}

    # ------------------------------------------------------------------ simulation
    def simulate(self, t_end: float | None = None, *, points: int | None = None,
                 times: Sequence[float] | None = None, t_start: float = 0.0,
                 outputs: Sequence[str] | None = None, params: Mapping[str, float] | None = None,
                 initial: Mapping[str, float] | None = None, doses: Dose | Iterable[Dose] | None = None,
                 body_weight: float | None = None, rtol: float = 1e-6, atol: float = 1e-12,
                 equilibrate: float | None = None, regimen: str | None = None) -> SimulationResult:
        """Simulate a time course.

        Parameters
        ----------
        t_end : float
            End time (model time unit). Optional when ``times`` is given.
        points : int, default 101
            Number of equally spaced output points from ``t_start`` to ``t_end``.
        times : sequence of float, optional
            Exact, strictly increasing output times (instead of ``points``).
        t_start : float, default 0
            Start time; the model starts from its initial state here.
        outputs : sequence of str, optional
            Selectors: ``S`` (amount), ``[S]`` (concentration), compartment, parameter,
            assignment-rule or reaction ids. Default: :attr:`outputs`.
        params : mapping, optional
            Parameter (and compartment) values for this call only; initial assignments that
            depend on them are recomputed.
        initial : mapping, optional
            Initial values for this call only: ``S`` sets an amount, ``[S]`` a concentration.
        doses : Dose or iterable of Dose, optional
            The regimen.
        body_weight : float, optional
            kg, for per-kg doses (default: the model metadata's ``body_weight``).
        rtol, atol : float
            CVODE relative and absolute tolerances.
        equilibrate : float, optional
            Run the untreated model for this long first, then start the dosed simulation from the
            state reached, with the clock set back to ``t_start`` (model time unit). Use it to start
            from a (near) steady state, e.g. an untreated baseline. The pre-run has ``params`` and
            ``initial`` but no doses and none of the regimen's parameters, and events whose trigger
            reads the time do not fire in it (an event already true at t = 0 fires once, at the start
            of the pre-run, as libRoadRunner settles start-time events when it resets).
        regimen : str, optional
            A regimen of the model's metadata (see :meth:`regimen`): its doses come before ``doses``
            and its parameters apply under ``params`` (which win on a clash).

        Returns
        -------
        SimulationResult

        Raises
        ------
        UnknownIdError, DosingError, SimulationError, QSPError
        """
        grid, t_start, t_end = _output_grid(t_end, points, times, t_start)
        rtol, atol = check_tolerances(rtol, atol)
        outputs = self._check_outputs(outputs)
        if len(grid) * len(outputs) > MAX_VALUES:
            raise InputError(f"{len(grid)} points x {len(outputs)} outputs is more than the {MAX_VALUES:,} values "
                             "one simulation may return; use fewer points or outputs")
        doses = as_dose_list(doses)
        treatment: dict[str, float] = {}
        if regimen is not None:
            reg_doses, treatment = self.regimen(regimen)
            doses = tuple(reg_doses) + doses
        params = _as_mapping(params, "params")
        overrides = self._override_keys({**treatment, **params}, _as_mapping(initial, "initial"))
        schedule = self._schedule(doses, body_weight, t_start, t_end)
        equilibrate = _check_equilibrate(equilibrate)
        if any(d.steady_state for d in doses):
            if equilibrate:
                raise DosingError("a dose given at steady state starts the model from that steady state; it cannot "
                                  "be combined with equilibrate")
            from .events.regimen import simulate_regimen

            bw = body_weight if body_weight is not None else self.metadata.get("body_weight")
            values = simulate_regimen(self, grid, t_start, outputs, overrides, doses, bw, rtol, atol)
        else:
            values = self._run(grid, t_start, t_end, outputs, overrides, schedule, rtol, atol, equilibrate,
                               treatment=[k for k in treatment if k not in params])
        if not np.isfinite(values).all():
            bad = [outputs[j] for j in range(values.shape[1]) if not np.isfinite(values[:, j]).all()]
            warnings.warn(f"non-finite values in output(s) {bad}", QSPWarning, stacklevel=2)
        return SimulationResult(grid, values, outputs, time_unit=self.time_unit,
                                units=model_units.output_units(self, outputs))

    def simulate_dataset(self, data, outputs: Sequence[str] | str | None = None, **options):
        """Simulate a NONMEM-style event table, one subject per ensemble task; see
        :func:`qsp.datasets.simulate_dataset` for the options. Returns a ``DatasetSimulation``."""
        from .datasets.simulate import simulate_dataset

        return simulate_dataset(self, data, outputs, **options)

    # The pieces below are also used by the ensemble layer, which validates once and then
    # calls _run many times.
    def _check_outputs(self, outputs) -> tuple[str, ...]:
        if outputs is None:
            return tuple(self._default_outputs)
        if isinstance(outputs, str):
            outputs = [outputs]
        outputs = tuple(outputs)
        if not outputs:
            raise InputError("outputs must name at least one selector")
        for o in outputs:
            if o == "time":
                if "time" in self._selectors:
                    raise InputError(f"model {self.name!r} has a component with id 'time', which libRoadRunner "
                                     "cannot select apart from the simulation time; rename it to use it as an output")
                raise InputError("'time' is always the first column of a result; it is not an output")
            if o not in self._selectors and o not in self._other_selectors():
                raise unknown_id("output", str(o), self._selectors, where=f" of model {self.name!r}")
        return outputs

    def _other_selectors(self) -> set[str]:
        """Further ids libRoadRunner can report (e.g. species references); computed on first need."""
        if not hasattr(self, "_extra_selectors"):
            import roadrunner

            ids = engine.ids_of(self._rr, roadrunner.SelectionRecord.ALL)
            internal = set(self._infusion.values()) | {self._time_gate}
            self._extra_selectors = {i for i in ids if "(" not in i and "'" not in i and i not in internal
                                     and not i.startswith(_sbml.INFUSION_REACTION_PREFIX)}
        return self._extra_selectors

    def _override_keys(self, params, initial) -> dict[str, float]:
        keys: dict[str, float] = {}
        for pid, value in (params or {}).items():
            if pid not in self._parameters and pid not in self._compartments:
                if pid in self._floating or pid in self._boundary:
                    raise UnknownIdError(f"{pid!r} is a species, not a parameter; set it with initial={{{pid!r}: ...}}")
                scoped = [g for g, (_, local) in self.local_parameters.items() if local == pid]
                if scoped:
                    raise UnknownIdError(f"{pid!r} is a local parameter of reaction(s) "
                                         f"{', '.join(self.local_parameters[g][0] for g in scoped)}; address it as "
                                         f"{' or '.join(repr(g) for g in scoped)}")
                raise unknown_id("parameter", str(pid), self._parameters + self._compartments,
                                 where=f" of model {self.name!r}")
            keys[pid] = _finite(value, f"parameter {pid!r}")
            if pid in self._compartments and keys[pid] <= 0:
                raise InputError(f"compartment {pid!r} must have a size > 0 (a volume, area or length). "
                                 f"Got {value!r} instead.")
        species = set(self._floating) | set(self._boundary)
        for sel, value in (initial or {}).items():
            sid = sel[1:-1] if sel.startswith("[") and sel.endswith("]") else sel
            if sid not in species:
                raise unknown_id("species", str(sel), species, where=f" of model {self.name!r}")
            v = _finite(value, f"initial value of {sel!r}")
            if v < 0:
                raise InputError(f"initial value of {sel!r} must be >= 0. Got {value!r} instead.")
            keys[sel] = v
        for key in keys:
            if key not in self._defaults:
                raise InputError(f"{key!r} is set by an assignment rule and cannot be overridden; "
                               "override the quantities its rule uses")
        return keys

    def _schedule(self, doses: tuple[Dose, ...], body_weight, t_start: float, t_end: float) -> Schedule | None:
        if not doses:
            return None
        if body_weight is None:
            body_weight = self.metadata.get("body_weight")
        if body_weight is not None and (isinstance(body_weight, bool)
                                        or not isinstance(body_weight, (int, float, np.integer, np.floating))
                                        or not math.isfinite(body_weight) or body_weight <= 0):
            raise DosingError(f"body_weight must be a positive number of kg. Got {body_weight!r} instead.")
        body_weight = None if body_weight is None else float(body_weight)
        key = (doses, body_weight, t_end)
        cached = self._schedules.get(key)
        if cached is None:
            for d in doses:
                self._check_target(d)
            cached = build_schedule(doses, lambda d: self._amount(d, body_weight), lambda d: self._infusion[d.target],
                                    until=t_end)
            if len(self._schedules) > 256:
                self._schedules.clear()
            self._schedules[key] = cached
        if len(cached.times) and cached.times[0] < t_start:
            raise DosingError(f"a dose at t={cached.times[0]:g} comes before t_start={t_start:g}")
        return cached

    def _check_target(self, dose: Dose) -> None:
        t = dose.target
        if t not in self._floating:
            where = f" of model {self.name!r}"
            if t in self._boundary:
                s = self._doc.getModel().getSpecies(t)
                kind = "constant" if s is not None and s.getConstant() else "boundary"
                raise DosingError(f"dose target {t!r} is a {kind} species and cannot be dosed")
            raise unknown_id("dose target (floating species)", t, self._floating, where=where)
        if t in self._assigned:
            raise DosingError(f"dose target {t!r} is set by an assignment rule and cannot be dosed")
        if dose.is_infusion and t not in self._infusion:
            raise DosingError(f"dose target {t!r} is set by a rate rule or has a conversion factor; it takes "
                              "boluses only, not infusions")

    def _amount(self, dose: Dose, body_weight) -> float:
        if dose.unit is None:
            return dose.amount
        mw = dose.molecular_weight or self._drug_mw.get(dose.target)
        return to_model_amount(dose.amount, dose.unit, substance_unit(self._doc.getModel(), dose.target),
                               molecular_weight=mw, body_weight=body_weight, species=dose.target)


def load_model(source: str | os.PathLike) -> Model:
    """Load a shipped model by name or a model file by path.

    ``source`` is looked up first among the shipped models
    (:func:`qsp.list_models`), then as a file path. For model *text*, use
    :meth:`Model.from_sbml` or :meth:`Model.from_antimony`.
    """
    from .catalog import list_models

    if isinstance(source, str) and source in list_models():
        return Model.bundled(source)
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if isinstance(source, str) and (source.lstrip().startswith("<") or "\n" in source):
            raise ModelError("load_model takes a model name or a file path; for model text use "
                             "Model.from_sbml(text) or Model.from_antimony(text)")
        if p.exists():
            return Model.from_file(p)
        if isinstance(source, str) and not any(c in source for c in "/\\.") :
            raise unknown_id("shipped model or file", source, list_models())
        raise ModelError(f"model file {str(p)!r} does not exist")
    raise ModelError(f"load_model expects a model name or a path. Got {type(source).__name__} instead.")
