"""Parameter distributions and sampling of parameter tables.

Each parameter is described by a ``distribution`` and the keys that fix it, and nothing else may be
given (apart from a free-text ``description``):

=============  ==============================================================================
uniform        ``low`` and ``high`` (the default distribution when none is named)
loguniform     ``low`` and ``high``, with ``low > 0`` (uniform in log)
normal         ``mean`` and ``sd``, or two percentiles
lognormal      ``median`` and ``sd_log`` (sd of the natural log), or two percentiles
=============  ==============================================================================

A percentile is written ``pNN`` with 0 < NN < 100 (``p10``, ``p90``, ``"p2.5"``; ``median`` counts as
``p50``): ``{"distribution": "lognormal", "p10": 1.0, "p90": 9.0}`` is the log-normal whose 10th and
90th percentiles are 1 and 9. ``low``/``high`` are refused for normal and lognormal: they do not say
which quantiles they are. :func:`check_ranges` returns each spec in its canonical form (``low``/``high``,
``mean``/``sd`` or ``median``/``sd_log``), which is itself a valid spec.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from .memory import check_array

__all__ = ["DISTRIBUTIONS", "TAIL", "check_spec", "check_ranges", "ppf", "bounds", "as_bounds", "describe",
           "sample_parameters", "read_spec", "samples_from_spec"]

DISTRIBUTIONS = ("uniform", "loguniform", "normal", "lognormal")

#: Probability left out at each end when a normal or lognormal parameter needs finite bounds
#: (:func:`bounds`): the mean -/+ 3 sd (on the log scale for lognormal).
TAIL = float(stats.norm.cdf(-3.0))

_PAIRS = {"uniform": ("low", "high"), "loguniform": ("low", "high"), "normal": ("mean", "sd"),
          "lognormal": ("median", "sd_log")}
_FORMS = {"uniform": "low and high", "loguniform": "low and high",
          "normal": "mean and sd, or two percentiles such as p10 and p90",
          "lognormal": "median and sd_log, or two percentiles such as p10 and p90"}
_INFO = ("description",)
_PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)")


def _percent(key: str) -> float | None:
    """The percent a percentile key names (``median`` -> 50), or None for any other key."""
    if key == "median":
        return 50.0
    m = _PERCENTILE.fullmatch(key)
    return float(m.group(1)) if m else None


def _number(pid: str, key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"parameter {pid!r}: {key!r} must be a number. Got {value!r}.")
    x = float(value)
    if not math.isfinite(x):
        raise InputError(f"parameter {pid!r}: {key!r} must be finite. Got {x}.")
    return x


def _from_percentiles(pid: str, dist: str, given: dict[str, float]) -> dict:
    (k1, x1), (k2, x2) = sorted(given.items(), key=lambda kv: _percent(kv[0]))
    q1, q2 = _percent(k1), _percent(k2)
    for key, q in ((k1, q1), (k2, q2)):
        if not 0.0 < q < 100.0:
            raise InputError(f"parameter {pid!r}: percentile key {key!r} must name a percent between 0 and 100")
    if q1 == q2:
        raise InputError(f"parameter {pid!r}: {k1!r} and {k2!r} name the same percentile")
    if not x1 < x2:
        raise InputError(f"parameter {pid!r}: {k1!r} ({x1:g}) must be below {k2!r} ({x2:g})")
    z1, z2 = stats.norm.ppf(q1 / 100.0), stats.norm.ppf(q2 / 100.0)
    if dist == "normal":
        sd = (x2 - x1) / (z2 - z1)
        return {"distribution": "normal", "mean": float(x1 - z1 * sd), "sd": float(sd)}
    if x1 <= 0:
        raise InputError(f"parameter {pid!r}: lognormal percentiles must be > 0. Got {k1} = {x1:g}.")
    sd_log = (math.log(x2) - math.log(x1)) / (z2 - z1)
    return {"distribution": "lognormal", "median": float(math.exp(math.log(x1) - z1 * sd_log)), "sd_log": float(sd_log)}


def check_spec(pid: str, spec: Mapping) -> dict:
    """Validate one parameter's distribution spec and return its canonical form.

    Raises
    ------
    InputError
        One line naming the parameter and the key at fault: an unknown distribution, a key that does
        not belong to it, a missing key, a spec fixed twice over (``median``, ``sd_log`` and ``p90``),
        or a bad value.
    """
    pid = str(pid)
    if not isinstance(spec, Mapping):
        raise InputError(f"parameter {pid!r}: its range must be a table such as {{low, high, distribution}}. "
                         f"Got {spec!r}.")
    dist = spec.get("distribution", "uniform")
    if dist not in DISTRIBUTIONS:
        raise InputError(f"parameter {pid!r}: distribution must be one of {DISTRIBUTIONS}. Got {dist!r}.")
    keys = [str(k) for k in spec if k != "distribution" and k not in _INFO]
    pair = _PAIRS[dist]
    quantiles = [k for k in keys if _percent(k) is not None and dist in ("normal", "lognormal")
                 and k not in pair]
    for k in keys:
        if k not in pair and k not in quantiles:
            raise InputError(f"parameter {pid!r}: key {k!r} does not apply to a {dist} distribution; "
                             f"give {_FORMS[dist]}")
    values = {k: _number(pid, k, spec[k]) for k in keys}
    named = [k for k in pair if k in values]
    if quantiles and len(named) == 2:
        raise InputError(f"parameter {pid!r}: key {quantiles[0]!r} over-determines the {dist} ({pair[0]} and "
                         f"{pair[1]} already fix it); give {_FORMS[dist]}")
    if quantiles and named and named != ["median"]:
        raise InputError(f"parameter {pid!r}: key {named[0]!r} cannot be combined with percentiles; "
                         f"give {_FORMS[dist]}")
    if quantiles:
        given = {k: values[k] for k in quantiles + named}
        if len(given) != 2:
            raise InputError(f"parameter {pid!r}: a {dist} takes exactly two percentiles. Got "
                             f"{', '.join(given)}.")
        return _from_percentiles(pid, dist, given)
    missing = [k for k in pair if k not in values]
    if missing:
        raise InputError(f"parameter {pid!r}: key {missing[0]!r} is missing; a {dist} needs {_FORMS[dist]}")
    a, b = values[pair[0]], values[pair[1]]
    if dist in ("uniform", "loguniform"):
        if not a < b:
            raise InputError(f"parameter {pid!r}: need low < high. Got low={a:g}, high={b:g}.")
        if dist == "loguniform" and a <= 0:
            raise InputError(f"parameter {pid!r}: loguniform needs low > 0. Got {a:g}.")
    else:
        if b <= 0:
            raise InputError(f"parameter {pid!r}: {pair[1]!r} must be > 0. Got {b:g}.")
        if dist == "lognormal" and a <= 0:
            raise InputError(f"parameter {pid!r}: lognormal 'median' must be > 0. Got {a:g}.")
    return {"distribution": dist, pair[0]: a, pair[1]: b}


def check_ranges(ranges: Mapping[str, Mapping]) -> dict[str, dict]:
    """Validate ``{param: spec}`` (see the module docstring) and return the canonical specs."""
    if not isinstance(ranges, Mapping):
        raise InputError(f"parameter ranges must be a table {{id: {{distribution, ...}}}}. Got {ranges!r}.")
    if not ranges:
        raise InputError("no parameters to sample")
    return {str(pid): check_spec(pid, spec) for pid, spec in ranges.items()}


def ppf(spec: Mapping, u: np.ndarray) -> np.ndarray:
    """Map uniform [0, 1] draws through the inverse CDF of a canonical spec (as :func:`check_ranges` returns)."""
    dist = spec["distribution"]
    u = np.asarray(u, dtype=float)
    if dist == "uniform":
        return spec["low"] + u * (spec["high"] - spec["low"])
    if dist == "loguniform":
        lo, hi = math.log(spec["low"]), math.log(spec["high"])
        return np.exp(lo + u * (hi - lo))
    if dist == "normal":
        return stats.norm.ppf(u, loc=spec["mean"], scale=spec["sd"])
    return np.exp(stats.norm.ppf(u, loc=math.log(spec["median"]), scale=spec["sd_log"]))


def bounds(spec: Mapping, tail: float = TAIL) -> tuple[float, float]:
    """Finite (low, high) of a canonical spec: its own for (log)uniform, the ``tail`` quantiles otherwise.

    With the default ``tail`` a normal or lognormal maps to mean -/+ 3 sd (on the log scale for lognormal).
    """
    if spec["distribution"] in ("uniform", "loguniform"):
        return float(spec["low"]), float(spec["high"])
    if not 0.0 < tail < 0.5:
        raise InputError(f"tail must be between 0 and 0.5. Got {tail!r}.")
    lo, hi = ppf(spec, np.array([tail, 1.0 - tail]))
    return float(lo), float(hi)


def as_bounds(ranges: Mapping[str, Mapping], tail: float = TAIL) -> dict[str, dict]:
    """``{id: {low, high, scale}}`` boxes of parameter ranges (scale ``log`` for loguniform and lognormal)."""
    out = {}
    for pid, spec in check_ranges(ranges).items():
        lo, hi = bounds(spec, tail)
        out[pid] = {"low": lo, "high": hi,
                    "scale": "log" if spec["distribution"] in ("loguniform", "lognormal") else "linear"}
    return out


def describe(spec: Mapping) -> str:
    """A canonical spec as text (4 significant digits), e.g. ``lognormal(median=8.89, sd_log=0.696)``."""
    a, b = _PAIRS[spec["distribution"]]
    return f"{spec['distribution']}({a}={spec[a]:.4g}, {b}={spec[b]:.4g})"


def sample_parameters(ranges: Mapping[str, Mapping], n: int, *, seed: int | None = 0,
                      method: str = "random") -> pd.DataFrame:
    """Draw ``n`` parameter sets; ``method`` is 'random' or 'lhs' (Latin hypercube)."""
    ranges = check_ranges(ranges)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer. Got {n!r}.")
    d = len(ranges)
    check_array(2 * int(n) * d, f"{n} parameter sets of {d} parameters")
    rng = np.random.default_rng(seed)
    if method == "random":
        u = rng.random((n, d))
    elif method == "lhs":
        u = stats.qmc.LatinHypercube(d=d, seed=rng).random(n)
    else:
        raise InputError(f"method must be 'random' or 'lhs'. Got {method!r}.")
    return pd.DataFrame({pid: ppf(spec, u[:, j]) for j, (pid, spec) in enumerate(ranges.items())})


def read_spec(path) -> dict:
    """Read a TOML sampling spec: ``n``, ``seed``, ``method`` and ``[parameters.ID]`` tables.

    The parameter tables are checked as they are read (an error names the file, the parameter and the
    key) and come back in canonical form. Example::

        n = 1000
        seed = 1
        method = "lhs"
        [parameters.CL]
        distribution = "loguniform"
        low = 0.1
        high = 1.0
        [parameters.S_L]
        distribution = "lognormal"
        p10 = 1.77
        p90 = 22.63
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            spec = tomllib.load(fh)
    except FileNotFoundError:
        raise InputError(f"spec file {str(path)!r} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"spec file {str(path)!r} is not valid TOML: {exc}") from None
    if "parameters" in spec:
        try:
            spec["parameters"] = check_ranges(spec["parameters"])
        except InputError as exc:
            raise InputError(f"spec file {str(path)!r}: {exc}") from None
    return spec


def samples_from_spec(spec: Mapping, default_ranges: Mapping | None = None) -> pd.DataFrame:
    """Draw the parameter table a spec describes (parameters default to ``default_ranges``)."""
    ranges = spec.get("parameters") or default_ranges
    if not ranges:
        raise InputError("the spec has no [parameters] and the model has no parameter_ranges")
    n = spec.get("n", 1000)
    return sample_parameters(ranges, n, seed=spec.get("seed", 0), method=spec.get("method", "random"))
