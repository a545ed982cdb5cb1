"""NLMEResult: population estimates with SEs, conditional modes, the log-likelihood, traces and plots."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_write, json_text
from .spec import dtheta_dphi

__all__ = ["NLMEResult"]


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


class NLMEResult:
    """A population fit (from :func:`qsp.nlme.saem`).

    Attributes
    ----------
    estimates : DataFrame
        ``parameter``, ``estimate``, ``se``, ``rse_pct`` (100 se / |estimate|), ``kind``: ``fixed`` (typical
        values, in model units; at the covariates' reference values), ``omega`` (SDs of eta, and
        correlations ``corr_A_B`` with a full Omega), ``residual`` (``sigma_add``, ``sigma_prop``).
        SEs from the linearised Fisher information (delta method for typical values and SDs).
    ebes : DataFrame
        Per subject: ``eta_P`` (conditional mode), ``P`` (the individual value there), ``eta_P_mean`` and
        ``eta_P_sd`` (conditional mean and SD from the SAEM chains of the smoothing phase).
    trace : DataFrame
        Every parameter at every iteration (``iteration``, ``phase``).
    llh : float
        Log-likelihood by importance sampling (NaN when not computed); ``llh_se`` its Monte Carlo SE.
    """

    def __init__(self, problem, settings, state, post, *, wall_s: float):
        self.problem = problem
        self.population = problem.population
        self.settings = settings
        self.state = state
        self.post = post
        self.wall_s = float(wall_s)
        self.trace = state.trace
        self.llh = post.llh
        self.llh_se = post.llh_se
        self.n_subjects = len(problem.subjects)
        self.n_observations = problem.n_observations
        self.estimates = self._estimates()
        self.ebes = self._ebes()

    # ------------------------------------------------------------------ numbers
    @property
    def names(self) -> list[str]:
        return self.population.names

    @property
    def typical(self) -> dict[str, float]:
        """Typical values (model units; at the covariates' reference values)."""
        return dict(zip(self.names, self.population.from_phi(self.state.mu).tolist()))

    @property
    def omega(self) -> pd.DataFrame:
        """Omega (variances and covariances of eta) between the parameters with random effects."""
        r = self.population.random
        names = [n for n, k in zip(self.names, r) if k]
        return pd.DataFrame(self.state.omega[np.ix_(r, r)], index=names, columns=names)

    @property
    def sigma(self) -> dict[str, float]:
        a, b = self.state.sigma
        return {n: float(a if n == "sigma_add" else b) for n in self.population.sigma_names()}

    @property
    def n_simulations(self) -> int:
        return int(self.state.sims + self.post.sims)

    def _estimates(self) -> pd.DataFrame:
        pop, st = self.population, self.state
        cov = self.post.covariance
        index = {lab: i for i, lab in enumerate(self.post.labels)}

        def var(lab):
            return float(cov[index[lab], index[lab]]) if cov is not None and lab in index else math.nan

        rows = []
        slope = dtheta_dphi(st.mu, pop.transforms, pop.ranges)
        for k, name in enumerate(pop.names):
            est = self.typical[name]
            rows.append((name, est, abs(slope[k]) * math.sqrt(var(("mu", k))), "fixed"))
        random = np.flatnonzero(pop.random)
        for k in random:
            sd = math.sqrt(st.omega[k, k])
            rows.append((f"omega_{pop.names[k]}", sd, math.sqrt(var(("omega", k, k))) / (2 * sd), "omega"))
        if pop.covariance == "full":
            for i, a in enumerate(random):
                for b in random[i + 1:]:
                    rows.append((f"corr_{pop.names[a]}_{pop.names[b]}", *self._corr(a, b, cov, index), "omega"))
        for k, name in enumerate(pop.sigma_names()):
            value = float(st.sigma[0] if name == "sigma_add" else st.sigma[1])
            rows.append((name, value, math.sqrt(var(("sigma", 0 if name == "sigma_add" else 1))), "residual"))
        out = pd.DataFrame(rows, columns=["parameter", "estimate", "se", "kind"])
        with np.errstate(divide="ignore", invalid="ignore"):
            out.insert(3, "rse_pct", 100 * out["se"] / out["estimate"].abs())
        return out

    def _corr(self, a, b, cov, index) -> tuple[float, float]:
        om = self.state.omega
        r = om[a, b] / math.sqrt(om[a, a] * om[b, b])
        if cov is None:
            return r, math.nan
        labs = [("omega", a, b), ("omega", a, a), ("omega", b, b)]
        grad = np.array([1 / math.sqrt(om[a, a] * om[b, b]), -r / (2 * om[a, a]), -r / (2 * om[b, b])])
        idx = [index[lab] for lab in labs]
        c = cov[np.ix_(idx, idx)]
        return r, math.sqrt(max(grad @ c @ grad, 0.0))

    def _ebes(self) -> pd.DataFrame:
        pop, st, post = self.population, self.state, self.post
        mean = self.problem.c * st.mu + self.problem.o
        theta = pop.from_phi(mean + post.eta_mode)
        table = pd.DataFrame({"ID": self.problem.ids})
        cond_mean = st.s1 - mean
        cond_var = st.s2i - np.einsum("nj,nk->njk", st.s1, st.s1)
        for k, name in enumerate(pop.names):
            if pop.random[k]:
                table[f"eta_{name}"] = post.eta_mode[:, k]
        for k, name in enumerate(pop.names):
            table[name] = theta[:, k]
        for k, name in enumerate(pop.names):
            if pop.random[k]:
                table[f"eta_{name}_mean"] = cond_mean[:, k]
                table[f"eta_{name}_sd"] = np.sqrt(np.maximum(cond_var[:, k, k], 0.0))
        return table

    def shrinkage(self) -> pd.DataFrame:
        """Eta shrinkage per random parameter: ``1 - sd(eta modes) / omega`` (NONMEM's, in %)."""
        rows = []
        for k, name in enumerate(self.names):
            if self.population.random[k]:
                sd = float(np.std(self.post.eta_mode[:, k], ddof=1)) if self.n_subjects > 1 else math.nan
                omega = math.sqrt(self.state.omega[k, k])
                rows.append({"parameter": name, "omega": omega, "sd_eta": sd, "shrinkage_pct": 100 * (1 - sd / omega)})
        return pd.DataFrame(rows)

    def summary(self) -> dict:
        """``llh`` (importance sampling), ``llh_se``, ``aic``, ``bic``, ``n_subjects``, ``n_observations``,
        ``n_parameters``, ``wall_s``, ``n_simulations``, ``simulations_per_s`` (inside SAEM's E-steps),
        ``saem_s``, the settings."""
        k = len(self.estimates)
        st = self.settings
        return {"llh": _plain(self.llh), "llh_se": _plain(self.llh_se), "aic": _plain(-2 * self.llh + 2 * k),
                "bic": _plain(-2 * self.llh + k * math.log(self.n_subjects)),
                "n_subjects": self.n_subjects, "n_observations": self.n_observations, "n_parameters": k,
                "wall_s": self.wall_s, "n_simulations": self.n_simulations,
                "simulations_per_s": _plain(self.state.sims / self.state.estep_s if self.state.estep_s else math.nan),
                "saem_s": self.state.estep_s, "estep_failures": self.state.failures,
                "iterations": list(st.iterations), "kernels": list(st.kernels), "chains": st.chains,
                "burn": st.burn, "annealing": st.annealing, "seed": st.seed, "is_samples": st.is_samples,
                "error": self.population.error, "covariance": self.population.covariance}

    def __repr__(self) -> str:
        est = ", ".join(f"{r.parameter}={r.estimate:.4g}" for r in self.estimates.itertuples())
        return f"NLMEResult({self.n_subjects} subjects, {self.n_observations} observations, llh {self.llh:.6g}: {est})"

    # ------------------------------------------------------------------ exports
    def to_pandas(self) -> pd.DataFrame:
        """A copy of :attr:`estimates`."""
        return self.estimates.copy()

    def to_csv(self, directory: str | os.PathLike) -> None:
        """Write ``estimates.csv``, ``ebes.csv`` and ``trace.csv`` into ``directory`` (created if needed)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for name, table in (("estimates", self.estimates), ("ebes", self.ebes), ("trace", self.trace)):
            with atomic_write(d / f"{name}.csv") as fh:
                table.to_csv(fh, index=False)

    def to_dict(self) -> dict:
        """JSON-ready: the summary and the estimates as records (NaN as None)."""
        records = [{k: _plain(v) for k, v in rec.items()} for rec in self.estimates.to_dict(orient="records")]
        return {**self.summary(), "estimates": records}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """:meth:`to_dict` as JSON text, written whole to ``path`` when given."""
        return json_text(self.to_dict(), path)

    # ------------------------------------------------------------------ plots
    def plot_convergence(self):
        """Every parameter against the iteration (the smoothing phase shaded); returns the Figure."""
        from .plots import convergence

        return convergence(self)

    def plot_etas(self):
        """Histogram of each eta's conditional modes over N(0, omega^2), with the shrinkage; the Figure."""
        from .plots import etas_plot

        return etas_plot(self)

    def plot_individual(self, subjects=None, max_panels: int = 12):
        """DV, IPRED and PRED against time for the first ``max_panels`` subjects (or ``subjects``); the Figure."""
        from .plots import individual_plot

        return individual_plot(self, subjects, max_panels)

    def plot_gof(self, vpc=None):
        """Goodness-of-fit panels (NPDE too when a VPC of this fit is given); the Figure."""
        from .diagnostics import gof

        return gof(self, vpc).plot()
