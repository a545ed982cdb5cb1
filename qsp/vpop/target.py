"""Clinical targets: the distribution of outputs a virtual population should reproduce.

A :class:`Target` is either a summary (per-output normal or log-normal marginals with an optional
correlation matrix: a multivariate normal on the transformed scale) or a table of individual observed
values (density by a Gaussian kernel estimate on the transformed scale, two-sample KS tests).
Outputs marked log-normal, or observed outputs that are all positive when ``log=True``, are handled as
natural logs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import QSPError

__all__ = ["Target", "ks_statistic", "weighted_ks"]


class Target:
    """Target distribution of named outputs; build with :meth:`from_summary` or :meth:`from_observations`.

    Attributes
    ----------
    names : list of str
        Output names (columns of the plausible-patient table).
    log : ndarray of bool
        Per output: compared on the natural-log scale.
    mean, cov : ndarray
        Mean and covariance on the transformed scale.
    observations : DataFrame or None
        Individual observed values (None for a summary target).
    """

    def __init__(self, names, log, mean, cov, observations=None):
        self.names = list(names)
        self.log = np.asarray(log, bool)
        self.mean = np.asarray(mean, float)
        self.cov = np.atleast_2d(np.asarray(cov, float))
        self.observations = observations
        self._kde = None

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_summary(cls, spec: Mapping[str, Mapping], correlation=None) -> Target:
        """Per-output marginals: ``{name: {distribution, ...}}``.

        ``distribution = "lognormal"`` takes ``median`` and ``sd_log`` (sd of the natural log), or
        ``mean`` and ``sd`` of the values (converted); ``"normal"`` takes ``mean`` and ``sd``.
        ``correlation`` (k x k, on the transformed scale) defaults to the identity.
        """
        if not isinstance(spec, Mapping) or not spec:
            raise QSPError("a summary target needs {output: {distribution, mean/sd or median/sd_log}}")
        names, log, mu, sd = [], [], [], []
        for name, item in spec.items():
            if not isinstance(item, Mapping):
                raise QSPError(f"target of output {name!r} must be a table. Got {item!r}.")
            dist = item.get("distribution", "normal")
            if dist == "lognormal":
                if "median" in item and "sd_log" in item:
                    m, s = math.log(_pos(item["median"], name, "median")), _pos(item["sd_log"], name, "sd_log")
                elif "mean" in item and "sd" in item:
                    mean, sdv = _pos(item["mean"], name, "mean"), _pos(item["sd"], name, "sd")
                    s = math.sqrt(math.log1p((sdv / mean) ** 2))
                    m = math.log(mean) - s * s / 2
                else:
                    raise QSPError(f"lognormal target {name!r} needs median and sd_log (or mean and sd)")
                log.append(True)
            elif dist == "normal":
                if "mean" not in item or "sd" not in item:
                    raise QSPError(f"normal target {name!r} needs mean and sd")
                m, s = float(item["mean"]), _pos(item["sd"], name, "sd")
                log.append(False)
            else:
                raise QSPError(f"distribution of target {name!r} must be 'normal' or 'lognormal'. Got {dist!r}.")
            names.append(str(name))
            mu.append(m)
            sd.append(s)
        k = len(names)
        corr = np.eye(k) if correlation is None else np.asarray(correlation, float)
        if corr.shape != (k, k) or not np.allclose(corr, corr.T) or not np.allclose(np.diag(corr), 1):
            raise QSPError(f"correlation must be a symmetric {k} x {k} matrix with unit diagonal")
        if np.linalg.eigvalsh(corr).min() <= 0:
            raise QSPError("correlation must be positive definite")
        sd = np.asarray(sd)
        return cls(names, log, mu, corr * np.outer(sd, sd))

    @classmethod
    def from_observations(cls, data: pd.DataFrame, *, log: bool = True) -> Target:
        """Individual observed values, one column per output (rows with missing values are dropped; a cell
        that is not a number is refused, naming its row and column).

        With ``log=True`` every all-positive column is compared on the log scale.
        """
        if not isinstance(data, pd.DataFrame) or data.shape[1] == 0:
            raise QSPError("observations must be a DataFrame with one column per output")
        from ..tables import check_numeric

        data = check_numeric(data, what="observations").dropna()
        if len(data) < 5:
            raise QSPError(f"need at least 5 complete observations. Got {len(data)}.")
        lg = np.array([bool(log) and (data[c] > 0).all() for c in data.columns])
        z = np.where(lg, np.log(np.where(lg, data.to_numpy(float), 1.0)), data.to_numpy(float))
        cov = np.atleast_2d(np.cov(z, rowvar=False))
        return cls([str(c) for c in data.columns], lg, z.mean(axis=0), cov, data.reset_index(drop=True))

    @classmethod
    def from_file(cls, path) -> Target:
        """A TOML summary (``[outputs.NAME]`` tables, optional ``correlation``) or a CSV/Parquet table of
        individual observations (one column per output)."""
        if str(path).endswith(".toml"):
            from ..ensemble.sampling import read_spec

            spec = read_spec(path)
            if "outputs" not in spec:
                raise QSPError(f"target {str(path)!r} needs [outputs.NAME] tables (distribution, median/sd_log "
                               "or mean/sd)")
            return cls.from_summary(spec["outputs"], correlation=spec.get("correlation"))
        from ..tables import read_table

        return cls.from_observations(read_table(path, what="observations file", numeric=True))

    # -- use ----------------------------------------------------------------------------------
    def values(self, table: pd.DataFrame) -> np.ndarray:
        """The target's output columns of ``table`` as an (n, k) array."""
        missing = [n for n in self.names if n not in table.columns]
        if missing:
            raise QSPError(f"output {missing[0]!r} of the target is not a column of the table "
                           f"(columns: {', '.join(map(str, table.columns))})")
        return table[self.names].to_numpy(dtype=float)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Values -> transformed scale (natural log where ``log``); non-positive logged values become NaN."""
        y = np.atleast_2d(np.asarray(y, float))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.log, np.log(np.where(y > 0, y, np.nan)), y)

    def log_density(self, y: np.ndarray) -> np.ndarray:
        """Log density of outputs on the transformed scale (MVN for a summary, KDE for observations)."""
        z = self.transform(y)
        out = np.full(len(z), -np.inf)
        ok = np.isfinite(z).all(axis=1)
        if not ok.any():
            return out
        if self.observations is None:
            out[ok] = stats.multivariate_normal(self.mean, self.cov, allow_singular=True).logpdf(z[ok])
        else:
            if self._kde is None:
                self._kde = stats.gaussian_kde(self.transform(self.observations[self.names].to_numpy(float)).T)
            out[ok] = self._kde.logpdf(z[ok].T)
        return out

    def cdf(self, j: int, z: np.ndarray) -> np.ndarray:
        """Marginal CDF of output ``j`` at transformed values ``z`` (summary targets)."""
        return stats.norm.cdf(z, self.mean[j], math.sqrt(self.cov[j, j]))

    def observed(self, j: int) -> np.ndarray | None:
        """Sorted transformed observations of output ``j`` (None for a summary)."""
        if self.observations is None:
            return None
        return np.sort(self.transform(self.observations[self.names].to_numpy(float))[:, j])

    def ks(self, y: np.ndarray, weights: np.ndarray | None = None) -> pd.DataFrame:
        """Per-output Kolmogorov-Smirnov statistic and p-value of (weighted) outputs against the target.

        Unweighted: one-sample KS against the marginal (summary) or two-sample KS (observations), as
        in SciPy. Weighted: the largest distance between the weighted and target CDFs, with the
        asymptotic p-value at the effective sample size ``(sum w)^2 / sum w^2``.
        """
        z = self.transform(y)
        rows = []
        for j, name in enumerate(self.names):
            zj = z[:, j]
            ok = np.isfinite(zj)
            obs = self.observed(j)
            if weights is None:
                if ok.sum() == 0:
                    d, p = float("nan"), float("nan")
                elif obs is None:
                    r = stats.kstest(zj[ok], lambda v, j=j: self.cdf(j, v))
                    d, p = float(r.statistic), float(r.pvalue)
                else:
                    r = stats.ks_2samp(zj[ok], obs)
                    d, p = float(r.statistic), float(r.pvalue)
                n_eff = float(ok.sum())
            else:
                w = np.asarray(weights, float)[ok]
                d = weighted_ks(zj[ok], w, (lambda v, j=j: self.cdf(j, v)) if obs is None else obs)
                n_eff = w.sum() ** 2 / (w ** 2).sum() if w.sum() > 0 else 0.0
                m = n_eff if obs is None else n_eff * len(obs) / (n_eff + len(obs))
                p = float(stats.kstwobign.sf(d * math.sqrt(m))) if m > 0 else float("nan")
            rows.append({"output": name, "ks_statistic": d, "p_value": p, "n": n_eff})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """Names, log flags, mean and covariance on the transformed scale, number of observations."""
        return {"names": self.names, "log": self.log.tolist(), "mean": self.mean.tolist(),
                "cov": self.cov.tolist(),
                "n_observations": None if self.observations is None else len(self.observations)}


def _pos(value, name, what) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise QSPError(f"{what} of target {name!r} must be a number. Got {value!r}.") from None
    if not (math.isfinite(v) and v > 0):
        raise QSPError(f"{what} of target {name!r} must be > 0. Got {value!r}.")
    return v


def ks_statistic(z_sorted: np.ndarray, target) -> float:
    """KS distance of sorted values to a CDF (callable) or to sorted reference values (array)."""
    n = len(z_sorted)
    if n == 0:
        return float("inf")
    if callable(target):
        f = target(z_sorted)
        i = np.arange(1, n + 1)
        return float(max((i / n - f).max(), (f - (i - 1) / n).max()))
    grid = np.concatenate([z_sorted, target])
    a = np.searchsorted(z_sorted, grid, side="right") / n
    b = np.searchsorted(target, grid, side="right") / len(target)
    return float(np.abs(a - b).max())


def weighted_ks(z: np.ndarray, w: np.ndarray, target) -> float:
    """KS distance between the weighted empirical CDF of ``z`` and a CDF (callable) or reference sample."""
    order = np.argsort(z)
    z, w = z[order], w[order] / w.sum()
    cw = np.cumsum(w)
    if callable(target):
        f = target(z)
        return float(max(np.abs(cw - f).max(), np.abs(np.concatenate([[0.0], cw[:-1]]) - f).max()))
    grid = np.concatenate([z, target])
    idx = np.searchsorted(z, grid, side="right")
    a = np.concatenate([[0.0], cw])[idx]
    b = np.searchsorted(target, grid, side="right") / len(target)
    return float(np.abs(a - b).max())
