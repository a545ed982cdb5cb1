"""Parameter distributions and sampling of parameter tables.

A parameter is described as in the shipped models' metadata: ``low``,
``high`` and a ``distribution``: ``uniform`` and ``loguniform`` on
[low, high]; ``normal`` and ``lognormal`` with low/high at the mean -/+ 2
standard deviations (on the log scale for lognormal).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from .memory import check_array

DISTRIBUTIONS = ("uniform", "loguniform", "normal", "lognormal")


def check_ranges(ranges: Mapping[str, Mapping]) -> dict[str, dict]:
    """Validate ``{param: {low, high, distribution}}`` and return a clean copy."""
    if not ranges:
        raise InputError("no parameters to sample")
    out = {}
    for pid, spec in ranges.items():
        dist = spec.get("distribution", "uniform")
        if dist not in DISTRIBUTIONS:
            raise InputError(f"parameter {pid!r}: distribution must be one of {DISTRIBUTIONS}. Got {dist!r}.")
        try:
            low, high = float(spec["low"]), float(spec["high"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"parameter {pid!r} needs numeric 'low' and 'high'") from None
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise InputError(f"parameter {pid!r}: need finite low < high. Got low={low}, high={high}.")
        if dist in ("loguniform", "lognormal") and low <= 0:
            raise InputError(f"parameter {pid!r}: {dist} needs low > 0. Got {low}.")
        out[str(pid)] = {"low": low, "high": high, "distribution": dist}
    return out


def ppf(spec: Mapping, u: np.ndarray) -> np.ndarray:
    """Map uniform [0, 1] draws to the parameter's distribution (inverse CDF)."""
    low, high, dist = spec["low"], spec["high"], spec["distribution"]
    if dist == "uniform":
        return low + u * (high - low)
    if dist == "loguniform":
        return np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
    if dist == "normal":
        return stats.norm.ppf(u, loc=(low + high) / 2, scale=(high - low) / 4)
    mu, sd = (np.log(low) + np.log(high)) / 2, (np.log(high) - np.log(low)) / 4
    return np.exp(stats.norm.ppf(u, loc=mu, scale=sd))


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

    Example::

        n = 1000
        seed = 1
        method = "lhs"
        [parameters.CL]
        low = 0.1
        high = 1.0
        distribution = "loguniform"
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
    return spec


def samples_from_spec(spec: Mapping, default_ranges: Mapping | None = None) -> pd.DataFrame:
    """Draw the parameter table a spec describes (parameters default to ``default_ranges``)."""
    ranges = spec.get("parameters") or default_ranges
    if not ranges:
        raise InputError("the spec has no [parameters] and the model has no parameter_ranges")
    n = spec.get("n", 1000)
    return sample_parameters(ranges, n, seed=spec.get("seed", 0), method=spec.get("method", "random"))
