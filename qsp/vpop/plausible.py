"""Plausible-patient generation: one entry point over the three generators.

``method="optimize"`` (:func:`~qsp.vpop.annealing.anneal`), ``"mh"``
(:func:`~qsp.vpop.metropolis.metropolis`) and ``"sample"`` (:func:`~qsp.vpop.cohort.sample_accept`) take
the same problem and return the same :class:`~qsp.vpop.result.PlausiblePatients`. Every returned point
is checked once more against the parameter and output bounds.
"""

from __future__ import annotations

import inspect
import sys
import time

import numpy as np
import pandas as pd

from ..errors import QSPError
from ..option_names import option
from .annealing import anneal
from .cohort import sample_accept
from .metropolis import metropolis
from ..memory_limits import check_memory, ensemble_bytes
from .problem import PlausibleProblem, check_budget
from .result import PlausiblePatients
from .target import Target

__all__ = ["generate", "GENERATORS"]

GENERATORS = {"optimize": anneal, "mh": metropolis, "sample": sample_accept}


def generate(problem: PlausibleProblem, n: int, *, method: str = "optimize", seed: int | None = 0,
             max_simulations: int | None = None, target=None, progress: bool | None = None,
             **options) -> PlausiblePatients:
    """Generate up to ``n`` plausible patients.

    Parameters
    ----------
    problem : PlausibleProblem
        Model, parameter bounds, output bounds, regimen and ensemble options.
    n : int
        Plausible patients wanted.
    method : {'optimize', 'mh', 'sample'}
    seed : int
    max_simulations : int, optional
        Simulation budget (default ``200 * n``); fewer than ``n`` PPs come back if it runs out.
    target : Target, optional
        ``mh`` only: score plausible points by the target density of their outputs, ``s = rho_D(M(p))``
        (Rieger et al. 2018), so that chains spend their time where the data are; each target output
        must be an output of the problem.
    progress : bool, optional
        Progress bar of the simulations (out of ``max_simulations``) on stderr; default: only when stderr
        is a terminal.
    **options
        Passed to the generator (``n_starts``, ``max_iter``, ``step`` for optimize; ``n_chains``,
        ``width``, ``log_density``, ``burn_in`` for mh; ``batch_size`` for sample).

    Returns
    -------
    PlausiblePatients
        With the yield per simulation (``yield_``), the yield per attempt of the method
        (``attempt_yield``: per random draw, per simulated MH point, per optimisation start) and the
        wall time per PP (``seconds_per_pp``, s).

    Examples
    --------
    >>> problem = PlausibleProblem(model, {"p1": {"low": 0.1, "high": 10}},
    ...                            {"Y": {"metric": "final:Y", "low": 1, "high": 2}}, t_end=1, points=2)
    >>> pps = generate(problem, 100, method="mh")
    """
    if method not in GENERATORS:
        raise QSPError(f"method must be one of {', '.join(GENERATORS)}. Got {method!r}.")
    if not isinstance(problem, PlausibleProblem):
        raise QSPError(f"problem must be a PlausibleProblem. Got {type(problem).__name__}.")
    if target is not None:
        options["log_density"] = _target_density(problem, target, method)
    allowed = [p for p in inspect.signature(GENERATORS[method]).parameters if p not in ("problem", "n", "seed",
                                                                                          "max_simulations")]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise QSPError(f"unknown option {unknown[0]!r} for method {method!r}; use {', '.join(allowed)}")
    n, budget = check_budget(n, max_simulations)
    _check_size(problem, n, method, options)
    started = time.perf_counter()
    problem.progress = _progress_bar(budget, progress)
    try:
        found = GENERATORS[method](problem, n, seed=seed, max_simulations=budget, **options)
    finally:
        if problem.progress is not None:
            problem.progress.close()
        problem.progress = None
    wall = time.perf_counter() - started
    keep = problem.parameters.contains(found.x) & problem.outputs.inside(found.y)
    if not keep.all():  # cannot happen by construction; never hand out an implausible point
        found.x, found.y = found.x[keep], found.y[keep]
    table = pd.concat([pd.DataFrame({"pp": np.arange(len(found.x))}),
                       pd.DataFrame(found.x, columns=list(problem.parameters.names)),
                       pd.DataFrame(found.y, columns=list(problem.outputs.names))], axis=1)
    info = dict(found.info, iterations=found.iterations)
    return PlausiblePatients(table, problem.parameters.names, problem.outputs.names, method=method,
                             n_simulations=found.n_simulations, n_failed=found.n_failed, wall_seconds=wall,
                             info=info, parameter_bounds=problem.parameters.to_dict(),
                             output_bounds=problem.outputs.to_dict(), n_attempts=found.n_attempts)


#: Points per ensemble call of each generator when its option is not given.
_BATCH = {"optimize": ("n_starts", 64), "mh": ("n_chains", 64), "sample": ("batch_size", 256)}


def _check_size(problem: PlausibleProblem, n: int, method: str, options: dict) -> None:
    """Refuse a generation whose kept patients or batches exceed the memory bound."""
    key, default = _BATCH[method]
    batch = options.get(key, default)
    batch = batch if isinstance(batch, (int, np.integer)) and not isinstance(batch, bool) else default
    cols = problem.parameters.dim + len(problem.outputs.names)
    size = 32.0 * n * (cols + 1) + 8.0 * 8 * batch * cols + ensemble_bytes(batch, grid_points=problem.points)
    check_memory(size, f"{option('n', n)} ({key} {batch})", "ask for fewer plausible patients or smaller batches")


def _progress_bar(total: int, progress):
    show = progress if progress is not None else sys.stderr.isatty()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sim", desc="plausible patients", smoothing=0.05)


def _target_density(problem: PlausibleProblem, target, method: str):
    """``f(y) -> log rho_D`` over the problem's output columns, for the Metropolis-Hastings score."""
    if method != "mh":
        raise QSPError(f"{option('target')} scores Metropolis-Hastings chains; use {option('method', 'mh')}. "
                       f"Got {method!r}.")
    if not isinstance(target, Target):
        raise QSPError(f"target must be a qsp.vpop.Target. Got {type(target).__name__}.")
    names = list(problem.outputs.names)
    missing = [t for t in target.names if t not in names]
    if missing:
        raise QSPError(f"target output {missing[0]!r} is not an output of the problem ({', '.join(names)})")
    cols = [names.index(t) for t in target.names]
    return lambda y: target.log_density(np.asarray(y, float)[:, cols])
