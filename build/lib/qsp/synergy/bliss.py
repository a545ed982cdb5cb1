"""Bliss independence: expected effect E1 + E2 - E1*E2 (survivals multiply).

Effects are fractions in [0, 1] that rise with dose. Score: the excess ``E - E_Bliss``
(> 0 synergy). Bliss CI 1939, doi:10.1111/j.1744-7348.1939.tb06990.x.
"""

from __future__ import annotations

from .result import SynergyModel, check_flat
from .single import single_effects

__all__ = ["Bliss", "bliss_reference"]


def bliss_reference(E1, E2):
    """Bliss expectation of two independent effects (fractions rising with dose)."""
    return E1 + E2 - E1 * E2


class Bliss(SynergyModel):
    """Bliss excess over independence.

    Parameters
    ----------
    single : {'data', 'hill'}, default 'data'
        Single-drug effects from the measured points (exact) or from Hill fits.
    """

    kind = "bliss"
    score_name = "excess"

    def __init__(self, *, single: str = "data"):
        self.single = single

    def fit(self, d1, d2, E) -> Bliss:
        """Score flat combination data; returns self."""
        d1, d2, E = check_flat(d1, d2, E)
        E1, E2 = single_effects(d1, d2, E, single=self.single)
        self.d1_, self.d2_, self.effect_ = d1, d2, E
        self.reference_ = bliss_reference(E1, E2)
        self.synergy_ = E - self.reference_
        return self
