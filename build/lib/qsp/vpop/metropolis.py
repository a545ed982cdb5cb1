"""Plausible patients by Metropolis-Hastings random walks (Rieger et al. 2018), many chains per ensemble call.

Each chain moves in the unit cube of the (log-)parameter box with the proposal
``q = clip(p + w * U(-1, 1))`` (``w = 0.1``: a tenth of each range, as in Rieger 2018). The score of a
point is ``rho(M(p))`` when every output is inside its bounds (``rho`` = 1, or a target density of the
outputs when ``log_density`` is given) and ``eps * exp(-g(p))`` outside, so that chains started outside
the plausible region walk into it along the flat-bottomed objective ``g``. A move is accepted when
``U < s(q) / s(p)``. Every accepted move that lands inside the bounds is a new plausible patient
(repeated states are not counted twice).
"""

from __future__ import annotations

import numpy as np

from .problem import Found, PlausibleProblem, check_budget

__all__ = ["metropolis"]


def _log_score(g: np.ndarray, y: np.ndarray, log_density, log_eps: float) -> np.ndarray:
    inside = g == 0
    out = np.where(np.isfinite(g), log_eps - g, -np.inf)
    if log_density is None:
        out[inside] = 0.0
    elif inside.any():
        out[inside] = np.asarray(log_density(y[inside]), float)
    return out


def metropolis(problem: PlausibleProblem, n: int, *, seed: int | None = 0, n_chains: int = 64,
               width: float = 0.1, log_density=None, eps: float = 1e-6, burn_in: int = 0,
               max_simulations: int | None = None) -> Found:
    """Run ``n_chains`` Metropolis-Hastings chains until ``n`` plausible patients are found.

    Parameters
    ----------
    problem : PlausibleProblem
    n : int
        Plausible patients wanted.
    seed : int
    n_chains : int
        Chains run in parallel (points per ensemble call).
    width : float
        Half-width of the uniform proposal, in unit-cube widths.
    log_density : callable, optional
        ``f(y) -> log density`` of an (n, k) array of outputs inside the bounds (e.g.
        ``Target.log_density``); default: flat over the plausible region.
    eps : float
        Score factor outside the bounds.
    burn_in : int
        Iterations per chain before plausible states are recorded.
    max_simulations : int, optional
        Simulation budget (default ``200 * n``).

    Returns
    -------
    Found
        ``info`` holds ``acceptance`` (fraction of accepted moves). An attempt is one simulated point
        (the starting points, then one proposal per chain and iteration) up to the one that gave the
        last plausible patient returned.
    """
    n, budget = check_budget(n, max_simulations)
    rng = np.random.default_rng(seed)
    d = problem.parameters.dim
    b = int(min(n_chains, budget))
    log_eps = float(np.log(eps))
    ev = problem.evaluate(rng.random((b, d)), seed=int(rng.integers(2**31 - 1)))
    u, g, x, y = ev.u.copy(), ev.g.copy(), ev.x.copy(), ev.y.copy()
    ls = _log_score(g, y, log_density, log_eps)
    sims, failed, it, accepted, proposed = b, int(ev.failed.sum()), 1, 0, 0
    xs, ys, found, attempts = [], [], 0, b
    if burn_in == 0 and (g == 0).any():
        keep = np.flatnonzero(g == 0)[:n]
        xs.append(x[keep])
        ys.append(y[keep])
        found = len(keep)
        if found >= n:
            attempts = int(keep[-1]) + 1
    while found < n and sims < budget:
        size = int(min(b, budget - sims))
        cand = np.clip(u[:size] + width * rng.uniform(-1.0, 1.0, (size, d)), 0.0, 1.0)
        evc = problem.evaluate(cand, seed=int(rng.integers(2**31 - 1)))
        sims += size
        failed += int(evc.failed.sum())
        it += 1
        lc = _log_score(evc.g, evc.y, log_density, log_eps)
        with np.errstate(invalid="ignore"):
            diff = np.where(np.isneginf(ls[:size]), np.where(np.isfinite(lc), np.inf, -np.inf), lc - ls[:size])
        acc = np.log(rng.random(size)) < diff
        proposed += size
        accepted += int(acc.sum())
        a = np.flatnonzero(acc)
        u[a], g[a], x[a], y[a], ls[a] = evc.u[acc], evc.g[acc], evc.x[acc], evc.y[acc], lc[acc]
        attempts = sims
        if it > burn_in:
            new = a[g[a] == 0][: n - found]
            if len(new):
                xs.append(x[new])
                ys.append(y[new])
                found += len(new)
                if found >= n:
                    attempts = sims - size + int(new[-1]) + 1
    x_out = np.concatenate(xs) if xs else np.empty((0, d))
    y_out = np.concatenate(ys) if ys else np.empty((0, len(problem.outputs.names)))
    return Found(x_out, y_out, sims, failed, it,
                 {"n_chains": b, "width": width, "acceptance": accepted / proposed if proposed else float("nan")},
                 n_attempts=attempts)
