"""What one subject's simulation runs: its steps in order, as picklable arrays and tuples.

A :class:`SubjectPlan` is small enough to ship to a worker: the rows of one subject as *steps* (in
the order written), each a time, what it does (observe, set parameters, reset, dose) and the values
it needs. Values that depend on the model's state (an option read from a parameter) are resolved
when the step runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DoseRecord", "SubjectPlan"]


@dataclass(frozen=True)
class DoseRecord:
    """A dose row: amount (model amount units) into ``species``, and how NONMEM would give it.

    ``rate`` is the data item (> 0 rate, 0 bolus unless ``duration`` > 0, -1 modelled rate, -2
    modelled duration); ``options`` maps lag/bioavailability/modelled_rate/modelled_duration to a
    number, or to a parameter id read when the record runs.
    """

    species: str
    amount: float
    rate: float
    duration: float
    interval: float
    additional: int
    steady_state: int
    options: tuple[tuple[str, float | str], ...]


@dataclass(frozen=True)
class SubjectPlan:
    """One subject's steps. Step ``i``: ``times[i]``, ``evids[i]``, parameter values set before it runs
    (``settings[i]``, changes only), its dose (``doses[i]`` or None), for rows with outputs
    ``output_row[i]`` >= 0 (its position among the subject's output rows), and values set once it
    has run (``after[i]``, when given)."""

    subject: object
    rows: np.ndarray
    times: np.ndarray
    evids: np.ndarray
    settings: tuple[tuple[tuple[str, float], ...], ...]
    doses: tuple[DoseRecord | None, ...]
    output_row: np.ndarray
    initial: tuple[tuple[str, float], ...]
    #: Parameter values set after step ``i`` ran (next-observation-carried-back covariates); empty: none.
    after: tuple[tuple[tuple[str, float], ...], ...] = ()

    @property
    def n_outputs_rows(self) -> int:
        return int((self.output_row >= 0).sum())
