"""Profile likelihoods: one parameter stepped away from the optimum, the others re-optimised at each step.

Each profiled parameter is one ensemble task (``backend="processes"`` or ``"dask"`` runs them in
parallel). From the optimum the parameter is stepped on its scale towards each bound with an adaptive
step; at each value the other parameters are re-optimised (scipy's L-BFGS-B within their bounds,
warm-started from the previous point). A side ends when the likelihood ratio
``2 * (nllh - nllh_best)`` exceeds the chi-square threshold by ``margin``, at the bound, or after
``max_steps`` steps. The confidence interval is where the ratio stays below the threshold
(Raue et al. 2009).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, QSPWarning
from .objective import Objective
from .profile_result import POINT_COLUMNS, ProfileResult
from .uncertainty_common import TaskChunk, check_ids, check_objective, check_point, parameter_indices, run_tasks

__all__ = ["profile", "ProfileSettings", "chi2_threshold"]


def chi2_threshold(confidence: float, df: int = 1) -> float:
    """The likelihood-ratio threshold: the ``confidence`` quantile of chi-square with ``df`` degrees of freedom."""
    from scipy.stats import chi2

    return float(chi2.ppf(confidence, df))


@dataclass(frozen=True)
class ProfileSettings:
    """How each side of a profile is walked (steps are fractions of the parameter's bound width)."""

    threshold: float
    margin: float
    max_steps: int
    step: float
    min_step: float
    max_step: float
    max_increase: float
    target_increase: float
    maxiter: int


@dataclass
class _ProfileChunkResult:
    task: np.ndarray
    results: list  # per parameter: (points, sides, message)


@dataclass(frozen=True)
class ProfileJob:
    """What a worker needs: the objective, the optimum and the settings."""

    objective: Objective
    x_best: np.ndarray
    nllh_best: float
    settings: ProfileSettings

    def failed(self, chunk: TaskChunk, message: str) -> _ProfileChunkResult:
        """Every parameter of ``chunk`` failed with ``message``."""
        return _ProfileChunkResult(chunk.task, [([], {}, message) for _ in chunk.task])


def profile(objective: Objective, x_best, *, parameters: str | Sequence[str] | None = None, backend="serial",
            max_steps: int = 60, step: float = 0.01, min_step: float = 1e-5, max_step: float = 0.1,
            confidence: float = 0.95, margin: float = 1.0, maxiter: int = 200) -> ProfileResult:
    """Profile likelihoods of ``parameters`` (default: all) from the optimum ``x_best``.

    Parameters
    ----------
    objective : Objective
    x_best : array
        The optimum on the parameter scale (e.g. ``FitResult.best_x``).
    parameters : id or ids, optional
        Parameters to profile (default: every estimated parameter); one ensemble task each.
    backend : 'serial', 'processes', 'dask' or a backend object
    max_steps : int
        Steps tried per side (accepted or not) before the side ends unfinished.
    step, min_step, max_step : float
        First, smallest and largest step, as fractions of the parameter's bound width on its scale.
        The step grows where the profile is flat and shrinks where the ratio rises fast.
    confidence : float
        Level of the intervals; the threshold is chi2_1(confidence) (3.84 for 0.95).
    margin : float
        A side ends once the ratio exceeds the threshold by this much.
    maxiter : int
        L-BFGS-B iterations per re-optimisation.

    Returns
    -------
    ProfileResult
        ``.table`` (the profile points), ``.intervals`` (per parameter, with an identifiability flag).
        If a profile reaches a lower nllh than ``x_best``'s, ``.improved`` is true, ``.x_min`` is that
        point and the ratios are measured from it (a :class:`~qsp.QSPWarning` says so).
    """
    check_objective(objective)
    x0 = check_point(objective, x_best)
    check_ids(objective.space.ids, POINT_COLUMNS, "profile")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise InputError(f"confidence must be a number between 0 and 1. Got {confidence!r}.")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise InputError(f"max_steps must be a positive integer. Got {max_steps!r}.")
    if isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter < 1:
        raise InputError(f"maxiter must be a positive integer. Got {maxiter!r}.")
    for name, v in (("step", step), ("min_step", min_step), ("max_step", max_step)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise InputError(f"{name} must be a fraction of the bound width in (0, 1]. Got {v!r}.")
    if not min_step <= step <= max_step:
        raise InputError(f"steps must satisfy min_step <= step <= max_step. Got {min_step!r}, {step!r}, {max_step!r}.")
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin >= 0:
        raise InputError(f"margin must be a number >= 0. Got {margin!r}.")
    indices = parameter_indices(objective, parameters)
    f0 = float(objective.nllh(x0))
    if not math.isfinite(f0):
        raise InputError("the objective is not finite at x_best; profiles start from an optimum")
    threshold = chi2_threshold(confidence)
    settings = ProfileSettings(threshold=threshold, margin=float(margin), max_steps=max_steps, step=float(step),
                               min_step=float(min_step), max_step=float(max_step), max_increase=threshold / 2,
                               target_increase=threshold / 8, maxiter=maxiter)
    job = ProfileJob(objective, x0, f0, settings)
    done = run_tasks(run_profiles, job, indices, backend)
    res = ProfileResult(objective.space, x0, f0, [(i, *done[i]) for i in indices], confidence=confidence,
                        threshold=threshold)
    if res.improved:
        warnings.warn(f"a profile reached nllh {res.nllh_min:.6g}, below {f0:.6g} at x_best: x_best is not the "
                      "optimum; ratios are measured from the better point (result.x_min), fit again from it",
                      QSPWarning, stacklevel=2)
    if len(res.failures):
        row = res.failures.iloc[0]
        warnings.warn(f"{len(res.failures)} profile(s) failed, e.g. {row['parameter']}: {row['message']}",
                      QSPWarning, stacklevel=2)
    return res


def run_profiles(job: ProfileJob, chunk: TaskChunk) -> _ProfileChunkResult:
    """Profile each parameter of ``chunk``; an error of one is its message, not a crash of the run."""
    out = []
    for i in chunk.task:
        try:
            points, sides = [], {}
            for direction, side in ((-1, "lower"), (1, "upper")):
                pts, sides[side] = _walk(job, int(i), direction)
                points.extend((side, *p) for p in pts)
            out.append((points, sides, ""))
        except Exception as exc:  # noqa: BLE001 - reported per parameter
            out.append(([], {}, f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]))
    return _ProfileChunkResult(chunk.task, out)


def _walk(job: ProfileJob, i: int, direction: int) -> tuple[list, str]:
    """One side of parameter ``i``'s profile: [(step, x, nllh, optimiser ok)] and why it ended."""
    obj, s = job.objective, job.settings
    lo, hi = obj.space.lower, obj.space.upper
    width = hi[i] - lo[i]
    bound = lo[i] if direction < 0 else hi[i]
    h = s.step * width
    hmin, hmax = s.min_step * width, s.max_step * width
    x, r_prev = job.x_best.copy(), 0.0
    points: list = []
    if x[i] == bound:
        return points, "bound"
    for _ in range(s.max_steps):
        theta = float(np.clip(x[i] + direction * h, lo[i], hi[i]))
        x_new, f_new, ok = _reoptimise(obj, i, theta, x, s.maxiter)
        r_new = 2.0 * (f_new - job.nllh_best)
        if not math.isfinite(f_new):
            if h > hmin:
                h = max(h / 2, hmin)
                continue
            return points, "failed"
        rise = r_new - r_prev
        if rise > s.max_increase and h > hmin and r_prev < s.threshold:
            h = max(h / 2, hmin)  # too coarse where the interval ends: a smaller step instead
            continue
        points.append((len(points) + 1, x_new, f_new, ok))
        x, r_prev = x_new, r_new
        if r_new > s.threshold + s.margin:
            return points, "threshold"
        if theta == bound:
            return points, "bound"
        factor = 2.0 if rise <= 0 else float(np.clip(math.sqrt(s.target_increase / rise), 0.5, 2.0))
        h = float(np.clip(h * factor, hmin, hmax))
    return points, "max_steps"


def _reoptimise(obj: Objective, i: int, theta: float, x_start: np.ndarray, maxiter: int):
    """The other parameters re-optimised with parameter ``i`` fixed at ``theta``: (x, nllh, success)."""
    from scipy.optimize import minimize

    x = x_start.copy()
    x[i] = theta
    free = np.array([j for j in range(len(x)) if j != i], dtype=int)
    if not len(free):
        return x, float(obj.nllh(x)), True

    def full(z):
        y = x.copy()
        y[free] = z
        return y

    def fun(z):
        v = float(obj.nllh(full(z)))
        return v if math.isfinite(v) else 1e300

    def jac(z):
        g = np.asarray(obj.gradient(full(z)), dtype=float)[free]
        return np.where(np.isfinite(g), g, 0.0)

    bounds = list(zip(obj.space.lower[free], obj.space.upper[free]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = minimize(fun, x[free], jac=jac, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter})
    z = res.x if float(res.fun) <= fun(x[free]) else x[free]
    y = full(z)
    f = float(obj.nllh(y))
    return y, f, bool(res.success)
