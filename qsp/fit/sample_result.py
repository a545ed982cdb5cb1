"""The result of :func:`qsp.fit.sample.sample`: the chains, their summary and diagnostics, trace and pair plots."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..display import table_html
from .diagnostics import ess_bulk, split_rhat
from .objective import ParameterSpace, to_linear
from .uncertainty_common import write_csv, write_parquet

__all__ = ["SampleResult", "SAMPLE_COLUMNS"]

#: Columns of :attr:`SampleResult.samples` before one column per parameter (on its scale).
SAMPLE_COLUMNS = ("chain", "iteration", "nllh", "accepted")


def _label(q: float) -> str:
    return f"q{100 * q:g}"


class SampleResult:
    """Markov chains of the estimated parameters, and their summary after burn-in.

    Attributes
    ----------
    samples : pandas.DataFrame
        Every iteration of every chain: :data:`SAMPLE_COLUMNS`, then one column per parameter on its
        scale. ``nllh`` is the objective at the chain's current point.
    burn_in : int
        Iterations per chain left out of :attr:`summary`, :attr:`posterior` and :meth:`draws`.
    summary : pandas.DataFrame
        One row per parameter: ``mean``, ``sd`` and the quantiles (``q2.5``, ``q50``, ``q97.5`` by
        default) on the parameter scale, the same with ``_linear`` for the linear values, ``rhat``
        (rank-normalised split R-hat; below 1.01-1.05 when the chains agree) and ``ess_bulk``.
    acceptance : pandas.Series
        Acceptance rate per chain after burn-in.
    failures : pandas.DataFrame
        ``chain`` and ``message`` of each chain that raised.
    settings : dict
        method, chains, n_samples, burn_in, seed, outside, adapt_start and ``prior`` (what the target is).
    """

    def __init__(self, space: ParameterSpace, chains: list, *, burn_in: int, quantiles=(0.025, 0.5, 0.975),
                 settings: dict | None = None):
        self.space = space
        self.burn_in = int(burn_in)
        self.quantiles = tuple(quantiles)
        self.settings = dict(settings or {})
        frames, failures = [], []
        for c, (xs, fs, acc, message) in enumerate(chains):
            if message or xs is None:
                failures.append({"chain": c, "message": message or "no samples"})
                continue
            df = pd.DataFrame({"chain": c, "iteration": np.arange(len(fs)), "nllh": fs, "accepted": acc})
            for k, pid in enumerate(space.ids):
                df[pid] = xs[:, k]
            frames.append(df)
        columns = [*SAMPLE_COLUMNS, *space.ids]
        self.samples = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
        self.failures = pd.DataFrame(failures, columns=["chain", "message"])
        post = self.posterior
        self.acceptance = post.groupby("chain")["accepted"].mean().rename("acceptance")
        self.summary = self._summary()

    @property
    def posterior(self) -> pd.DataFrame:
        """The samples after burn-in."""
        return self.samples[self.samples["iteration"] >= self.burn_in]

    def draws(self, thin: int = 1) -> np.ndarray:
        """Posterior draws after burn-in (rows, on the parameter scale), every ``thin``-th; for prediction bands."""
        post = self.posterior
        post = post[(post["iteration"] - self.burn_in) % max(1, int(thin)) == 0]
        return post[list(self.space.ids)].to_numpy(float)

    def _chains(self, pid: str) -> np.ndarray:
        post = self.posterior
        per = [g[pid].to_numpy(float) for _, g in post.groupby("chain")]
        if not per:
            return np.empty((0, 0))
        n = min(len(p) for p in per)
        return np.array([p[:n] for p in per])

    def _summary(self) -> pd.DataFrame:
        rows = []
        for k, pid in enumerate(self.space.ids):
            scale = self.space.scales[k]
            arr = self._chains(pid)
            flat = arr.ravel()
            lin = to_linear(flat[:, None], [scale])[:, 0]
            row = {"parameter": pid, "scale": scale}
            ok = flat.size > 0
            row["mean"] = float(flat.mean()) if ok else math.nan
            row["sd"] = float(flat.std(ddof=1)) if flat.size > 1 else math.nan
            for q in self.quantiles:
                row[_label(q)] = float(np.quantile(flat, q)) if ok else math.nan
            row["mean_linear"] = float(lin.mean()) if ok else math.nan
            row["sd_linear"] = float(lin.std(ddof=1)) if flat.size > 1 else math.nan
            for q in self.quantiles:
                row[_label(q) + "_linear"] = float(np.quantile(lin, q)) if ok else math.nan
            row["rhat"] = split_rhat(arr) if arr.size else math.nan
            row["ess_bulk"] = ess_bulk(arr) if arr.size else math.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        s = self.settings
        worst = self.summary["rhat"].max()
        return (f"SampleResult({s.get('chains', '?')} chains x {s.get('n_samples', '?')} iterations, burn-in "
                f"{self.burn_in}, max R-hat {worst:.3f}, {len(self.failures)} failed)")

    def _repr_html_(self) -> str:
        s = self.settings
        facts = (f"{s.get('method', '')}, {s.get('chains', '?')} chains x {s.get('n_samples', '?')} iterations, "
                 f"burn-in {self.burn_in}; prior: {s.get('prior', '')}")
        return table_html("SampleResult", facts=facts, table=self.summary)

    def to_pandas(self) -> pd.DataFrame:
        """Every iteration of every chain."""
        return self.samples.copy()

    def to_csv(self, path, what: str = "samples") -> None:
        """Write the samples (``what="samples"``) or the summary (``"summary"``) as CSV."""
        write_csv(self._which(what), path)

    def to_parquet(self, path, what: str = "samples") -> None:
        """Write the samples or the summary as one Parquet file."""
        write_parquet(self._which(what), path)

    def _which(self, what: str) -> pd.DataFrame:
        from ..errors import InputError

        if what not in ("samples", "summary"):
            raise InputError(f"what must be 'samples' or 'summary'. Got {what!r}.")
        return self.samples if what == "samples" else self.summary

    def plot(self, parameters=None):
        """Trace plot (see :meth:`plot_trace`); returns the Figure."""
        return self.plot_trace(parameters)

    def plot_trace(self, parameters=None):
        """One panel per parameter: each chain's value per iteration on the scale, burn-in shaded."""
        import matplotlib.pyplot as plt

        ids = self._ids(parameters)
        fig, axes = plt.subplots(len(ids), 1, figsize=(8, 2.2 * len(ids)), squeeze=False, sharex=True)
        for ax, pid in zip(axes[:, 0], ids):
            for c, g in self.samples.groupby("chain"):
                ax.plot(g["iteration"], g[pid], lw=0.6, alpha=0.8, label=f"chain {c}")
            ax.axvspan(0, self.burn_in, color="0.9", zorder=0)
            ax.set_ylabel(f"{pid} ({self.space.scales[self.space.ids.index(pid)]})")
        axes[-1, 0].set_xlabel("iteration (burn-in shaded)")
        axes[0, 0].legend(fontsize=7, ncol=4, loc="upper right")
        fig.tight_layout()
        return fig

    def plot_pairs(self, parameters=None, max_points: int = 4000):
        """Pairwise scatter of the posterior draws (histograms on the diagonal); returns the Figure."""
        import matplotlib.pyplot as plt

        ids = self._ids(parameters)
        post = self.posterior
        if len(post) > max_points:
            post = post.sample(max_points, random_state=0)
        n = len(ids)
        fig, axes = plt.subplots(n, n, figsize=(2.4 * n + 0.5, 2.4 * n + 0.5), squeeze=False)
        for r, pr in enumerate(ids):
            for c, pc in enumerate(ids):
                ax = axes[r, c]
                if r == c:
                    ax.hist(post[pr], bins=30, color="C0", alpha=0.8)
                elif r > c:
                    ax.plot(post[pc], post[pr], ".", ms=1.5, alpha=0.4, color="C0")
                else:
                    ax.set_visible(False)
                if r == n - 1:
                    ax.set_xlabel(pc)
                if c == 0 and r > 0:
                    ax.set_ylabel(pr)
        fig.tight_layout()
        return fig

    def _ids(self, parameters) -> list[str]:
        if parameters is None:
            return list(self.space.ids)
        ids = [parameters] if isinstance(parameters, str) else list(parameters)
        for p in ids:
            if p not in self.space.ids:
                from .._ids import unknown_id

                raise unknown_id("estimated parameter", str(p), self.space.ids)
        return ids
