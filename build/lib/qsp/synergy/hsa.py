"""Highest single agent (Gaddum): expected effect max(E1, E2); score ``E - max(E1, E2)`` (> 0 synergy).

A drug combined with itself looks synergistic under HSA: a known weakness of the reference.
"""

from __future__ import annotations

import numpy as np

from .result import SynergyModel, check_flat
from .single import single_effects

__all__ = ["HSA"]


class HSA(SynergyModel):
    """Excess over the highest single agent.

    Parameters
    ----------
    single : {'data', 'hill'}, default 'data'
        Single-drug effects from the measured points (exact) or from Hill fits.
    """

    kind = "hsa"
    score_name = "excess"

    def __init__(self, *, single: str = "data"):
        self.single = single

    def fit(self, d1, d2, E) -> HSA:
        """Score flat combination data; returns self."""
        d1, d2, E = check_flat(d1, d2, E)
        E1, E2 = single_effects(d1, d2, E, single=self.single)
        self.d1_, self.d2_, self.effect_ = d1, d2, E
        self.reference_ = np.maximum(E1, E2)
        self.synergy_ = E - self.reference_
        return self
