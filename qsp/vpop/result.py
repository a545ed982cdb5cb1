"""Result objects of the virtual-population workflow; each exports tidy tables and plots separately."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..errors import QSPError
from ..display import table_html
from ..tables import read_table

__all__ = ["PlausiblePatients", "VirtualPopulation", "PrevalenceWeights", "pp_table", "read_table",
           "parameter_names"]


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _dump(payload: dict, path=None) -> str:
    text = json.dumps(payload, default=_json_default)
    if path is not None:
        with open(path, "w") as fh:
            fh.write(text)
    return text


def _records(df: pd.DataFrame) -> list:
    return json.loads(df.to_json(orient="records"))



def parameter_names(pps) -> list | None:
    """The parameter columns a PP-like argument carries (its own list, or a table's saved vpop metadata)."""
    names = getattr(pps, "parameter_names", None)
    if names is None and isinstance(pps, pd.DataFrame):
        names = pps.attrs.get("qsp.vpop", {}).get("parameters")
    return None if names is None else [str(n) for n in names]


def pp_table(pps) -> pd.DataFrame:
    """The table of a PlausiblePatients / VirtualPopulation / DataFrame argument."""
    if isinstance(pps, (PlausiblePatients, VirtualPopulation, PrevalenceWeights)):
        return pps.table
    if isinstance(pps, pd.DataFrame):
        if len(pps) == 0:
            raise QSPError("the plausible-patient table is empty")
        return pps.reset_index(drop=True)
    raise QSPError(f"expected PlausiblePatients or a DataFrame. Got {type(pps).__name__}.")


class _Table:
    """Shared exports: ``table`` plus JSON-able ``summary()``."""

    table: pd.DataFrame

    def to_pandas(self) -> pd.DataFrame:
        """One row per patient."""
        return self.table

    def to_csv(self, path) -> None:
        """Write :meth:`to_pandas` as CSV."""
        self.to_pandas().to_csv(path, index=False)

    def to_parquet(self, path) -> None:
        """Write :meth:`to_pandas` as Parquet, with :meth:`summary` in the file's metadata."""
        df = self.to_pandas().copy()
        df.attrs = {"qsp.vpop": json.loads(_dump(self.summary()))}
        df.to_parquet(path, index=False)

    def summary(self) -> dict:  # pragma: no cover - overridden
        return {}

    def to_json(self, path=None) -> str:
        """Summary plus the rows, as JSON (written to ``path`` when given)."""
        return _dump({**self.summary(), "rows": _records(self.to_pandas())}, path)

    def _facts(self) -> str:  # pragma: no cover - overridden
        return ""

    def _html_table(self) -> pd.DataFrame:
        return self.to_pandas()

    def _repr_html_(self) -> str:
        """Notebook view: the key facts and the head of the main table."""
        return table_html(type(self).__name__, self._html_table(), self._facts())


class PlausiblePatients(_Table):
    """Plausible patients: parameter sets whose outputs all lie inside their bounds.

    Attributes
    ----------
    table : DataFrame
        ``pp`` (index), the parameter columns, the output columns.
    parameter_names, output_names : list of str
    method : str
        'optimize', 'mh' or 'sample'.
    n_simulations, n_failed : int
        Simulations run (failed ones included) and how many failed.
    n_attempts : int
        The generator's trials up to the last PP returned: random draws ('sample'), simulated points
        ('mh'), random starts that ended ('optimize').
    wall_seconds : float
    info : dict
        Generator details (starts, acceptance rate...).
    """

    def __init__(self, table, parameter_names, output_names, *, method, n_simulations, n_failed, wall_seconds,
                 info=None, parameter_bounds=None, output_bounds=None, n_attempts=None):
        self.table = table
        self.parameter_names = list(parameter_names)
        self.output_names = list(output_names)
        self.method = method
        self.n_simulations = int(n_simulations)
        self.n_failed = int(n_failed)
        self.n_attempts = int(n_simulations if n_attempts is None else n_attempts)
        self.wall_seconds = float(wall_seconds)
        self.info = dict(info or {})
        self.parameter_bounds = parameter_bounds or {}
        self.output_bounds = output_bounds or {}

    def __len__(self) -> int:
        return len(self.table)

    @property
    def yield_(self) -> float:
        """Plausible patients per simulation (the cost measure, comparable across methods)."""
        return len(self.table) / self.n_simulations if self.n_simulations else float("nan")

    @property
    def attempt_yield(self) -> float:
        """Plausible patients per attempt of the generator (per draw, per MH point, per optimisation start)."""
        return len(self.table) / self.n_attempts if self.n_attempts else float("nan")

    @property
    def seconds_per_pp(self) -> float:
        """Wall time per plausible patient (s)."""
        return self.wall_seconds / len(self.table) if len(self.table) else float("inf")

    def __repr__(self) -> str:
        return f"PlausiblePatients({self._facts()})"

    def _facts(self) -> str:
        return (f"{len(self)} PPs by {self.method!r} from {self.n_simulations} simulations ({self.n_failed} failed): "
                f"yield {self.yield_:.3f} per simulation, {self.attempt_yield:.3f} per attempt, "
                f"{self.seconds_per_pp * 1e3:.2f} ms/PP")

    def summary(self) -> dict:
        """Method, counts, yield, times and bounds."""
        return {"kind": "plausible_patients", "method": self.method, "n_pp": len(self),
                "n_simulations": self.n_simulations, "n_failed": self.n_failed, "yield": self.yield_,
                "n_attempts": self.n_attempts, "attempt_yield": self.attempt_yield,
                "wall_seconds": self.wall_seconds, "seconds_per_pp": self.seconds_per_pp, "info": self.info,
                "parameters": self.parameter_names, "outputs": self.output_names,
                "parameter_bounds": self.parameter_bounds, "output_bounds": self.output_bounds}

    def plot(self, ax=None, *, x: str | None = None, y: str | None = None):
        """Scatter of two parameters (default the first two, log axes where log-scaled); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        cols = self.parameter_names + self.output_names
        x = x or cols[0]
        y = y or (cols[1] if len(cols) > 1 else cols[0])
        ax.scatter(self.table[x], self.table[y], s=8, alpha=0.6)
        for name, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
            if self.parameter_bounds.get(name, {}).get("scale") == "log":
                setter("log")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(f"{len(self)} plausible patients ({self.method})")
        return ax


class VirtualPopulation(_Table):
    """Virtual patients selected from plausible patients, with goodness of fit.

    Attributes
    ----------
    table : DataFrame
        ``pp`` (row of the PP table), parameters, outputs, ``inclusion_probability``.
    fit : DataFrame
        Per output: ``ks_statistic``, ``p_value``, ``n``, ``pp_ks_statistic`` / ``pp_p_value`` (all PPs),
        target and VP mean/sd on the transformed scale.
    search : DataFrame
        The beta grid: log10_beta, mean_summed_ks, expected_vps.
    n_pp, n_vp, efficiency, beta, beta_max, summed_ks, wall_seconds
    """

    def __init__(self, table, fit, search, *, n_pp, beta, beta_max, summed_ks, k, seed, wall_seconds, target,
                 parameter_names=None):
        self.table = table
        self.parameter_names = parameter_names
        self.fit = fit
        self.search = search
        self.n_pp = int(n_pp)
        self.beta = beta
        self.beta_max = beta_max
        self.summed_ks = summed_ks
        self.k = k
        self.seed = seed
        self.wall_seconds = wall_seconds
        self.target = target

    @property
    def n_vp(self) -> int:
        """Number of virtual patients."""
        return len(self.table)

    @property
    def efficiency(self) -> float:
        """Selection efficiency N_VP / N_PP."""
        return self.n_vp / self.n_pp

    def __len__(self) -> int:
        return self.n_vp

    def __repr__(self) -> str:
        return f"VirtualPopulation({self._facts()})"

    def _facts(self) -> str:
        return (f"{self.n_vp} of {self.n_pp} PPs (efficiency {self.efficiency:.3f}), summed KS {self.summed_ks:.3f}, "
                f"beta {self.beta:.3g}")

    def _repr_html_(self) -> str:
        """Notebook view: the key facts, the goodness of fit per output and the head of the VP table."""
        return (table_html("VirtualPopulation", self.fit, self._facts() + "; goodness of fit")
                + table_html("virtual patients", self.table))

    def summary(self) -> dict:
        """Counts, efficiency, beta, fit table and the target."""
        return {"kind": "virtual_population", "n_pp": self.n_pp, "n_vp": self.n_vp, "efficiency": self.efficiency,
                "beta": self.beta, "beta_max": self.beta_max, "summed_ks": self.summed_ks, "k": self.k,
                "seed": self.seed, "wall_seconds": self.wall_seconds, "fit": _records(self.fit),
                "target": self.target, "parameters": self.parameter_names}

    def plot(self, ax=None, *, output: str | None = None, pps: pd.DataFrame | None = None):
        """Histogram of one output (VPs, optionally all PPs) against the target density; returns the Axes."""
        import matplotlib.pyplot as plt
        from scipy import stats

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        names = list(self.fit["output"])
        output = output or names[0]
        j = names.index(output)
        log = bool(self.target["log"][j])
        tr = (lambda v: np.log(v)) if log else (lambda v: v)
        z = tr(self.table[output].to_numpy(float))
        if pps is not None:
            ax.hist(tr(pps[output].to_numpy(float)), bins=30, density=True, alpha=0.35, label="plausible")
        ax.hist(z, bins=30, density=True, alpha=0.6, label="virtual")
        mu, sd = self.target["mean"][j], float(np.sqrt(self.target["cov"][j][j]))
        grid = np.linspace(z.min(), z.max(), 200)
        ax.plot(grid, stats.norm.pdf(grid, mu, sd), "k-", label="target (normal fit)")
        row = self.fit.iloc[j]
        ax.set_title(f"{output}: KS {row.ks_statistic:.3f}, p = {row.p_value:.2f}")
        ax.set_xlabel(f"ln {output}" if log else output)
        ax.set_ylabel("density")
        ax.legend()
        return ax


class PrevalenceWeights(_Table):
    """Plausible patients with prevalence weights (sum 1, >= 0).

    Attributes
    ----------
    table : DataFrame
        The PP table plus a ``weight`` column.
    fit : DataFrame
        Per output: weighted KS statistic and p-value (at the effective sample size), target and weighted
        mean/sd on the transformed scale.
    method : str
    ess : float
        Effective sample size (sum w)^2 / sum w^2.
    """

    def __init__(self, table, fit, *, method, ess, wall_seconds, info, target, parameter_names=None):
        self.table = table
        self.parameter_names = parameter_names
        self.fit = fit
        self.method = method
        self.ess = ess
        self.wall_seconds = wall_seconds
        self.info = info
        self.target = target

    @property
    def weights(self) -> np.ndarray:
        """The weights, in PP order."""
        return self.table["weight"].to_numpy(float)

    def __repr__(self) -> str:
        return f"PrevalenceWeights({self._facts()})"

    def _facts(self) -> str:
        return f"{len(self.table)} PPs, {self.method!r}, ESS {self.ess:.1f}"

    def _repr_html_(self) -> str:
        """Notebook view: the key facts, the weighted fit per output and the head of the weighted table."""
        return (table_html("PrevalenceWeights", self.fit, self._facts() + "; weighted fit")
                + table_html("weighted plausible patients", self.table))

    def summary(self) -> dict:
        """Method, ESS, fit table."""
        return {"kind": "prevalence_weights", "method": self.method, "n_pp": len(self.table), "ess": self.ess,
                "wall_seconds": self.wall_seconds, "info": self.info, "fit": _records(self.fit),
                "target": self.target, "parameters": self.parameter_names}

    def plot(self, ax=None, *, output: str | None = None):
        """Weighted vs unweighted histogram of one output; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        output = output or self.fit["output"].iloc[0]
        v = self.table[output].to_numpy(float)
        ax.hist(v, bins=30, density=True, alpha=0.4, label="plausible (equal weights)")
        ax.hist(v, bins=30, density=True, weights=self.weights, alpha=0.6, label=f"weighted (ESS {self.ess:.0f})")
        ax.set_xlabel(output)
        ax.set_ylabel("density")
        ax.legend()
        return ax
