"""The plausible-patient problem: what to simulate for a batch of candidate parameter sets.

A :class:`PlausibleProblem` holds the model, the parameter and output bounds, the regimen the outputs
are read under and the ensemble options. :meth:`PlausibleProblem.evaluate` turns a batch of unit-cube
points into one :func:`qsp.ensemble.run` call; every generator evaluates its candidates only this way.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import ensemble
from ..errors import QSPError, QSPWarning
from .bounds import OutputBounds, ParameterBounds

__all__ = ["PlausibleProblem", "Evaluation"]


@dataclass
class Evaluation:
    """One evaluated batch: cube points, parameter values, outputs, objective and failure flags."""

    u: np.ndarray
    x: np.ndarray
    y: np.ndarray
    g: np.ndarray
    failed: np.ndarray
    messages: list


@dataclass
class PlausibleProblem:
    """Parameter bounds + output bounds + how to simulate.

    Parameters
    ----------
    model : qsp.Model
    parameters : ParameterBounds or mapping
        Varied parameters (``{id: {low, high[, scale]}}``; log10 scale by default when low > 0).
    outputs : OutputBounds or mapping
        Plausible intervals ``{name: {metric, low, high[, scale]}}``.
    regimen : str, list of Dose or (doses, params), optional
        Treatment under which the outputs are read (a metadata regimen name, doses, or doses + params);
        None: the model as it is.
    fixed : mapping, optional
        Parameter overrides applied to every simulation (e.g. ``{"cure_on": 1}``).
    t_end, points : float, int, optional
        Simulation grid (defaults from the model metadata); metrics read values on this grid.
    backend, chunk_size : ensemble options
        How :func:`qsp.ensemble.run` runs each batch.
    """

    model: object
    parameters: object
    outputs: object
    regimen: object = None
    fixed: Mapping = field(default_factory=dict)
    t_end: float | None = None
    points: int | None = None
    backend: object = "serial"
    chunk_size: int = 256

    def __post_init__(self):
        if not isinstance(self.parameters, ParameterBounds):
            self.parameters = ParameterBounds.from_mapping(self.parameters)
        if not isinstance(self.outputs, OutputBounds):
            self.outputs = OutputBounds.from_mapping(self.outputs)
        self.fixed = dict(self.fixed or {})
        clash = set(self.fixed) & set(self.parameters.names)
        if clash:
            raise QSPError(f"parameter {sorted(clash)[0]!r} is both varied and fixed; remove it from one")
        self.n_simulations = 0
        self.n_failed = 0
        self.progress = None  # a progress bar that generate() sets while it runs

    def regimens(self) -> dict:
        """The ``regimens=`` argument of ``ensemble.run`` (one arm, fixed overrides merged in)."""
        reg = self.regimen
        if reg is None:
            doses, params = [], {}
        elif isinstance(reg, str):
            doses, params = self.model.regimen(reg)
        elif isinstance(reg, tuple) and len(reg) == 2 and isinstance(reg[1], Mapping):
            doses, params = reg
        else:
            doses, params = reg, {}
        return {"plausibility": (list(doses), {**dict(params), **self.fixed})}

    def evaluate(self, u: np.ndarray, *, seed: int = 0) -> Evaluation:
        """Simulate a batch of unit-cube points in one ensemble call and score them.

        Returns
        -------
        Evaluation
            ``g`` is the flat-bottomed objective (``inf`` where the simulation failed).
        """
        u = np.clip(np.atleast_2d(np.asarray(u, float)), 0.0, 1.0)
        x = self.parameters.to_values(u)
        samples = pd.DataFrame(x, columns=list(self.parameters.names))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QSPWarning)  # failures are counted and reported by the generator
            res = ensemble.run(self.model, samples, regimens=self.regimens(), metrics=list(self.outputs.metrics),
                               t_end=self.t_end, points=self.points, backend=self.backend,
                               chunk_size=self.chunk_size, seed=seed, progress=False)
        table = res.table
        y = table[list(self.outputs.names)].to_numpy(dtype=float)
        failed = (table["status"] != "ok").to_numpy()
        g = self.outputs.objective(y)
        g[failed] = np.inf
        self.n_simulations += len(u)
        self.n_failed += int(failed.sum())
        if self.progress is not None:
            self.progress.update(len(u))
        return Evaluation(u, x, y, g, failed, table["message"].tolist())


@dataclass
class Found:
    """What a generator hands back: the plausible points found and the work it took.

    ``n_attempts`` counts the generator's own unit of trial (a random draw, a Metropolis-Hastings
    proposal, a random optimisation start) up to the last plausible patient returned, so that
    ``len(x) / n_attempts`` is the yield per attempt; ``n_simulations`` counts every simulation run.
    """

    x: np.ndarray
    y: np.ndarray
    n_simulations: int
    n_failed: int
    iterations: int
    info: dict = field(default_factory=dict)
    n_attempts: int = 0


def reflect(u: np.ndarray) -> np.ndarray:
    """Fold points back into the unit cube by reflection at its faces (then clip for safety)."""
    u = np.abs(np.asarray(u, float))
    u = 1.0 - np.abs(1.0 - np.mod(u, 2.0))
    return np.clip(u, 0.0, 1.0)


def check_budget(n, max_simulations) -> tuple[int, int]:
    """Validate ``n`` (PPs wanted) and ``max_simulations`` (default 200 * n)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise QSPError(f"n (plausible patients wanted) must be a positive integer. Got {n!r}.")
    if max_simulations is None:
        max_simulations = 200 * int(n)
    if isinstance(max_simulations, bool) or not isinstance(max_simulations, (int, np.integer)) or max_simulations < 1:
        raise QSPError(f"max_simulations must be a positive integer. Got {max_simulations!r}.")
    return int(n), int(max_simulations)
