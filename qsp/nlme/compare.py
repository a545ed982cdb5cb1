"""From a population fit to simulated trials, and the fitted population against plausible patients.

Two routes to a virtual population of the same model:

- **from the fit**: :func:`qsp.nlme.virtual_population` draws subjects from the fitted population
  (log-normal IIV around the typical values; with ``uncertainty=True`` the typical values too);
- **plausible patients** (``qsp.vpop``): parameters drawn in a box (uniform on a log scale by default)
  and kept when their outputs lie inside physiological bounds. :func:`population_bounds` makes the box
  from the fit itself (each parameter's central population interval), so both routes cover the same
  ranges and differ only in how they spread across them.

:func:`compare_trials` runs the same :func:`qsp.vpop.simulate_trial` on each population and tabulates,
per population and arm, quantiles of the trial's per-patient metrics and its response rates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["population_bounds", "compare_trials", "TrialComparison"]


def population_bounds(fit, level: float = 0.95) -> dict:
    """``{parameter: {"low", "high", "scale"}}``: the central ``level`` interval of each estimated
    parameter's population distribution (at the covariates' reference values), ready for
    ``qsp.vpop.PlausibleProblem(parameters=...)``. A parameter without IIV gets a degenerate interval
    and is left out (fix it with ``fixed=`` instead)."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise InputError(f"level must be in (0, 1); got {level!r}")
    from scipy.special import ndtri

    pop, st = fit.population, fit.state
    z = float(ndtri(0.5 + level / 2))
    sd = np.sqrt(np.diag(st.omega))
    out = {}
    for k, name in enumerate(pop.names):
        if not pop.random[k]:
            continue
        down, up = st.mu.copy(), st.mu.copy()
        down[k] -= z * sd[k]
        up[k] += z * sd[k]
        ends = sorted((float(pop.from_phi(down)[k]), float(pop.from_phi(up)[k])))
        low, high = ends
        out[name] = {"low": low, "high": high, "scale": "log" if pop.transforms[k] == "log" and low > 0 else "linear"}
    return out


class TrialComparison:
    """Trials of several virtual populations under the same arms.

    ``table``: one row per population, arm and metric with ``n`` (patients simulated without failure),
    ``mean`` and the quantiles (``q5``, ``q50`` ...); ``rates``: the trials' rate tables with a
    ``population`` column; ``trials``: each population's :class:`qsp.vpop.TrialResult`.
    """

    def __init__(self, table: pd.DataFrame, rates: pd.DataFrame, trials: dict):
        self.table, self.rates, self.trials = table, rates, trials

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()

    def to_markdown(self, metric: str | None = None, digits: int = 4) -> str:
        """The table (one metric, or all) as a markdown table."""
        t = self.table if metric is None else self.table[self.table["metric"] == metric]
        cols = list(t.columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for _, row in t.iterrows():
            lines.append("| " + " | ".join(f"{v:.{digits}g}" if isinstance(v, float) else str(v) for v in row) + " |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"TrialComparison of {list(self.trials)}:\n{self.table.to_string(index=False)}"


def compare_trials(model, populations: Mapping, regimens, *, tumour: str, metrics: Sequence[str] = (),
                   reference: str | None = None, quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
                   **trial_options) -> TrialComparison:
    """Run ``qsp.vpop.simulate_trial(model, population, regimens, tumour=..., metrics=...)`` for each
    population and compare them.

    Parameters
    ----------
    populations : mapping name -> virtual population (a :func:`virtual_population` table, PlausiblePatients,
        VirtualPopulation or any table ``simulate_trial`` accepts)
    regimens : the trial's arms (as for ``simulate_trial``)
    metrics : extra per-patient metrics (``"value_at:W:35"``, ``"auc:CP"`` ...); the tumour's ``final``
        value and ``best_percent_change`` are always tabulated
    reference : an arm; adds ``ratio_to_<arm>``, each patient's final tumour over their own value in that arm
        (1 - ratio is the growth inhibition of that patient)
    **trial_options : passed to ``simulate_trial`` (``baseline``, ``assess_every``, ``t_end``, ``points``,
        ``fixed``, ``backend``, ``seed`` ...)
    """
    from ..vpop import simulate_trial

    if not isinstance(populations, Mapping) or not populations:
        raise InputError("populations must be a non-empty mapping name -> virtual population")
    q = [float(x) for x in quantiles]
    if any(not 0 <= x <= 1 for x in q):
        raise InputError(f"quantiles must lie in [0, 1]; got {list(quantiles)!r}")
    metrics = list(metrics)
    rows, rates, trials = [], [], {}
    for name, pop in populations.items():
        trial = simulate_trial(model, pop, regimens, tumour=tumour, metrics=metrics, **trial_options)
        trials[name] = trial
        p = trial.patients
        ok = p[p["status"] == "ok"].copy()
        cols = ["final", "best_percent_change"] + [m if isinstance(m, str) else m.name for m in metrics]
        if reference is not None:
            if reference not in set(p["regimen"]):
                raise InputError(f"reference {reference!r} is not an arm of the trial ({sorted(set(p['regimen']))})")
            ref = ok[ok["regimen"] == reference].set_index("patient")["final"]
            ok[f"ratio_to_{reference}"] = ok["final"].to_numpy() / ref.reindex(ok["patient"]).to_numpy()
            cols.append(f"ratio_to_{reference}")
        for arm, group in ok.groupby("regimen", sort=False):
            for col in cols:
                if col == f"ratio_to_{reference}" and arm == reference:
                    continue
                v = group[col].to_numpy(float)
                v = v[np.isfinite(v)]
                row = {"population": name, "regimen": arm, "metric": col, "n": int(len(v)),
                       "mean": float(np.mean(v)) if len(v) else np.nan}
                row.update({f"q{100 * x:g}": (float(np.quantile(v, x)) if len(v) else np.nan) for x in q})
                rows.append(row)
        r = trial.rates.copy()
        r.insert(0, "population", name)
        rates.append(r)
    return TrialComparison(pd.DataFrame(rows), pd.concat(rates, ignore_index=True), trials)
