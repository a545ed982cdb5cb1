"""Single-drug responses taken from combination data (points where the other dose is 0)."""

from __future__ import annotations

import numpy as np

from ..errors import QSPError
from .hill import HillFit, fit_hill

__all__ = ["single_effects", "single_fits"]


def _lookup(dose: np.ndarray, mono_d: np.ndarray, mono_e: np.ndarray, which: int) -> np.ndarray:
    table = {}
    for d, e in zip(mono_d, mono_e):
        table.setdefault(float(d), []).append(float(e))
    out = np.empty(dose.size)
    for k, d in enumerate(dose):
        vals = table.get(float(d))
        if vals is None:
            raise QSPError(f"no single-drug point for drug {which} at dose {d:g}: include dose 0 of the other "
                           "drug in the grid, or use single='hill'")
        out[k] = np.mean(vals)
    return out


def single_effects(d1, d2, E, *, single: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Single-drug effects E_1(d1) and E_2(d2) at every point.

    Parameters
    ----------
    d1, d2, E : ndarray
        Flat combination data (see :func:`qsp.synergy.result.check_flat`).
    single : {'data', 'hill'}
        'data': the measured effect at (d1, 0) and (0, d2), averaged over replicates (exact);
        'hill': fitted Hill curves of those points.
    """
    if single == "hill":
        f1, f2 = single_fits(d1, d2, E)
        return f1.effect(d1), f2.effect(d2)
    if single != "data":
        raise QSPError(f"single must be 'data' or 'hill'. Got {single!r}.")
    m1, m2 = d2 == 0, d1 == 0
    return _lookup(d1, d1[m1], E[m1], 1), _lookup(d2, d2[m2], E[m2], 2)


def single_fits(d1, d2, E, *, E0: float | None = None) -> tuple[HillFit, HillFit]:
    """Hill fits of drug 1 alone (points with d2 = 0) and drug 2 alone (d1 = 0)."""
    m1, m2 = d2 == 0, d1 == 0
    if m1.sum() < 3 or m2.sum() < 3:
        raise QSPError("single-drug fits need at least 3 points with d2 = 0 and 3 with d1 = 0")
    return fit_hill(d1[m1], E[m1], E0=E0), fit_hill(d2[m2], E[m2], E0=E0)
