"""Objectives with known answers for the uncertainty tests: Gaussians and a one-compartment decay model."""

from __future__ import annotations

import numpy as np

from qsp.fit.objective import Objective, ParameterSpace


class Gaussian(Objective):
    """nllh = 0.5 (x - mu)' P (x - mu) on the given scales; ``free`` lists the parameters it depends on."""

    def __init__(self, mu, cov, lower, upper, scales=None, ids=None, with_prior=False):
        n = len(mu)
        self.mu = np.asarray(mu, float)
        self.precision = np.linalg.pinv(np.asarray(cov, float))
        self.space = ParameterSpace(tuple(ids or [f"p{i}" for i in range(n)]), tuple(scales or ["lin"] * n),
                                    np.asarray(lower, float), np.asarray(upper, float))
        self.with_prior = with_prior
        self.calls = 0

    def nllh(self, x):
        self.calls += 1
        d = np.asarray(x, float) - self.mu
        return float(0.5 * d @ self.precision @ d)


class Flat(Objective):
    """A Gaussian in p0 that does not depend on p1 at all (p1 is structurally non-identifiable)."""

    space = ParameterSpace(("p0", "p1"), ("lin", "lin"), np.array([-5.0, -5.0]), np.array([5.0, 5.0]))

    def nllh(self, x):
        return float(0.5 * (x[0] - 1.0) ** 2)


DECAY = """
model decay
  compartment V = 10
  species A in V
  dose = 100
  A = dose / V
  k = 0.3
  elimination: A => ; k * A * V
end
"""

TIMES = np.array([0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0])
TRUE = {"k": 0.3, "V": 10.0}
SIGMA = 0.25


def decay_curve(times, k=TRUE["k"], V=TRUE["V"], dose=100.0):
    """The closed form [A](t) = dose / V * exp(-k t)."""
    return dose / V * np.exp(-k * np.asarray(times, float))


class DecayObjective(Objective):
    """Least squares of the decay model simulated by qsp against noisy concentrations (known sigma);
    k and V estimated on the log10 scale."""

    space = ParameterSpace(("k", "V"), ("log10", "log10"), np.array([-3.0, -1.0]), np.array([1.0, 3.0]))

    def __init__(self, data, times=TIMES, sigma=SIGMA):
        self.data = np.asarray(data, float)
        self.times = np.asarray(times, float)
        self.sigma = float(sigma)
        self._model = None
        self.simulations = 0

    @property
    def model(self):
        if self._model is None:
            import qsp

            self._model = qsp.Model.from_antimony(DECAY)
        return self._model

    def __getstate__(self):  # the compiled model stays behind; a worker compiles its own
        state = dict(self.__dict__)
        state["_model"] = None
        return state

    def predict(self, x):
        k, V = 10.0 ** np.asarray(x, float)
        self.simulations += 1
        return self.model.simulate(times=self.times, outputs=["[A]"], params={"k": k, "V": V})["[A]"]

    def residuals(self, x):
        return (self.data - self.predict(x)) / self.sigma

    def nllh(self, x):
        r = self.residuals(x)
        return float(0.5 * r @ r) if np.isfinite(r).all() else float("inf")


def decay_data(seed: int, times=TIMES, sigma=SIGMA) -> np.ndarray:
    """Concentrations at ``times`` from the true values with seeded Gaussian noise."""
    rng = np.random.default_rng(seed)
    return decay_curve(times) + sigma * rng.standard_normal(len(times))


def fit(objective: Objective, x0) -> np.ndarray:
    """A local fit (L-BFGS-B within the bounds) from ``x0``."""
    from scipy.optimize import minimize

    res = minimize(objective.nllh, np.asarray(x0, float), jac=objective.gradient, method="L-BFGS-B",
                   bounds=list(zip(objective.space.lower, objective.space.upper)))
    return res.x
