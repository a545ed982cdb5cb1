"""MOOCS-DS: multi-objective optimal combination synergy dose selection.

At each dose pair of a simulated surface, two potency combination indices (Loewe, LSD) and two
efficacy combination indices (HSA, Bliss) are computed from the surface and its dense
single-treatment curves (all < 1 synergy, minimised). The exact non-dominated set is found in
each of the four (potency, efficacy) spaces; doses optimal in every space are robust to the
choice of additivity definition. Gevertz & Kareva, CPT Pharmacometrics Syst Pharmacol (2023).

Definitions, with E the combination effect (TGI) and D_i(E) the dose of treatment i alone
giving E (root of the monotone interpolant of the dense single-treatment curve):

- HSA-CI = max(E_1(d1), E_2(d2)) / E
- Bliss-CI = (E_1 + E_2 - E_1 E_2) / E
- Loewe-CI = d1/D_1(E) + d2/D_2(E)
- LSD-CI = (w1 d1/EC50_1 + w2 d2/EC50_2) / min(D_1(E)/EC50_1, D_2(E)/EC50_2)
  (relative form; weights w default 1; ``lsd_abs`` = (d1 + d2) / min(D_1, D_2) is also reported)

When treatment i alone cannot reach E within its simulated range, D_i is inf and both potency
indices are undefined there (``potency_undefined``). Their limits (Loewe term d_i/D_i = 0; D_i left out
of the LSD minimum) are only lower bounds: a D_i beyond the simulated range would raise both. By
default (``undefined_potency="exclude"``) such points take no part in the Pareto step; with
``undefined_potency="zero"`` they compete with their limit values. (The 2023 code capped D_i at the end
of its search range instead, which keeps both indices finite but makes them depend on the cap.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import QSPError
from ..option_names import option
from .mono import check_rising
from .pareto import near_front, non_dominated
from ..display import table_html
from . import moocs_plot
from .result import TableResult
from .surface import DoseResponseSurface

__all__ = [
    "SPACES",
    "UNDEFINED_POTENCY",
    "MoocsResult",
    "moocs",
    "near_front",
    "scores",
]

#: The four criterion spaces: (potency CI, efficacy CI), both minimised.
SPACES = (("lsd", "hsa"), ("lsd", "bliss"), ("loewe", "hsa"), ("loewe", "bliss"))
_CIS = ("hsa", "bliss", "loewe", "lsd")
#: What the Pareto step does with points whose potency indices are undefined (a D_i is inf).
UNDEFINED_POTENCY = ("exclude", "zero")


def check_undefined_potency(mode: str) -> str:
    """Refuse a mode other than 'exclude' or 'zero'."""
    if mode not in UNDEFINED_POTENCY:
        raise QSPError(f"{option('undefined_potency', mode)}: use 'exclude' (points whose potency indices are "
                       "undefined take no part in the Pareto step) or 'zero' (they compete with their limit values)")
    return mode


def _space_name(space) -> str:
    return f"{space[0]}_{space[1]}"


def scores(surface: DoseResponseSurface, *, sample: int = 0, weights=(1.0, 1.0)) -> pd.DataFrame:
    """The four local combination indices at every grid point of one sample.

    Returns
    -------
    DataFrame
        i, j, d1, d2, tgi (``effect`` when the surface's response is not a TGI), E1, E2, D1, D2, hsa,
        bliss, loewe, lsd, lsd_abs, potency_undefined (a D_i is inf: loewe and lsd hold their limit values,
        lower bounds), plus the surface's extra metrics; ``attrs`` holds EC50_1 and EC50_2 (dose units).

    Raises
    ------
    InputError
        The surface's effect falls with the dose of a treatment (see :func:`qsp.synergy.mono.check_rising`).
    """
    if not 0 <= sample < surface.n_samples:
        raise QSPError(f"sample must be in [0, {surface.n_samples}). Got {sample!r}.")
    for which, name in ((1, surface.names[0]), (2, surface.names[1])):
        levels, effects = (surface.mono1, surface.mono1_effect) if which == 1 else (surface.mono2, surface.mono2_effect)
        check_rising(levels, effects[sample], name, f"the surface's effect ({surface.response})")
    w1, w2 = (float(w) for w in weights)
    c1, c2 = surface.mono_curve(1, sample), surface.mono_curve(2, sample)
    ec1, ec2 = c1.ec(0.5), c2.ec(0.5)
    n1, n2 = surface.d1.size, surface.d2.size
    I, J = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
    i, j = I.ravel(), J.ravel()
    d1, d2 = surface.d1[i], surface.d2[j]
    E = surface.effect[sample].ravel()
    E1, E2 = c1.effect(d1), c2.effect(d2)
    D1, D2 = c1.inverse(E), c2.inverse(E)
    with np.errstate(divide="ignore", invalid="ignore"):
        valid = np.isfinite(E) & (E > 0)
        hsa = np.where(valid, np.maximum(E1, E2) / E, np.nan)
        bliss = np.where(valid, (E1 + E2 - E1 * E2) / E, np.nan)
        t1 = np.where(d1 == 0, 0.0, d1 / D1)
        t2 = np.where(d2 == 0, 0.0, d2 / D2)
        loewe = np.where(valid, t1 + t2, np.nan)
        den = np.fmin(D1 / ec1, D2 / ec2)
        lsd = np.where(valid & np.isfinite(den), (w1 * d1 / ec1 + w2 * d2 / ec2) / den, np.nan)
        lsd_abs = np.where(valid & np.isfinite(np.fmin(D1, D2)), (d1 + d2) / np.fmin(D1, D2), np.nan)
    df = pd.DataFrame({"i": i, "j": j, "d1": d1, "d2": d2, surface.effect_column: E, "E1": E1, "E2": E2,
                       "D1": D1, "D2": D2,
                       "hsa": hsa, "bliss": bliss, "loewe": loewe, "lsd": lsd, "lsd_abs": lsd_abs,
                       "potency_undefined": valid & (~np.isfinite(D1) | ~np.isfinite(D2))})
    for k, v in surface.extras.items():
        df[k] = v[sample].ravel()
    df.attrs["EC50_1"], df.attrs["EC50_2"] = ec1, ec2
    return df


def _feasible(df: pd.DataFrame, tgi_min, dose_box, column: str = "tgi") -> np.ndarray:
    ok = np.isfinite(df[["hsa", "bliss", "loewe", "lsd"]].to_numpy()).all(axis=1)
    if tgi_min is not None:
        ok &= df[column].to_numpy() >= tgi_min
    if dose_box is not None:
        (a_lo, a_hi), (b_lo, b_hi) = dose_box
        ok &= (df.d1 >= a_lo).to_numpy() & (df.d1 <= a_hi).to_numpy() & (df.d2 >= b_lo).to_numpy() \
            & (df.d2 <= b_hi).to_numpy()
    return ok


def _check_spaces(spaces):
    spaces = tuple(tuple(s) for s in spaces)
    for s in spaces:
        if len(s) != 2 or s[0] not in ("lsd", "loewe") or s[1] not in ("hsa", "bliss"):
            raise QSPError(f"a criterion space is (potency, efficacy) with potency in lsd/loewe and efficacy in "
                           f"hsa/bliss. Got {s!r}.")
    if not spaces:
        raise QSPError("give at least one criterion space")
    return spaces


def moocs(surface: DoseResponseSurface, *, sample: int = 0, spaces=SPACES, tgi_min: float | None = None,
          dose_box=None, near_tol: float = 0.02, weights=(1.0, 1.0),
          undefined_potency: str = "exclude") -> MoocsResult:
    """MOOCS-DS on one sample of a surface: scores, exact fronts, robustness count, near-Pareto points.

    Parameters
    ----------
    surface : DoseResponseSurface
    sample : int, default 0
        Which parameter set of the surface.
    spaces : sequence of (potency, efficacy)
        Criterion spaces (default: the four of :data:`SPACES`).
    tgi_min : float, optional
        Constraint: only dose pairs with effect >= tgi_min compete (applied before the Pareto step; 0.0 is a
        threshold like any other, None is none).
    dose_box : ((low1, high1), (low2, high2)), optional
        Constraint: only dose pairs inside the box compete.
    near_tol : float, default 0.02
        Near-Pareto tolerance as a fraction of the space's scale (see :func:`near_front`).
    weights : (float, float)
        Weights of the normalised doses in the LSD numerator (toxicity shares).
    undefined_potency : {'exclude', 'zero'}, default 'exclude'
        Points where a treatment alone cannot reach the combination's effect (``potency_undefined``):
        'exclude' keeps them out of every front; 'zero' lets them compete with the limit values of their
        potency indices (the unreachable treatment's Loewe term 0, left out of the LSD minimum).

    Returns
    -------
    MoocsResult
    """
    spaces = _check_spaces(spaces)
    check_undefined_potency(undefined_potency)
    df = scores(surface, sample=sample, weights=weights)
    feas = _feasible(df, tgi_min, dose_box, surface.effect_column)
    if undefined_potency == "exclude":
        feas &= ~df["potency_undefined"].to_numpy()
    df["feasible"] = feas
    count = np.zeros(len(df), dtype=int)
    for s in spaces:
        F = df[[s[0], s[1]]].to_numpy(dtype=float, copy=True)
        F[~feas] = np.nan
        on = non_dominated(F)
        df[f"pareto_{_space_name(s)}"] = on
        df[f"near_{_space_name(s)}"] = near_front(F, on, near_tol)
        count += on
    df["count"] = count
    df["robust"] = count == len(spaces)
    info = {"names": list(surface.names), "units": list(surface.units), "response": surface.response,
            "effect_column": surface.effect_column, "sample": sample, "spaces": [_space_name(s) for s in spaces],
            "EC50_1": df.attrs["EC50_1"],
            "EC50_2": df.attrs["EC50_2"], "tgi_min": tgi_min,
            "dose_box": None if dose_box is None else [list(map(float, b)) for b in dose_box],
            "near_tol": near_tol, "weights": list(weights), "undefined_potency": undefined_potency,
            "n_potency_undefined": int(df["potency_undefined"].sum()),
            "protocol": surface.protocol}
    return MoocsResult(df, info, spaces)


class MoocsResult(TableResult):
    """MOOCS-DS table of one parameter set: one row per dose pair.

    Columns: i, j, d1, d2, tgi (``effect`` for a response that is not a TGI), E1, E2, D1, D2 (dose units),
    hsa, bliss, loewe, lsd, lsd_abs, potency_undefined, feasible (competes in the Pareto step),
    pareto_<space>, near_<space>, count (spaces where optimal), robust.
    """

    def __init__(self, table: pd.DataFrame, info: dict, spaces):
        self.table = table.reset_index(drop=True)
        self.table.attrs = {}
        self.info = info
        self.spaces = tuple(spaces)

    @property
    def effect_column(self) -> str:
        """``tgi`` (a TGI response) or ``effect``."""
        return self.info.get("effect_column", "tgi")

    def __repr__(self) -> str:
        return (f"MoocsResult({len(self.table)} dose pairs, {int(self.table['robust'].sum())} optimal in all "
                f"{len(self.spaces)} spaces, EC50s {self.info['EC50_1']:.4g} / {self.info['EC50_2']:.4g})")

    def _repr_html_(self) -> str:
        n = self.info["names"]
        facts = (f"{n[0]} x {n[1]}, {len(self.table)} dose pairs, EC50s {self.info['EC50_1']:.4g} / "
                 f"{self.info['EC50_2']:.4g}, {int(self.table['robust'].sum())} optimal in all {len(self.spaces)} "
                 f"spaces (shown first)")
        t = self.table.sort_values(["count", "loewe"], ascending=[False, True], kind="stable")
        return table_html("MoocsResult", t, facts)

    def front(self, space=("loewe", "bliss")) -> pd.DataFrame:
        """Rows on the front of one space, sorted by its potency CI."""
        col = f"pareto_{_space_name(tuple(space))}"
        if col not in self.table:
            raise QSPError(f"space {space!r} was not computed; computed: {self.info['spaces']}")
        return self.table[self.table[col]].sort_values(list(space)).reset_index(drop=True)

    def robust(self) -> pd.DataFrame:
        """Dose pairs optimal in every computed space."""
        return self.table[self.table["robust"]].reset_index(drop=True)

    def nearest_optimal(self, d1: float, d2: float, *, min_count: int = 1) -> pd.Series:
        """The dose pair optimal in at least ``min_count`` spaces nearest to (d1, d2) in grid-normalised doses."""
        t = self.table[self.table["count"] >= min_count]
        if t.empty:
            raise QSPError(f"no dose pair is optimal in {min_count} space(s)")
        s1 = np.ptp(self.table.d1) or 1.0
        s2 = np.ptp(self.table.d2) or 1.0
        k = np.argmin(((t.d1 - d1) / s1) ** 2 + ((t.d2 - d2) / s2) ** 2)
        return t.iloc[int(k)]

    def summary(self) -> pd.DataFrame:
        """Per space: front size, front points whose potency is undefined (0 unless ``undefined_potency="zero"``),
        and CI and dose ranges of the front."""
        rows = []
        for s in self.spaces:
            f = self.front(s)
            rows.append({"space": _space_name(s), "n_front": len(f),
                         "n_potency_undefined": int(f["potency_undefined"].sum()), "potency_min": f[s[0]].min(),
                         "potency_max": f[s[0]].max(), "efficacy_min": f[s[1]].min(), "efficacy_max": f[s[1]].max(),
                         "d1_min": f.d1.min(), "d1_max": f.d1.max(), "d2_min": f.d2.min(), "d2_max": f.d2.max()})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ plots (see moocs_plot)
    def plot(self, ax=None, *, log: bool = False):
        """Heatmap of the robustness count (0..n spaces) on the dose grid; returns the Axes.

        Points kept out of the Pareto step because their potency indices are undefined are crossed.
        """
        return moocs_plot.plot_count(self, ax, log=log)

    def plot_index(self, ax=None, *, index: str = "bliss", log: bool = False):
        """Synergy map: heatmap of one combination index (hsa, bliss, loewe, lsd, lsd_abs) on the dose grid.

        Diverging colours centred on 1 (blue < 1 synergy, red > 1 antagonism); points where a potency index is
        undefined are crossed (the colour there is its limit value). Returns the Axes.
        """
        return moocs_plot.plot_index(self, ax, index=index, log=log)

    def plot_fronts(self, axes=None, *, mark=None):
        """Scatter of every competing dose pair in each space with the front highlighted.

        ``mark``: (d1, d2) pairs to circle (e.g. chosen doses); the robust doses are starred; points with
        undefined potency are drawn as grey x (excluded) or open diamonds (on a front, ``undefined_potency=
        "zero"``). Returns the array of Axes.
        """
        return moocs_plot.plot_fronts(self, axes, mark=mark)

    def plot_doses(self, ax=None, *, space=("loewe", "bliss"), mark=None, log: bool = False):
        """Front doses of one space (and robust doses) over the effect heatmap; returns the Axes.

        ``mark``: (d1, d2) pairs to circle (e.g. a reference regimen).
        """
        return moocs_plot.plot_doses(self, ax, space=space, mark=mark, log=log)
