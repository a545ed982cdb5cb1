"""Prediction bands: quantiles over time of the outputs simulated at many plausible parameter sets.

The parameter sets are points the data do not reject: posterior draws (:meth:`SampleResult.draws`) or
profile points within the threshold (:meth:`ProfileResult.points`). :func:`prediction_band` takes any
``simulate_fn(x) -> DataFrame(time, output, value)``; :func:`model_prediction_band` runs the points
through :func:`qsp.ensemble.run` on any backend.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, QSPWarning
from .objective import ParameterSpace, to_linear
from .uncertainty_common import write_csv

__all__ = ["prediction_band", "model_prediction_band", "PredictionBand"]


def _label(q: float) -> str:
    return f"q{100 * q:g}"


def _check(points, quantiles, n: int | None = None) -> tuple[np.ndarray, tuple[float, ...]]:
    try:
        pts = np.atleast_2d(np.asarray(points, dtype=float))
    except (TypeError, ValueError):
        raise InputError("parameter_sets must be a table of numbers (one row per parameter set)") from None
    if pts.ndim != 2 or pts.shape[0] == 0:
        raise InputError("parameter_sets must hold at least one parameter set (one per row)")
    if n is not None and pts.shape[1] != n:
        raise InputError(f"parameter sets must have one value per estimated parameter ({n}); got {pts.shape[1]}")
    try:
        q = tuple(float(v) for v in quantiles)
    except (TypeError, ValueError):
        raise InputError(f"quantiles must be numbers between 0 and 1. Got {quantiles!r}.") from None
    if not q or any(not 0 <= v <= 1 for v in q):
        raise InputError(f"quantiles must be numbers between 0 and 1. Got {quantiles!r}.")
    return pts, q


def _band(long: pd.DataFrame, quantiles: tuple[float, ...], n_sets: int) -> pd.DataFrame:
    """(time, output) -> quantiles of ``value`` over parameter sets, with ``n`` (finite values)."""
    g = long.groupby(["output", "time"], sort=False)["value"]
    out = g.count().rename("n").to_frame()
    for q in quantiles:
        out[_label(q)] = g.quantile(q)
    out = out.reset_index().sort_values(["output", "time"], kind="stable").reset_index(drop=True)
    out.insert(3, "n_sets", n_sets)
    return out[["time", "output", "n", "n_sets", *[_label(q) for q in quantiles]]]


def prediction_band(simulate_fn: Callable[[np.ndarray], pd.DataFrame], parameter_sets,
                    quantiles: Sequence[float] = (0.025, 0.5, 0.975)) -> pd.DataFrame:
    """Quantiles over ``parameter_sets`` of ``simulate_fn(x)`` per time and output.

    Parameters
    ----------
    simulate_fn : callable
        ``x -> DataFrame`` with columns ``time``, ``output``, ``value`` (one row per time and output).
    parameter_sets : array (rows = sets)
        Points on the parameter scale, e.g. ``SampleResult.draws()`` or ``ProfileResult.points()``.
    quantiles : sequence of float

    Returns
    -------
    pandas.DataFrame
        ``time``, ``output``, ``n`` (sets with a finite value there), ``n_sets``, then ``q2.5``, ``q50``,
        ``q97.5`` (by default). Wrap it in :class:`PredictionBand` to plot it.
    """
    if not callable(simulate_fn):
        raise InputError("simulate_fn must be a callable x -> DataFrame(time, output, value)")
    pts, q = _check(parameter_sets, quantiles)
    frames = []
    for k, x in enumerate(pts):
        df = simulate_fn(x)
        if not isinstance(df, pd.DataFrame) or not {"time", "output", "value"} <= set(df.columns):
            raise InputError("simulate_fn must return a DataFrame with columns time, output and value")
        frames.append(df[["time", "output", "value"]].assign(set=k))
    long = pd.concat(frames, ignore_index=True)
    long["value"] = pd.to_numeric(long["value"], errors="coerce").astype(float)
    long.loc[~np.isfinite(long["value"]), "value"] = np.nan
    return _band(long, q, len(pts))


class PredictionBand:
    """A prediction band: per output and time, quantiles of the simulated value over the parameter sets.

    Attributes
    ----------
    table : pandas.DataFrame
        As :func:`prediction_band` returns it.
    quantiles : tuple of float
    n_failed : int
        Parameter sets whose simulation failed (left out of the quantiles).
    settings : dict
        What was run (e.g. the parameters sent to the model and those left out).
    """

    def __init__(self, table: pd.DataFrame, quantiles: Sequence[float] = (0.025, 0.5, 0.975), *, n_failed: int = 0,
                 settings: dict | None = None):
        self.table = table
        self.quantiles = tuple(quantiles)
        self.n_failed = int(n_failed)
        self.settings = dict(settings or {})

    @property
    def outputs(self) -> list[str]:
        return list(dict.fromkeys(self.table["output"]))

    def __repr__(self) -> str:
        n = int(self.table["n_sets"].iloc[0]) if len(self.table) else 0
        return f"PredictionBand({n} parameter sets, outputs={self.outputs}, {self.n_failed} failed)"

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()

    def to_csv(self, path) -> None:
        """Write the band table as CSV."""
        write_csv(self.table, path)

    def contains(self, output: str, times, values, low: float | None = None, high: float | None = None) -> np.ndarray:
        """Whether each ``values[i]`` at ``times[i]`` lies within the band of ``output`` (between the outer
        quantiles unless ``low``/``high`` name others); the band is interpolated linearly in time."""
        lo_q, hi_q = _label(low if low is not None else min(self.quantiles)), _label(
            high if high is not None else max(self.quantiles))
        t = self.table[self.table["output"] == output].set_index("time")
        times = np.asarray(times, float)
        lo = np.interp(times, t.index.to_numpy(float), t[lo_q].to_numpy(float))
        hi = np.interp(times, t.index.to_numpy(float), t[hi_q].to_numpy(float))
        v = np.asarray(values, float)
        return (v >= lo) & (v <= hi)

    def plot(self, outputs: Sequence[str] | None = None, ax=None, *, logy: bool = False):
        """Median line and the band between the outer quantiles, per output; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        lo_q, hi_q = _label(min(self.quantiles)), _label(max(self.quantiles))
        mid = _label(0.5) if 0.5 in self.quantiles else None
        for k, out in enumerate(outputs or self.outputs):
            t = self.table[self.table["output"] == out]
            ax.fill_between(t["time"], t[lo_q], t[hi_q], color=f"C{k}", alpha=0.25,
                            label=f"{out} {lo_q}-{hi_q}")
            if mid:
                ax.plot(t["time"], t[mid], color=f"C{k}", lw=1.5, label=f"{out} median")
        ax.set_xlabel("time")
        ax.set_ylabel("value")
        if logy:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
        return ax


def model_prediction_band(model, space: ParameterSpace, points, times: Sequence[float], outputs: str | Sequence[str],
                          doses=None, regimen: str | None = None, *, params: Mapping[str, float] | None = None,
                          parameter_map: Mapping[str, str] | None = None, quantiles=(0.025, 0.5, 0.975),
                          backend="serial", rtol: float = 1e-6, atol: float = 1e-12) -> PredictionBand:
    """A prediction band of ``model``'s ``outputs`` at ``times``: one simulation per point, via
    :func:`qsp.ensemble.run`.

    Parameters
    ----------
    model : qsp.Model
    space : ParameterSpace
        Says what the columns of ``points`` are (ids and scales); each point is made linear before it is
        sent. Ids that are not model parameters, compartments or species (noise parameters, say) are
        left out (``settings["left_out"]`` lists them); ``parameter_map`` renames ids to model ids.
    points : array (rows = sets)
        On the parameter scale: ``SampleResult.draws()``, ``ProfileResult.points()``.
    times : sequence of float
        Output times (model time unit).
    outputs : selector or selectors, e.g. ``"[Cp]"``
    doses : Dose or list of Dose, optional; regimen : name of a regimen of the model's metadata
    params : fixed overrides for every simulation
    backend : 'serial', 'processes', 'dask' or a backend object
    """
    from ..ensemble import run

    if not isinstance(space, ParameterSpace):
        raise InputError(f"space must be a qsp.fit.ParameterSpace. Got {type(space).__name__}.")
    pts, q = _check(points, quantiles, len(space))
    if doses is not None and regimen is not None:
        raise InputError("give doses or regimen, not both")
    outs = [outputs] if isinstance(outputs, str) else list(outputs)
    rename = dict(parameter_map or {})
    settable = set(model._parameters) | set(model._compartments) | set(model._floating) | set(model._boundary)
    lin = to_linear(pts, space.scales)
    columns, left_out = {}, []
    for k, pid in enumerate(space.ids):
        target = rename.get(pid, pid)
        if target in settable or (target.startswith("[") and target.endswith("]") and target[1:-1] in settable):
            columns[target] = lin[:, k]
        else:
            left_out.append(pid)
    if not columns:
        raise InputError(f"none of the parameters {', '.join(space.ids)} is a parameter, compartment or species of "
                         f"model {model.name!r}; map them with parameter_map")
    regimens = None if doses is None and regimen is None else {"band": regimen if regimen is not None else doses}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QSPWarning)  # failures are counted below
        res = run(model, pd.DataFrame(columns), regimens=regimens, times=times, trajectories=outs, params=params,
                  backend=backend, rtol=rtol, atol=atol)
    traj = res.trajectories
    failed = set(res.failures["task"])
    traj = traj[~traj["task"].isin(failed)]
    long = traj.melt(id_vars=["task", "time"], value_vars=outs, var_name="output", value_name="value")
    long.loc[~np.isfinite(long["value"]), "value"] = np.nan
    table = _band(long, q, len(pts))
    if res.n_failed:
        warnings.warn(f"{res.n_failed} of {len(pts)} simulations failed and are left out of the band", QSPWarning,
                      stacklevel=2)
    return PredictionBand(table, q, n_failed=res.n_failed,
                          settings={"parameters": list(columns), "left_out": left_out, "backend": str(backend)})
