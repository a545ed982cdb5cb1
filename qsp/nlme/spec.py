"""The population model: individual parameters, inter-individual variability and residual error.

Each estimated parameter ``P`` of subject ``i`` is, on its Gaussian scale ``phi``::

    log      P_i = typical * f_i * exp(eta_i)          phi = log P
    normal   P_i = typical * f_i + eta_i               phi = P
    logit    P_i = low + (high - low) / (1 + exp(-phi_i)),   phi_i = logit(typical) + eta_i

``f_i`` is the product of the subject's fixed covariate effects (a :class:`qsp.CovariateModel`, read
on the subject's first row; exponents and slopes are not estimated; no effects on logit parameters).
``eta_i ~ N(0, Omega)`` with a diagonal Omega (``covariance = "full"``: every pair correlated); a
parameter with ``random = false`` has a fixed effect only (eta 0). Residual error on the normal scale:
``additive`` (sd a), ``proportional`` (sd b*f), ``combined`` (sd sqrt(a^2 + (b f)^2)), or
``exponential`` (log DV = log f + eps, sd a on the log scale).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["Parameter", "PopulationModel", "read_spec", "ERRORS", "TRANSFORMS"]

ERRORS = ("additive", "proportional", "combined", "exponential")
TRANSFORMS = ("log", "normal", "logit")
_TOP = {"observe", "cmt", "error", "sigma", "covariance", "covariates", "parameters", "params", "evid_style",
        "missing", "ignore_columns", "saem"}
_PARAM_KEYS = {"initial", "random", "omega", "transform", "low", "high"}
_SAEM_KEYS = {"iterations", "kernels", "chains", "burn", "annealing", "seed", "is_samples"}


@dataclass(frozen=True)
class Parameter:
    """One estimated parameter: its initial typical value, whether it varies between subjects (with the
    initial SD ``omega`` of its eta), and its transformation (``low``/``high``: the range of a logit one)."""

    initial: float
    random: bool = False
    omega: float = 0.5
    transform: str = "log"
    low: float = 0.0
    high: float = 1.0

    def check(self, name: str) -> None:
        if self.transform not in TRANSFORMS:
            raise InputError(f"parameter {name!r}: transform must be one of {', '.join(TRANSFORMS)}; "
                             f"got {self.transform!r}")
        for what, v in (("initial", self.initial), ("omega", self.omega), ("low", self.low), ("high", self.high)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(f"parameter {name!r}: {what} must be a finite number; got {v!r}")
        if not isinstance(self.random, bool):
            raise InputError(f"parameter {name!r}: random must be true or false; got {self.random!r}")
        if self.omega <= 0:
            raise InputError(f"parameter {name!r}: omega (the initial SD of eta) must be > 0; got {self.omega:g}")
        if self.transform == "log" and self.initial <= 0:
            raise InputError(f"parameter {name!r}: a log-normal parameter needs initial > 0; got {self.initial:g}")
        if self.transform == "logit" and not self.low < self.initial < self.high:
            raise InputError(f"parameter {name!r}: a logit parameter needs low < initial < high; got "
                             f"{self.low:g} < {self.initial:g} < {self.high:g}")


@dataclass(frozen=True)
class PopulationModel:
    """Estimated parameters, what the DV measures, the residual error, covariates and reading options.

    Parameters
    ----------
    parameters : mapping id -> :class:`Parameter` (or a dict of its fields)
    observe : ``{"DV": output}`` or ``{DVID value: output}``
    error : additive, proportional, combined or exponential
    sigma : initial residual error ``{"add": a, "prop": b}`` (default: a = 10 % of the mean abs DV,
        0.3 for an exponential error; b = 0.3)
    covariance : ``"diagonal"`` or ``"full"`` Omega (between the parameters with random effects)
    covariates : a :class:`qsp.CovariateModel` or its text forms (``"CL~WT:power(70,0.75)"``)
    cmt : compartment numbers to species (used when the data is read from a file)
    params : fixed model parameter values
    evid_style, missing : options of :func:`qsp.datasets.read_dataset`
    ignore_columns : dataset columns left out (e.g. columns that hold simulated true parameters)
    saem : settings of :func:`qsp.nlme.saem` (iterations, kernels, chains, burn, annealing, seed, is_samples)
    """

    parameters: Mapping[str, Parameter]
    observe: Mapping[str, str]
    error: str = "additive"
    sigma: Mapping[str, float] = field(default_factory=dict)
    covariance: str = "diagonal"
    covariates: object = None
    cmt: Mapping[int, str] | None = None
    params: Mapping[str, float] = field(default_factory=dict)
    evid_style: str = "nonmem"
    missing: Mapping[str, Sequence[float]] | None = None
    ignore_columns: Sequence[str] = ()
    saem: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        from ..covariates import CovariateModel

        if not isinstance(self.parameters, Mapping) or not self.parameters:
            raise InputError("a population model needs at least one estimated parameter")
        params = {str(k): (v if isinstance(v, Parameter) else _parameter(k, v)) for k, v in self.parameters.items()}
        for k, p in params.items():
            p.check(k)
        object.__setattr__(self, "parameters", params)
        if not isinstance(self.observe, Mapping) or not self.observe:
            raise InputError("observe must map 'DV' (or DVID values) to model outputs, e.g. {'DV': 'CP'}")
        object.__setattr__(self, "observe", {str(k): str(v) for k, v in self.observe.items()})
        if self.error not in ERRORS:
            raise InputError(f"error must be one of {', '.join(ERRORS)}; got {self.error!r}")
        sigma = dict(self.sigma or {})
        bad = sorted(set(sigma) - {"add", "prop"})
        if bad:
            raise InputError(f"sigma keys are 'add' and 'prop'; got {bad[0]!r}")
        for k, v in sigma.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or not math.isfinite(v):
                raise InputError(f"initial sigma {k!r} must be a finite number > 0; got {v!r}")
        object.__setattr__(self, "sigma", sigma)
        if self.covariance not in ("diagonal", "full"):
            raise InputError(f"covariance must be 'diagonal' or 'full'; got {self.covariance!r}")
        cov = self.covariates
        if cov is not None and not isinstance(cov, CovariateModel):
            cov = CovariateModel.parse(list(cov) if not isinstance(cov, str) else cov)
        if cov is not None:
            for pid in cov.parameters:
                if pid not in params:
                    raise InputError(f"the covariate model sets {pid!r}, which is not an estimated parameter")
                if params[pid].transform == "logit":
                    raise InputError(f"covariate effects on the logit parameter {pid!r} are not supported")
        object.__setattr__(self, "covariates", cov)
        clash = sorted(set(self.params or {}) & set(params))
        if clash:
            raise InputError(f"parameter {clash[0]!r} is both fixed (params) and estimated")
        if not any(p.random for p in params.values()):
            raise InputError("no parameter has a random effect: give at least one random = true")
        bad = sorted(set(self.saem or {}) - _SAEM_KEYS)
        if bad:
            raise InputError(f"unknown SAEM setting {bad[0]!r}; use {', '.join(sorted(_SAEM_KEYS))}")

    # ------------------------------------------------------------------ layout
    @property
    def names(self) -> list[str]:
        """Estimated parameter ids, in order (the columns of phi and eta)."""
        return list(self.parameters)

    @property
    def random(self) -> np.ndarray:
        """Which parameters have a random effect (bool per parameter)."""
        return np.array([p.random for p in self.parameters.values()])

    @property
    def transforms(self) -> tuple[str, ...]:
        return tuple(p.transform for p in self.parameters.values())

    @property
    def ranges(self) -> tuple[tuple[float, float], ...]:
        return tuple((p.low, p.high) for p in self.parameters.values())

    def sigma_names(self) -> list[str]:
        """Residual error parameters estimated: ``sigma_add`` and/or ``sigma_prop``."""
        return {"additive": ["sigma_add"], "proportional": ["sigma_prop"], "combined": ["sigma_add", "sigma_prop"],
                "exponential": ["sigma_add"]}[self.error]

    # ------------------------------------------------------------------ scales
    def to_phi(self, theta) -> np.ndarray:
        """Parameter values (last axis: :attr:`names`) on their Gaussian scale."""
        return to_phi(np.asarray(theta, float), self.transforms, self.ranges)

    def from_phi(self, phi) -> np.ndarray:
        """The inverse of :meth:`to_phi`."""
        return from_phi(np.asarray(phi, float), self.transforms, self.ranges)

    def design(self, baseline: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per subject (rows of ``baseline``) and parameter: (c, o) with mean phi = c * mu + o."""
        n, d = len(baseline), len(self.parameters)
        c, o = np.ones((n, d)), np.zeros((n, d))
        if self.covariates is None:
            return c, o
        factors = self.covariates.apply(baseline, typical={p: 1.0 for p in self.covariates.parameters})
        for j, (pid, p) in enumerate(self.parameters.items()):
            if pid in factors.columns:
                f = factors[pid].to_numpy(dtype=float)
                if np.any(f <= 0) or not np.all(np.isfinite(f)):
                    raise InputError(f"the covariate effects on {pid!r} give a factor <= 0 for some subject")
                if p.transform == "log":
                    o[:, j] = np.log(f)
                else:
                    c[:, j] = f
        return c, o

    @property
    def initial_mu(self) -> np.ndarray:
        return self.to_phi([p.initial for p in self.parameters.values()])

    # ------------------------------------------------------------------ files
    @classmethod
    def from_dict(cls, spec: Mapping, where: str = "spec") -> PopulationModel:
        """From the keys of a TOML spec (see docs/nlme.md)."""
        if not isinstance(spec, Mapping):
            raise InputError(f"{where}: a population spec is a table of settings")
        bad = sorted(set(spec) - _TOP)
        if bad:
            raise InputError(f"{where}: unknown key {bad[0]!r}; use {', '.join(sorted(_TOP))}")
        if "parameters" not in spec or not isinstance(spec["parameters"], Mapping):
            raise InputError(f"{where}: give the estimated parameters as [parameters.ID] tables")
        try:
            cmt = spec.get("cmt")
            cmt = {int(k): str(v) for k, v in cmt.items()} if cmt else None
        except (TypeError, ValueError, AttributeError):
            raise InputError(f"{where}: cmt maps compartment numbers to species, e.g. cmt = {{ 1 = \"depot\" }}") \
                from None
        try:
            return cls(parameters=spec["parameters"], observe=spec.get("observe") or {}, error=spec.get("error",
                       "additive"), sigma=spec.get("sigma") or {}, covariance=spec.get("covariance", "diagonal"),
                       covariates=spec.get("covariates"), cmt=cmt, params=dict(spec.get("params") or {}),
                       evid_style=spec.get("evid_style", "nonmem"), missing=spec.get("missing"),
                       ignore_columns=tuple(spec.get("ignore_columns") or ()), saem=dict(spec.get("saem") or {}))
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> PopulationModel:
        """Read a TOML spec file."""
        return cls.from_dict(read_spec(path), where=f"spec file {str(path)!r}")

    def describe(self) -> pd.DataFrame:
        """One row per parameter: transform, initial value, random effect, initial omega, covariate effects."""
        cov = self.covariates
        rows = [{"parameter": k, "transform": p.transform, "initial": p.initial, "random": p.random,
                 "omega_initial": p.omega if p.random else np.nan,
                 "covariates": "; ".join(e.formula() for e in cov.effects if e.parameter == k) if cov else ""}
                for k, p in self.parameters.items()]
        return pd.DataFrame(rows)


def _parameter(name, value) -> Parameter:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Parameter(float(value))
    if not isinstance(value, Mapping):
        raise InputError(f"parameter {name!r}: give a table with initial (and random, omega, transform)")
    bad = sorted(set(value) - _PARAM_KEYS)
    if bad:
        raise InputError(f"parameter {name!r}: unknown key {bad[0]!r}; use {', '.join(sorted(_PARAM_KEYS))}")
    if "initial" not in value:
        raise InputError(f"parameter {name!r} needs an initial value")
    return Parameter(**{k: (float(v) if isinstance(v, int) and not isinstance(v, bool) else v)
                        for k, v in value.items()})


def to_phi(theta: np.ndarray, transforms: Sequence[str], ranges) -> np.ndarray:
    out = np.array(theta, dtype=float, copy=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, (t, (lo, hi)) in enumerate(zip(transforms, ranges)):
            if t == "log":
                out[..., j] = np.log(out[..., j])
            elif t == "logit":
                p = (out[..., j] - lo) / (hi - lo)
                out[..., j] = np.log(p / (1 - p))
    return out


def from_phi(phi: np.ndarray, transforms: Sequence[str], ranges) -> np.ndarray:
    out = np.array(phi, dtype=float, copy=True)
    with np.errstate(over="ignore"):
        for j, (t, (lo, hi)) in enumerate(zip(transforms, ranges)):
            if t == "log":
                out[..., j] = np.exp(out[..., j])
            elif t == "logit":
                out[..., j] = lo + (hi - lo) / (1 + np.exp(-out[..., j]))
    return out


def dtheta_dphi(phi: np.ndarray, transforms: Sequence[str], ranges) -> np.ndarray:
    """Derivative of each parameter with respect to its phi (for standard errors by the delta method)."""
    theta = from_phi(phi, transforms, ranges)
    out = np.ones_like(theta)
    for j, (t, (lo, hi)) in enumerate(zip(transforms, ranges)):
        if t == "log":
            out[..., j] = theta[..., j]
        elif t == "logit":
            p = (theta[..., j] - lo) / (hi - lo)
            out[..., j] = (hi - lo) * p * (1 - p)
    return out


def read_spec(path: str | os.PathLike) -> dict:
    """The tables of a TOML file (one-line InputError when missing or invalid)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputError(f"spec file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"spec file {str(path)!r} is a directory") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"spec file {str(path)!r} is not valid TOML: {' '.join(str(exc).split())}") from None
