"""Virtual subjects drawn from a fitted population, as a parameter table for ensembles and trials.

Each virtual subject takes covariates resampled from the fitted subjects (or from a table given),
its etas from N(0, Omega) (0 for parameters without random effects), and the typical values of the
fit; with ``uncertainty=True`` the typical values (mu) of each of ``draws`` groups are drawn from
N(mu_hat, Cov(mu_hat)) of the linearised Fisher information, Omega and the residual error staying at
their estimates. The result's parameter columns are model ids, so it goes to ``qsp.ensemble.run`` or
``qsp.vpop.simulate_trial`` as it is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["virtual_population"]


def virtual_population(fit, n: int, *, seed: int = 0, covariates="resample", uncertainty: bool = False,
                       draws: int = 1, extra: bool = False) -> pd.DataFrame:
    """``n`` virtual subjects from ``fit`` (an NLMEResult): one row each, one column per estimated parameter.

    Parameters
    ----------
    covariates : ``"resample"`` (baseline covariates of the fitted subjects, drawn with replacement),
        a DataFrame to draw rows from, or None (every subject at the covariates' reference values)
    uncertainty : draw the typical values from their sampling distribution, once per group
    draws : number of groups (virtual subject j belongs to group ``j * draws // n``)
    extra : also return the covariate columns, the etas (``eta_P``) and the group (``draw``)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a whole number >= 1; got {n!r}")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 1 <= draws <= n:
        raise InputError(f"draws must be a whole number between 1 and n; got {draws!r}")
    pop, st = fit.population, fit.state
    rng = np.random.default_rng([int(seed), 5])
    cov_table = _covariates(fit, covariates, int(n), rng)
    if pop.covariates is not None and cov_table is not None:
        c, o = pop.design(cov_table)
    else:
        c, o = np.ones((n, len(pop.names))), np.zeros((n, len(pop.names)))
    group = np.arange(n) * draws // n
    mu = np.tile(st.mu, (draws, 1))
    if uncertainty:
        cov = fit.post.covariance
        if cov is None:
            raise InputError("this fit has no standard errors (standard_errors=False, or a singular Fisher "
                             "information): uncertainty=True needs them")
        idx = [i for i, lab in enumerate(fit.post.labels) if lab[0] == "mu"]
        mu = rng.multivariate_normal(st.mu, cov[np.ix_(idx, idx)], size=draws, method="cholesky")
    r = pop.random
    eta = np.zeros((n, len(pop.names)))
    eta[:, r] = rng.standard_normal((n, int(r.sum()))) @ np.linalg.cholesky(st.omega[np.ix_(r, r)]).T
    theta = pop.from_phi(c * mu[group] + o + eta)
    table = pd.DataFrame(theta, columns=pop.names)
    if extra:
        if cov_table is not None:
            for col in cov_table.columns:
                table[col] = cov_table[col].to_numpy()
        for k, name in enumerate(pop.names):
            if r[k]:
                table[f"eta_{name}"] = eta[:, k]
        table["draw"] = group
    return table


def _covariates(fit, covariates, n: int, rng) -> pd.DataFrame | None:
    pop = fit.population
    if covariates is None or pop.covariates is None:
        return None
    if isinstance(covariates, str):
        if covariates != "resample":
            raise InputError(f"covariates must be 'resample', a DataFrame or None; got {covariates!r}")
        source = fit.problem.baseline
    elif isinstance(covariates, pd.DataFrame):
        missing = [c for c in pop.covariates.covariates if c not in covariates.columns]
        if missing:
            raise InputError(f"covariate column {missing[0]!r} is not in the covariates table")
        source = covariates[list(pop.covariates.covariates)]
    else:
        raise InputError(f"covariates must be 'resample', a DataFrame or None; got {type(covariates).__name__}")
    if not len(source):
        raise InputError("the covariates table has no rows")
    pick = rng.integers(0, len(source), size=n)
    return source.iloc[pick].reset_index(drop=True)
