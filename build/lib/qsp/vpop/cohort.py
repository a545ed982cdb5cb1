"""Plausible patients by sampling and acceptance (gQSPSim's "cohort"): keep every draw inside the bounds."""

from __future__ import annotations

import numpy as np

from ..errors import QSPError
from .problem import Found, PlausibleProblem, check_budget

__all__ = ["sample_accept"]


def sample_accept(problem: PlausibleProblem, n: int, *, seed: int | None = 0, batch_size: int = 256,
                  max_simulations: int | None = None) -> Found:
    """Draw uniform points of the (log-)parameter box, simulate them, keep those with every output in bounds.

    Parameters
    ----------
    problem : PlausibleProblem
    n : int
        Plausible patients wanted; the search stops at ``n`` or at ``max_simulations``.
    seed : int
    batch_size : int
        Points per ensemble call.
    max_simulations : int, optional
        Simulation budget (default ``200 * n``).

    Returns
    -------
    Found
        An attempt is one random draw; ``n_attempts`` counts the draws up to the ``n``-th plausible one
        (draws simulated after it in the last batch are in ``n_simulations`` only), so the yield per
        attempt is the acceptance rate of the box.
    """
    n, budget = check_budget(n, max_simulations)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise QSPError(f"batch_size must be a positive integer. Got {batch_size!r}.")
    rng = np.random.default_rng(seed)
    xs, ys, sims, failed, it = [], [], 0, 0, 0
    found, attempts = 0, 0
    while found < n and sims < budget:
        size = int(min(batch_size, budget - sims))
        ev = problem.evaluate(rng.random((size, problem.parameters.dim)), seed=int(rng.integers(2**31 - 1)))
        it += 1
        ok = np.flatnonzero(ev.g == 0)[: n - found]
        attempts = sims + (int(ok[-1]) + 1 if found + len(ok) >= n else size)
        sims += size
        failed += int(ev.failed.sum())
        xs.append(ev.x[ok])
        ys.append(ev.y[ok])
        found += len(ok)
    x, y = np.concatenate(xs), np.concatenate(ys)
    return Found(x, y, sims, failed, it, {"batch_size": batch_size}, n_attempts=attempts)
