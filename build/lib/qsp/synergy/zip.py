"""ZIP (zero interaction potency; Yadav et al. 2015, doi:10.1016/j.csbj.2015.09.001).

Reference: the Bliss combination of Hill fits of the single drugs (baseline 0). Observed side:
for each fixed d2 the drug-1 curve is refitted with its baseline fixed at the fitted drug-2 effect
y2(d2) (and vice versa); the two refitted predictions are averaged. Score
``delta = y_c - y_ZIP`` (> 0 synergy). Effects rise with dose, from 0.
"""

from __future__ import annotations

import numpy as np

from ..errors import QSPError
from .hill import fit_hill
from .result import SynergyModel, check_flat
from .single import single_fits

__all__ = ["ZIP"]


class ZIP(SynergyModel):
    """ZIP delta score. Needs a full grid: every combination column/row with at least 3 points."""

    kind = "zip"
    score_name = "delta"

    def fit(self, d1, d2, E) -> ZIP:
        """Score flat combination data; returns self."""
        d1, d2, E = check_flat(d1, d2, E)
        f1, f2 = single_fits(d1, d2, E, E0=0.0)
        y1, y2 = f1.effect(d1), f2.effect(d2)
        self.fits_ = (f1, f2)
        self.reference_ = y1 + y2 - y1 * y2
        pred1 = np.full(E.size, np.nan)  # drug 1 refitted at each fixed d2
        pred2 = np.full(E.size, np.nan)
        for b in np.unique(d2):
            rows = d2 == b
            if b == 0 or np.unique(d1[rows & (d1 > 0)]).size < 2:
                pred1[rows] = y1[rows] if b == 0 else np.nan
                continue
            base = float(f2.effect(b))
            fit = fit_hill(d1[rows], E[rows], E0=base)
            pred1[rows] = fit.effect(d1[rows])
        for a in np.unique(d1):
            rows = d1 == a
            if a == 0 or np.unique(d2[rows & (d2 > 0)]).size < 2:
                pred2[rows] = y2[rows] if a == 0 else np.nan
                continue
            base = float(f1.effect(a))
            fit = fit_hill(d2[rows], E[rows], E0=base)
            pred2[rows] = fit.effect(d2[rows])
        if np.isnan(pred1).all() or np.isnan(pred2).all():
            raise QSPError("ZIP needs a dose grid with at least 2 positive doses of each drug at every level")
        self.d1_, self.d2_, self.effect_ = d1, d2, E
        self.fitted_ = 0.5 * (pred1 + pred2)
        self.synergy_ = self.fitted_ - self.reference_
        return self
