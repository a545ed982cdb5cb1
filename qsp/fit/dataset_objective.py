"""An objective from a pharmacometric dataset: a model's outputs against the DV column, per subject.

The dataset's observation rows (EVID 0, MDV 0, DV present) are the measurements; each is matched to a
model output (one output for every row, or one per DVID value). Doses, covariates and every dosing
rule come from the dataset layer (:func:`qsp.datasets.simulate.prepare`); the subjects are simulated
in the calling process, one after the other, on the model's warm instance (a fit's starts are what
runs in parallel). Rows with BLQ 1 are censored at LLOQ (or at DV when there is no LLOQ column):
Beal's M3 likelihood.

Residual error: ``additive`` (sigma = a), ``proportional`` (sigma = b * y) or ``combined`` (sigma =
sqrt(a^2 + (b y)^2)), on the normal scale, or ``distribution="lognormal"`` (sigma on log scale, a only).
Unknown error parameters are estimated with the model parameters (``sigma_add``, ``sigma_prop``, on
log10 scale).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .objective import Objective, ParameterSpace, to_linear

__all__ = ["DatasetObjective", "parse_estimate"]

_ERRORS = ("additive", "proportional", "combined")


def parse_estimate(spec) -> tuple[str, float, float, str, float | None]:
    """``"ID=LOW:HIGH[:SCALE][:NOMINAL]"`` (or a tuple of the same) -> (id, low, high, scale, nominal).

    LOW, HIGH and NOMINAL are linear values; the scale (default log10) is the one the fit works on."""
    if isinstance(spec, str):
        key, sep, rest = spec.partition("=")
        parts = rest.split(":") if sep else []
        if not key.strip() or len(parts) < 2:
            raise InputError(f"an estimated parameter is ID=LOW:HIGH[:SCALE][:NOMINAL]; got {spec!r}")
        scale = parts[2].strip() if len(parts) > 2 and parts[2].strip() else "log10"
        nominal = parts[3] if len(parts) > 3 else None
        spec = (key.strip(), parts[0], parts[1], scale, nominal)
    pid, low, high, scale, nominal = (tuple(spec) + (None,) * 5)[:5]
    scale = scale or "log10"
    try:
        low, high = float(low), float(high)
        nominal = None if nominal in (None, "") else float(nominal)
    except (TypeError, ValueError):
        raise InputError(f"bounds and nominal value of {pid!r} must be numbers; got {spec!r}") from None
    if scale not in ("lin", "log", "log10"):
        raise InputError(f"scale of {pid!r} must be lin, log or log10; got {scale!r}")
    if not (low < high) or (scale != "lin" and low <= 0):
        raise InputError(f"bounds of {pid!r} must have LOW < HIGH (and LOW > 0 on a log scale); got {low:g}:{high:g}")
    if nominal is not None and not low <= nominal <= high:
        raise InputError(f"nominal value of {pid!r} ({nominal:g}) is outside its bounds {low:g}:{high:g}")
    return str(pid), low, high, scale, nominal


def _dvid_key(value) -> str:
    """A DVID value as text, whole numbers without a decimal point (1.0 and '1' are both '1')."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    return str(int(v)) if v.is_integer() else repr(v)


def _on_scale(v: float, scale: str) -> float:
    return v if scale == "lin" else (math.log(v) if scale == "log" else math.log10(v))


class DatasetObjective(Objective):
    """Negative log-likelihood of a model's outputs against a dataset's observations.

    Parameters
    ----------
    model : qsp.Model
    data : Dataset or a path / data frame (read with ``cmt_map``)
    observe : ``{"DV": output}`` (every observation is that output) or ``{DVID value: output}``
    estimate : specs for :func:`parse_estimate` (model parameters: ids, bounds, scales, nominal values)
    error : ``"additive"``, ``"proportional"`` or ``"combined"``
    sigma : fixed error parameters ``{"add": a, "prop": b}``; those not given are estimated
    distribution : ``"normal"`` or ``"lognormal"``
    subjects : only these subject IDs (e.g. one, for per-subject fits)
    **options : dataset-simulation options (``cmt_map``, ``lag``, ``bioavailability``, ``params``,
        ``covariate_model``, ``rtol``, ``atol`` ...), see :func:`qsp.datasets.simulate_dataset`
    """

    def __init__(self, model, data, *, observe: Mapping[str, str], estimate: Sequence, error: str = "additive",
                 sigma: Mapping[str, float] | None = None, distribution: str = "normal",
                 subjects: Sequence | None = None, **options):
        from ..datasets.simulate import prepare

        if error not in _ERRORS:
            raise InputError(f"error must be one of {', '.join(_ERRORS)}; got {error!r}")
        if distribution not in ("normal", "lognormal"):
            raise InputError(f"distribution must be 'normal' or 'lognormal'; got {distribution!r}")
        if distribution == "lognormal" and error != "additive":
            raise InputError("a log-normal error has one sigma (on the log scale): use error='additive'")
        if not isinstance(observe, Mapping) or not observe:
            raise InputError("observe must map 'DV' (or DVID values) to model outputs, e.g. {'DV': 'CP'}")
        specs = [parse_estimate(s) for s in estimate]
        if not specs:
            raise InputError("give at least one parameter to estimate")
        ids = [s[0] for s in specs]
        if len(set(ids)) != len(ids):
            raise InputError("a parameter is estimated twice")
        outputs = list(dict.fromkeys(observe.values()))
        nominal_params = {pid: (nom if nom is not None else math.sqrt(lo * hi) if sc != "lin" else (lo + hi) / 2)
                          for pid, lo, hi, sc, nom in specs}
        fixed = dict(options.pop("params", None) or {})
        clash = sorted(set(fixed) & set(ids))
        if clash:
            raise InputError(f"parameter(s) {', '.join(map(repr, clash))} are both fixed (params) and estimated")
        prep = prepare(model, data, outputs, params={**fixed, **nominal_params}, **options)
        if subjects is not None:
            keep = set(subjects)
            plans = [p for p in prep.plans if p.subject in keep]
            if not plans:
                raise InputError(f"none of the subjects {sorted(keep)} is in the dataset")
        else:
            plans = prep.plans
        self._model_ref = _ModelRef.of(model)
        self._model = model
        self.plans = plans
        self.outputs = tuple(prep.outputs)
        self.base = {k: v for k, v in prep.base.items() if k not in ids}
        self.rtol, self.atol, self.ss_tolerance = prep.rtol, prep.atol, prep.ss_tolerance
        self.error, self.distribution = error, distribution
        self._measurements(prep.table, observe)
        sigma = dict(sigma or {})
        extra = set(sigma) - {"add", "prop"}
        if extra:
            raise InputError(f"sigma keys are 'add' and 'prop'; got {sorted(extra)}")
        self.sigma_fixed = sigma
        dv = np.abs(self.measurements["measurement"].to_numpy())
        top = float(np.nanmax(dv)) if len(dv) else 1.0
        for name, needed in (("add", error in ("additive", "combined")), ("prop", error in ("proportional",
                                                                                           "combined"))):
            if needed and name not in sigma:
                lo, hi = ((1e-4 * top, top) if distribution == "normal" else (1e-3, 3.0)) if name == "add" \
                    else (1e-3, 2.0)
                specs.append((f"sigma_{name}", lo, hi, "log10", None))
        self.model_ids = ids
        self.space = ParameterSpace(tuple(s[0] for s in specs), tuple(s[3] for s in specs),
                                    np.array([_on_scale(s[1], s[3]) for s in specs]),
                                    np.array([_on_scale(s[2], s[3]) for s in specs]),
                                    np.array([_on_scale(s[4], s[3]) if s[4] is not None
                                              else (_on_scale(s[1], s[3]) + _on_scale(s[2], s[3])) / 2
                                              for s in specs]))

    @classmethod
    def from_options(cls, model, dataset, *, observe, estimate, error="additive", sigma=None, per_subject=False,
                     **options):
        """The objective (``per_subject=False``) or ``{subject: objective}`` for one fit per subject."""
        if not per_subject:
            return cls(model, dataset, observe=observe, estimate=estimate, error=error, sigma=sigma, **options)
        from ..datasets.simulate import _as_dataset

        ds = _as_dataset(dataset, options.pop("cmt_map", None))
        return {s: cls(model, ds, observe=observe, estimate=estimate, error=error, sigma=sigma, subjects=[s],
                       **options) for s in ds.subjects}

    # ------------------------------------------------------------------ data
    def _measurements(self, table: pd.DataFrame, observe: Mapping[str, str]) -> None:
        obs = table.loc[(table["EVID"] == 0) & (table["MDV"] == 0) & table["DV"].notna()]
        keep_ids = {p.subject for p in self.plans}
        obs = obs.loc[obs["ID"].map(lambda v: (int(v) if float(v).is_integer() else v) in keep_ids)]
        if "DVID" in obs.columns and set(observe) != {"DV"}:
            wanted = {_dvid_key(k): v for k, v in observe.items()}
            keys = obs["DVID"].map(_dvid_key)
            unknown = sorted(set(keys.dropna()) - set(wanted))
            if unknown:
                raise InputError(f"observations with DVID {', '.join(unknown)} have no model output in observe")
            output = keys.map(wanted)
        else:
            if set(observe) != {"DV"}:
                raise InputError("the dataset has no DVID column: observe must be {'DV': output}")
            output = pd.Series(observe["DV"], index=obs.index)
        censored = (obs["BLQ"].fillna(0).to_numpy() == 1) if "BLQ" in obs.columns else np.zeros(len(obs), bool)
        value = obs["DV"].to_numpy(dtype=float)
        if "LLOQ" in obs.columns:
            value = np.where(censored & obs["LLOQ"].notna().to_numpy(), obs["LLOQ"].to_numpy(dtype=float), value)
        if self.distribution == "lognormal" and np.any(value[~censored] <= 0):
            raise InputError("a log-normal error needs DV > 0 on every observation")
        self.measurements = pd.DataFrame({"ID": obs["ID"].to_numpy(), "row": obs.index.to_numpy(),
                                          "time": obs["TIME"].to_numpy(), "output": output.to_numpy(),
                                          "measurement": value, "censored": censored})
        # where each measurement is in the subjects' output rows
        where = {}
        for p in self.plans:
            rows = p.rows[p.output_row >= 0]
            for k, r in enumerate(rows):
                where[int(r)] = (p.subject, k)
        self._where = [where[int(r)] for r in self.measurements["row"]]
        self._out_col = [self.outputs.index(o) for o in self.measurements["output"]]
        if not len(self.measurements):
            raise InputError("the dataset has no observations to fit (EVID 0, MDV 0, DV present)")

    # ------------------------------------------------------------------ evaluation
    def _split(self, x: np.ndarray) -> tuple[dict[str, float], float, float]:
        lin = dict(zip(self.space.ids, to_linear(np.asarray(x, float), self.space.scales).tolist()))
        theta = {k: lin[k] for k in self.model_ids}
        add = lin.get("sigma_add", self.sigma_fixed.get("add", 0.0))
        prop = lin.get("sigma_prop", self.sigma_fixed.get("prop", 0.0))
        return theta, add, prop

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model output at every measurement, for parameters ``x`` (on the parameter scale)."""
        from ..events.subject import run_subject

        model = self._model_ref.model() if self._model is None else self._model
        theta, _, _ = self._split(x)
        base = {**self.base, **theta}
        per_subject = {}
        for plan in self.plans:
            values, _ = run_subject(model, plan, self.outputs, base, rtol=self.rtol, atol=self.atol,
                                    ss_tolerance=self.ss_tolerance)
            per_subject[plan.subject] = values
        return np.array([per_subject[s][k, j] for (s, k), j in zip(self._where, self._out_col)])

    def _sigma(self, y: np.ndarray, add: float, prop: float) -> np.ndarray:
        if self.error == "additive":
            return np.full_like(y, add)
        if self.error == "proportional":
            return prop * np.abs(y)
        return np.sqrt(add ** 2 + (prop * y) ** 2)

    def nllh(self, x: np.ndarray) -> float:
        from .noise import nllh_terms

        try:
            y = self.predict(x)
        except Exception:  # a failed simulation makes this point infeasible, not the fit
            return math.inf
        _, add, prop = self._split(x)
        sigma = self._sigma(y, add, prop)
        if not np.all(np.isfinite(y)) or np.any(sigma <= 0):
            return math.inf
        m = self.measurements
        terms = nllh_terms(m["measurement"].to_numpy(), y, sigma, self.distribution, censored=m["censored"].to_numpy())
        total = float(np.sum(terms))
        return total if math.isfinite(total) else math.inf

    def residuals(self, x: np.ndarray) -> np.ndarray | None:
        """Weighted residuals, when the error is additive with a fixed sigma (a least-squares problem)."""
        if self.error != "additive" or "add" not in self.sigma_fixed or self.measurements["censored"].any():
            return None
        y = self.predict(x)
        m = self.measurements["measurement"].to_numpy()
        if self.distribution == "lognormal":
            return (np.log(m) - np.log(y)) / self.sigma_fixed["add"]
        return (m - y) / self.sigma_fixed["add"]

    def simulate(self, x: np.ndarray | None = None) -> pd.DataFrame:
        """The measurements with the ``simulation`` at ``x`` (default: nominal) and weighted residuals."""
        x = self.space.nominal if x is None else np.asarray(x, float)
        y = self.predict(x)
        _, add, prop = self._split(x)
        out = self.measurements.copy()
        out["simulation"] = y
        sigma = self._sigma(y, add, prop)
        if self.distribution == "lognormal":
            out["residual"] = (np.log(out["measurement"]) - np.log(y)) / sigma
        else:
            out["residual"] = (out["measurement"] - y) / sigma
        return out

    def to_petab(self, directory, x: np.ndarray | None = None, *, censored: str = "refuse") -> str:
        """Write this problem as PEtab v1 files in ``directory`` (each subject a condition, its doses SBML
        events; see :mod:`qsp.fit.dataset_export`), with the estimated parameters' nominal values from
        ``x`` (None: nominal), checked with ``petab.lint``. Returns the YAML path. What PEtab v1 cannot
        express exactly is a :class:`qsp.InputError`; censored rows too, unless ``censored="drop"``."""
        from .dataset_export import export_dataset

        return export_dataset(self, directory, x, censored=censored)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_model"] = None  # rebuilt in the worker (compiled once per worker, as for ensembles)
        return state


class _ModelRef:
    """A picklable reference to a model: its SBML, name and metadata, compiled once per process."""

    def __init__(self, sbml: str, name: str, metadata: dict):
        from ..ensemble.job import sbml_key

        self.sbml, self.name, self.metadata, self.key = sbml, name, metadata, sbml_key(sbml)

    @classmethod
    def of(cls, model) -> _ModelRef:
        import libsbml

        return cls(libsbml.writeSBMLToString(model._doc), model.name, dict(model.metadata))

    def model(self):
        from ..ensemble.job import _model_for

        return _model_for(self)
