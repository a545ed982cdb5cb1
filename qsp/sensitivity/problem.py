"""The parameters a sensitivity study varies, and the map from SALib's unit cube to their values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..ensemble.sampling import check_ranges, ppf, read_spec
from ..errors import QSPError

__all__ = ["Problem", "UNBOUNDED_TAIL"]

#: Unit-cube coordinates of normal and lognormal parameters are clipped to [TAIL, 1 - TAIL] before the
#: inverse CDF, so the grid ends of Morris (0 and 1) and the search curve of eFAST map to mean -/+ 3 sd
#: instead of -/+ infinity. Uniform and loguniform parameters are never clipped.
UNBOUNDED_TAIL = float(stats.norm.cdf(-3.0))


class Problem:
    """Parameters varied in a study, each with a ``distribution`` and the keys that fix it.

    Every method samples SALib's unit cube [0, 1]^D; :meth:`values` maps those points through each
    parameter's inverse CDF (:func:`qsp.ensemble.sampling.ppf`), so every distribution works with every
    method. Specs as in the shipped models' metadata: ``uniform`` and ``loguniform`` by ``low``/``high``;
    ``normal`` by ``mean``/``sd``; ``lognormal`` by ``median``/``sd_log``; either of the last two also by
    two percentiles (``p10``, ``p90``, ``"p2.5"``, ...). low/high are refused for normal and lognormal.

    Parameters
    ----------
    ranges : mapping
        ``{id: {"distribution": str, <its keys>}}`` (distribution defaults to uniform).
        Ids are parameter, compartment or species ids of the model (as columns of
        :func:`qsp.ensemble.run`'s sample table).

    Examples
    --------
    >>> p = Problem({"k": {"low": 0.1, "high": 1, "distribution": "loguniform"}})
    >>> p.values(np.array([[0.0], [1.0]]))["k"].tolist()
    [0.1, 1.0]
    """

    def __init__(self, ranges: Mapping[str, Mapping]):
        self.ranges = check_ranges(ranges)

    @classmethod
    def from_model(cls, model, parameters: Sequence[str] | Mapping | None = None) -> Problem:
        """Ranges from ``model.metadata["parameter_ranges"]``, or ``parameters`` (ids or full ranges).

        Raises
        ------
        QSPError
            If the model has no ranges for a requested id (give the range explicitly).
        """
        if isinstance(parameters, Mapping):
            return cls(parameters)
        meta = model.metadata.get("parameter_ranges") or {}
        if parameters is None:
            if not meta:
                raise QSPError(f"model {model.name!r} has no metadata parameter_ranges; give the parameters "
                               f"with low/high (a [parameters.ID] table in the spec)")
            return cls(meta)
        missing = [p for p in parameters if p not in meta]
        if missing:
            raise QSPError(f"parameter {missing[0]!r} has no range in model {model.name!r}'s metadata; give "
                           f"it as {{'low': ..., 'high': ...}} (ranges known: {', '.join(meta) or 'none'})")
        return cls({p: meta[p] for p in parameters})

    @classmethod
    def from_spec(cls, path, model=None) -> Problem:
        """Read ``[parameters.ID]`` tables (low, high, distribution) from a TOML file; none: the model's."""
        spec = read_spec(path)
        params = spec.get("parameters")
        if params:
            return cls(params)
        if model is None:
            raise QSPError(f"spec file {str(path)!r} has no [parameters.ID] tables")
        return cls.from_model(model)

    @property
    def names(self) -> list[str]:
        """Parameter ids, in column order."""
        return list(self.ranges)

    @property
    def n_params(self) -> int:
        return len(self.ranges)

    def salib(self) -> dict:
        """The SALib problem dict on the unit cube (what every sampler and analyser is given)."""
        return {"num_vars": self.n_params, "names": self.names, "bounds": [[0.0, 1.0]] * self.n_params}

    def values(self, unit: np.ndarray) -> pd.DataFrame:
        """Map unit-cube points (rows) to parameter values: the sample table for :func:`qsp.ensemble.run`."""
        unit = np.asarray(unit, dtype=float)
        if unit.ndim != 2 or unit.shape[1] != self.n_params:
            raise QSPError(f"unit sample must have {self.n_params} columns. Got shape {unit.shape}.")
        cols = {}
        for j, (pid, spec) in enumerate(self.ranges.items()):
            u = unit[:, j]
            if spec["distribution"] in ("normal", "lognormal"):
                u = np.clip(u, UNBOUNDED_TAIL, 1.0 - UNBOUNDED_TAIL)
            else:
                u = np.clip(u, 0.0, 1.0)
            cols[pid] = ppf(spec, u)
        return pd.DataFrame(cols)

    def to_dict(self) -> dict:
        return {k: dict(v) for k, v in self.ranges.items()}

    def __repr__(self) -> str:
        from ..ensemble.sampling import describe

        parts = [f"{k}~{describe(v)}" for k, v in self.ranges.items()]
        return f"Problem({', '.join(parts)})"
