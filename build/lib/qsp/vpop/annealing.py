"""Plausible patients by optimisation: batched simulated annealing of the flat-bottomed objective.

Allen, Rieger & Musante (2016) minimise g(p) from random starts until g = 0. Here ``n_starts`` chains
run side by side in the unit cube of the (log-)parameter box. At each iteration every chain proposes one
Gaussian move (reflected at the faces); all proposals go to the model in a single ensemble call. A chain
accepts a move that lowers g, or one that raises it with probability exp(-dg / T); its temperature
cools geometrically and its step size follows the one-fifth success rule. A chain that reaches g = 0
yields a plausible patient and restarts from a fresh random point (the restart is simulated in the same
batch as the other chains' proposals); a chain that has not succeeded after ``max_iter`` moves restarts
too.
"""

from __future__ import annotations

import numpy as np

from .problem import Found, PlausibleProblem, check_budget, reflect

__all__ = ["anneal"]


def anneal(problem: PlausibleProblem, n: int, *, seed: int | None = 0, n_starts: int = 64, max_iter: int = 100,
           step: float = 0.15, temperature: float = 0.1, cooling: float = 0.9,
           max_simulations: int | None = None) -> Found:
    """Minimise the flat-bottomed objective from random starts; each start that reaches g = 0 is a PP.

    Parameters
    ----------
    problem : PlausibleProblem
    n : int
        Plausible patients wanted.
    seed : int
    n_starts : int
        Chains run in parallel (points per ensemble call).
    max_iter : int
        Moves per start before it is abandoned and restarted.
    step : float
        Initial standard deviation of a move, in unit-cube widths (0.15 = 15 % of each range).
    temperature : float
        Initial temperature as a fraction of the start's objective value.
    cooling : float
        Temperature factor per iteration, in (0, 1].
    max_simulations : int, optional
        Simulation budget (default ``200 * n``).

    Returns
    -------
    Found
        ``info`` holds ``starts`` (random starts used), ``successful_starts`` and ``abandoned_starts``
        (starts that did not reach g = 0 within ``max_iter`` moves). An attempt is a random start that
        ended, in success or abandoned; starts still running when the search stops are not counted.
    """
    n, budget = check_budget(n, max_simulations)
    rng = np.random.default_rng(seed)
    d = problem.parameters.dim
    b = int(min(n_starts, budget))
    ev = problem.evaluate(rng.random((b, d)), seed=int(rng.integers(2**31 - 1)))
    u, g, x, y = ev.u.copy(), ev.g.copy(), ev.x.copy(), ev.y.copy()
    sims, failed, it, starts = b, int(ev.failed.sum()), 1, b
    temp = temperature * np.where(np.isfinite(g), np.maximum(g, 1e-12), 1.0)
    sigma = np.full(b, float(step))
    age = np.zeros(b, dtype=int)
    xs, ys, successes, abandoned = [], [], 0, 0
    while True:
        done = g == 0
        if done.any():
            take = np.flatnonzero(done)[: n - successes]
            xs.append(x[take])
            ys.append(y[take])
            successes += len(take)
            g[done] = np.inf  # recorded once; the chain restarts
        if successes >= n or sims >= budget:
            break
        restart = done | (age >= max_iter)
        abandoned += int((~done & (age >= max_iter)).sum())
        cand = reflect(u + sigma[:, None] * rng.standard_normal((b, d)))
        cand[restart] = rng.random((int(restart.sum()), d))
        size = int(min(b, budget - sims))
        if size < b:  # budget ends mid-batch: only the first chains move
            cand = cand[:size]
        evc = problem.evaluate(cand, seed=int(rng.integers(2**31 - 1)))
        sims += size
        failed += int(evc.failed.sum())
        it += 1
        idx = np.arange(size)
        gc = evc.g
        with np.errstate(invalid="ignore", over="ignore"):
            better = gc < g[idx]
            worse_ok = np.isfinite(gc) & (rng.random(size) < np.exp(-(gc - g[idx]) / temp[idx]))
        accept = better | worse_ok | restart[idx]
        sigma[idx] = np.where(restart[idx], step,
                              np.clip(sigma[idx] * np.where(better, np.exp(1 / 3), np.exp(-1 / 12)), 1e-3, 0.5))
        temp[idx] = np.where(restart[idx], temperature * np.where(np.isfinite(gc), np.maximum(gc, 1e-12), 1.0),
                             temp[idx] * cooling)
        age[idx] = np.where(restart[idx], 0, age[idx] + 1)
        starts += int(restart[idx].sum())
        a = idx[accept]
        u[a], g[a], x[a], y[a] = evc.u[accept], gc[accept], evc.x[accept], evc.y[accept]
    x_out = np.concatenate(xs) if xs else np.empty((0, d))
    y_out = np.concatenate(ys) if ys else np.empty((0, len(problem.outputs.names)))
    return Found(x_out, y_out, sims, failed, it, {"starts": starts, "successful_starts": successes,
                                                   "abandoned_starts": abandoned, "n_starts": b,
                                                   "max_iter": max_iter},
                 n_attempts=successes + abandoned)
