"""One start of fides' interior trust-region reflective optimiser (``method="fides"``).

The Hessian is the objective's Fisher information (``objective.fisher_information_terms(x)``, which gives
the value, the gradient and the Gauss-Newton matrix from one set of simulations: PEtab objectives) or,
for other objectives, a BFGS approximation from ``objective.gradient`` (fides' ``BFGS`` update).
``options``: fides' options (``maxiter``, ``maxtime``, ``fatol``, ``frtol``, ``xtol``, ``gatol``,
``grtol``, ``delta_init``, ...) and ``hessian_update``: ``"fim"`` (the default where the objective has
a Fisher information), ``"bfgs"``, ``"sr1"`` or ``"hybrid"`` (the Fisher information first, BFGS after
``hybrid_switch`` iterations, default 20). ``max_evals`` sets ``maxiter`` (one evaluation per
iteration). A point where the objective is not finite is a rejected step (fides shrinks its trust
region); the reported point is the best finite one evaluated.
"""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace

import numpy as np

__all__ = ["fides_start", "has_fisher_information"]

#: fides exit flags that mean convergence (FTOL, XTOL, GTOL).
_CONVERGED = (1, 2, 3)


def has_fisher_information(objective) -> bool:
    """Whether ``objective`` gives its value, gradient and Fisher information at once."""
    return callable(getattr(objective, "fisher_information_terms", None))


def _hessian_update(kind: str, switch: int):
    import fides

    if kind == "fim":
        return None
    if kind == "bfgs":
        return fides.BFGS()
    if kind == "sr1":
        return fides.SR1()
    if kind == "hybrid":
        return fides.HybridFixed(fides.BFGS(), switch_iteration=switch)
    from ..errors import InputError

    raise InputError(f"hessian_update must be 'fim', 'bfgs', 'sr1' or 'hybrid'; got {kind!r}")


def fides_start(objective, ev, row: dict, x0: np.ndarray, max_evals, options: dict) -> None:
    """Run fides from ``x0``; fills ``row`` (``ev``: the optimizers' evaluation counter)."""
    import fides

    from .optimizers import _finish

    opts = dict(options)
    fim = has_fisher_information(objective)
    kind = str(opts.pop("hessian_update", "fim" if fim else "bfgs")).lower()
    switch = int(opts.pop("hybrid_switch", 20))
    if kind in ("fim", "hybrid") and not fim:
        kind = "bfgs"
    update = _hessian_update(kind, switch)
    if max_evals:
        opts.setdefault("maxiter", int(max_evals))
    d = len(x0)

    def clean(a):
        return np.where(np.isfinite(a), a, 0.0)

    def fun(x):
        x = np.array(x, dtype=float)
        if fim:
            f, terms = ev.evaluate(objective.fisher_information_terms, x)
            if not math.isfinite(f):  # an infeasible point: a rejected step
                return math.inf, np.zeros(d), np.zeros((d, d))
            row["n_grad"] += 1
            _, g, h = terms
            h = clean(np.asarray(h, dtype=float))
            return f, clean(np.asarray(g, dtype=float)), 0.5 * (h + h.T)
        f = ev(x)
        if not math.isfinite(f):
            return math.inf, np.zeros(d)
        row["n_grad"] += 1
        try:
            g = np.asarray(objective.gradient(x), dtype=float)
        except Exception as exc:
            ev.error(exc)
            return math.inf, np.zeros(d)
        return f, clean(g)

    call = fun
    if fim and update is not None and not update.requires_hess:
        def call(x):  # a BFGS or SR1 update: fides asks for the value and the gradient only
            return fun(x)[:2]

    space = objective.space
    lb, ub = np.asarray(space.lower, float), np.asarray(space.upper, float)
    x0 = np.clip(np.asarray(x0, float), lb, ub)
    optimizer = fides.Optimizer(call, ub=ub, lb=lb, verbose=logging.ERROR, options=opts, hessian_update=update)
    logging.getLogger("fides").setLevel(logging.ERROR)
    try:
        optimizer.minimize(x0)
    except RuntimeError as exc:  # fides stops on a non-finite value, gradient or Hessian
        row["optimizer_message"] = str(exc)[:500]
    flag = getattr(optimizer, "exitflag", None)
    res = SimpleNamespace(success=flag is not None and int(flag) in _CONVERGED,
                          message=f"fides: {getattr(flag, 'name', flag)}")
    message = row.get("optimizer_message", "")
    _finish(row, ev, res)
    if message:
        row["optimizer_message"] = f"{row['optimizer_message']}: {message}"
