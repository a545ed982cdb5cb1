"""Diagnostics of a population fit: (prediction-corrected) VPC, goodness-of-fit table, NPDE.

- :func:`vpc`: the design simulated ``n`` times from the fitted population (etas from Omega, residual
  error added; one task per subject on the backend); per time bin, the observed 5/50/95th percentiles
  against the 95 % bands of the same percentiles over the simulated replicates (Bergstrand et al. 2011).
  Prediction correction multiplies each DV by ``median(PRED in its bin) / PRED`` (rows with PRED 0 are
  left uncorrected). Censored rows are left out of both.
- :func:`gof`: per observation DV, PRED (eta 0), IPRED (conditional mode), IWRES, CWRES (linearised at
  the modes, NONMEM's definition) and, given a VPC, NPDE.
- :func:`npde`: normalised prediction distribution errors (Brendel et al. 2006) from a VPC's simulations,
  decorrelated per subject when there are more than twice as many replicates as its observations
  (else without decorrelation: NPD).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_write
from ..errors import InputError
from .job import residual_sd
from .kernels import PredictChunk
from .tasks import run_stage

__all__ = ["vpc", "VPCResult", "gof", "GOFResult", "npde"]


def _scatter(problem, per_subject: list) -> np.ndarray:
    """Per-subject arrays (last axis: the subject's observations) in the order of the measurements."""
    idx = problem.measurements["subject_index"].to_numpy()
    first = np.asarray(per_subject[0])
    out = np.full(first.shape[:-1] + (len(idx),), np.nan)
    for i, values in enumerate(per_subject):
        out[..., idx == i] = values
    return out


def time_after_dose(problem) -> np.ndarray:
    """Each observation's time since the subject's latest dose at or before it (ADDL expanded)."""
    doses = problem.dataset.expand_addl()
    meas = problem.measurements
    out = np.full(len(meas), np.nan)
    for sid, group in meas.groupby("ID", sort=False):
        times = np.sort(doses.loc[doses["ID"] == sid, "TIME"].to_numpy(float))
        t = group["time"].to_numpy(float)
        k = np.searchsorted(times, t, side="right") - 1
        out[group.index.to_numpy()] = np.where(k >= 0, t - times[np.maximum(k, 0)], t)
    return out


def simulate_design(fit, n: int, seed: int = 0, backend="serial", chunk_size=None) -> np.ndarray:
    """``n`` replicates of every observation (n x observations, in measurement order) with residual error."""
    from .tasks import backend_for

    problem, pop, st = fit.problem, fit.population, fit.state
    mean = problem.c * st.mu + problem.o
    r = pop.random
    rngs = [np.random.default_rng([int(seed), 4, 0, i]) for i in range(len(problem.subjects))]
    chol = np.linalg.cholesky(st.omega[np.ix_(r, r)])
    phis = []
    for i, rng in enumerate(rngs):
        eta = np.zeros((n, len(pop.names)))
        eta[:, r] = rng.standard_normal((n, int(r.sum()))) @ chol.T
        phis.append(mean[i] + eta)
    backend_obj, owned = backend_for(backend)
    try:
        stage = run_stage(backend_obj, problem.job,
                          lambda tasks: PredictChunk(tasks, [problem.subjects[t] for t in tasks],
                                                     [phis[t] for t in tasks]), len(problem.subjects), chunk_size)
    finally:
        if owned:
            backend_obj.close()
    sims = []
    for i, (s, rng) in enumerate(zip(problem.subjects, rngs)):
        f = stage.values[i] if stage.values[i] is not None else np.full((n, len(s.y)), np.nan)
        eps = rng.standard_normal(f.shape)
        with np.errstate(invalid="ignore"):
            sd = residual_sd(pop.error, f, st.sigma)
            sims.append(f * np.exp(sd * eps) if pop.error == "exponential" else f + sd * eps)
    return _scatter(problem, sims)


def _edges(x: np.ndarray, bins) -> np.ndarray:
    if bins is None or isinstance(bins, (int, np.integer)):
        k = min(10, len(np.unique(x))) if bins is None else int(bins)
        if k < 1:
            raise InputError(f"bins must be >= 1; got {bins!r}")
        edges = np.unique(np.quantile(x, np.linspace(0, 1, k + 1)))
    else:
        edges = np.unique(np.asarray(bins, float))
    if len(edges) < 2:
        edges = np.array([x.min(), x.max() + 1e-9])
    return edges


class VPCResult:
    """A VPC: ``table`` (one row per bin and percentile: ``bin``, ``x_low``, ``x_high``, ``x`` (median x of
    the bin's observations), ``n``, ``percentile``, ``observed``, ``sim_low``, ``sim_median``, ``sim_high``),
    ``observations`` (``ID``, ``x``, ``DV``, prediction-corrected when asked) and ``simulated`` (replicates
    x observations, without correction)."""

    def __init__(self, table, observations, simulated, *, x: str, prediction_corrected: bool, n: int,
                 confidence: float):
        self.table, self.observations, self.simulated = table, observations, simulated
        self.x, self.prediction_corrected, self.n, self.confidence = x, prediction_corrected, n, confidence

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()

    def to_csv(self, path: str | os.PathLike) -> None:
        with atomic_write(Path(path)) as fh:
            self.table.to_csv(fh, index=False)

    def plot(self, ax=None, log: bool = False):
        """Observed percentiles (lines) over the simulated bands (shaded) and the observations; the Axes."""
        from .plots import vpc_plot

        return vpc_plot(self, ax=ax, log=log)

    def __repr__(self) -> str:
        kind = "pcVPC" if self.prediction_corrected else "VPC"
        return f"VPCResult({kind}, {self.n} replicates, {self.table['bin'].nunique()} bins)"


def vpc(fit, n: int = 100, *, bins=None, x: str = "time", prediction_corrected: bool = False,
        percentiles=(5, 50, 95), confidence: float = 0.95, seed: int = 0, backend="serial",
        chunk_size: int | None = None, replicates: np.ndarray | None = None) -> VPCResult:
    """Visual predictive check of ``fit`` (an NLMEResult): ``n`` replicates of the design.

    ``x``: ``"time"`` or ``"tad"`` (time after the latest dose); ``bins``: number of quantile bins of x
    (default up to 10) or explicit edges; ``replicates``: the ``simulated`` array of an earlier VPC of
    this fit, reused instead of simulating again (e.g. for its prediction-corrected version).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n (replicates) must be a whole number >= 2; got {n!r}")
    if x not in ("time", "tad"):
        raise InputError(f"x must be 'time' or 'tad'; got {x!r}")
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1); got {confidence!r}")
    problem = fit.problem
    meas = problem.measurements
    xs = meas["time"].to_numpy(float) if x == "time" else time_after_dose(problem)
    if replicates is not None:
        sims = np.asarray(replicates, float)
        if sims.ndim != 2 or sims.shape[1] != len(meas):
            raise InputError("replicates must be the simulated array of a VPC of this fit")
        n = sims.shape[0]
    else:
        sims = simulate_design(fit, int(n), seed, backend, chunk_size)
    keep = ~meas["censored"].to_numpy(bool)
    dv = meas["measurement"].to_numpy(float)
    edges = _edges(xs[keep], bins)
    which = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, len(edges) - 2)
    obs, sim = dv.copy(), sims.copy()
    if prediction_corrected:
        pred = _scatter(problem, fit.post.pred)
        for b in range(len(edges) - 1):
            sel = (which == b) & keep
            if sel.any():
                with np.errstate(divide="ignore", invalid="ignore"):
                    factor = np.nanmedian(pred[sel]) / pred[sel]
                factor = np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)  # PRED 0: left as it is
                obs[sel] *= factor
                sim[:, sel] *= factor
    lo_q, hi_q = 100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2
    rows = []
    for b in range(len(edges) - 1):
        sel = (which == b) & keep
        if not sel.any():
            continue
        per_rep = np.nanpercentile(sim[:, sel], percentiles, axis=1)  # percentiles x replicates
        for p, obs_p, reps in zip(percentiles, np.percentile(obs[sel], percentiles), per_rep):
            rows.append({"bin": b, "x_low": edges[b], "x_high": edges[b + 1], "x": float(np.median(xs[sel])),
                         "n": int(sel.sum()), "percentile": p, "observed": float(obs_p),
                         "sim_low": float(np.nanpercentile(reps, lo_q)), "sim_median": float(np.nanmedian(reps)),
                         "sim_high": float(np.nanpercentile(reps, hi_q))})
    observations = pd.DataFrame({"ID": meas["ID"].to_numpy()[keep], "x": xs[keep], "DV": obs[keep]})
    return VPCResult(pd.DataFrame(rows), observations, sims, x=x, prediction_corrected=prediction_corrected,
                     n=int(n), confidence=confidence)


def npde(fit, vpc_result: VPCResult) -> np.ndarray:
    """NPDE of every observation (measurement order; NaN for censored rows) from ``vpc_result``'s replicates."""
    from scipy.special import ndtri

    problem = fit.problem
    meas = problem.measurements
    sims = vpc_result.simulated
    if sims.shape[1] != len(meas):
        raise InputError("the VPC was not made from this fit")
    idx = meas["subject_index"].to_numpy()
    dv = meas["measurement"].to_numpy(float)
    log = fit.population.error == "exponential"
    out = np.full(len(meas), np.nan)
    for i in range(len(problem.subjects)):
        cols = np.flatnonzero(idx == i)
        y, ys = dv[cols], sims[:, cols]
        ys = ys[np.all(np.isfinite(ys), axis=1)]
        if log:
            y, ys = np.log(y), np.log(np.maximum(ys, 1e-300))
        k = len(ys)
        if k < 2:
            continue
        center = ys.mean(axis=0)
        if k > 2 * len(cols):
            try:
                cov = np.cov(ys, rowvar=False).reshape(len(cols), len(cols))
                L = np.linalg.cholesky(cov)
                y_t, ys_t = np.linalg.solve(L, y - center), np.linalg.solve(L, (ys - center).T).T
            except np.linalg.LinAlgError:
                y_t, ys_t = y - center, ys - center
        else:
            y_t, ys_t = y - center, ys - center
        pde = np.clip(np.mean(ys_t < y_t, axis=0), 1 / (2 * k), 1 - 1 / (2 * k))
        out[cols] = ndtri(pde)
    out[meas["censored"].to_numpy(bool)] = np.nan
    return out


class GOFResult:
    """Per observation: ``ID``, ``TIME``, ``DV``, ``PRED``, ``IPRED``, ``IWRES``, ``CWRES``, ``censored``
    and, when a VPC was given, ``NPDE``."""

    def __init__(self, table: pd.DataFrame):
        self.table = table

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()

    def to_csv(self, path: str | os.PathLike) -> None:
        with atomic_write(Path(path)) as fh:
            self.table.to_csv(fh, index=False)

    def plot(self):
        """DV vs PRED and IPRED, CWRES (or NPDE) vs time and vs PRED, IWRES vs IPRED; the Figure."""
        from .plots import gof_plot

        return gof_plot(self.table)


def gof(fit, vpc_result: VPCResult | None = None) -> GOFResult:
    """The goodness-of-fit table of ``fit`` (NPDE from ``vpc_result`` when given)."""
    problem, post, pop = fit.problem, fit.post, fit.population
    meas = problem.measurements
    ipred = _scatter(problem, post.ipred)
    pred = _scatter(problem, post.pred)
    cwres = _scatter(problem, post.cwres)
    dv = meas["measurement"].to_numpy(float)
    sd = residual_sd(pop.error, ipred, fit.state.sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        iwres = (np.log(dv) - np.log(ipred)) / sd if pop.error == "exponential" else (dv - ipred) / sd
    table = pd.DataFrame({"ID": meas["ID"].to_numpy(), "TIME": meas["time"].to_numpy(float), "DV": dv,
                          "PRED": pred, "IPRED": ipred, "IWRES": iwres, "CWRES": cwres,
                          "censored": meas["censored"].to_numpy(bool)})
    if vpc_result is not None:
        table["NPDE"] = npde(fit, vpc_result)
    return GOFResult(table)
