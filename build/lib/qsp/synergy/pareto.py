"""Exact non-dominated filtering (all objectives minimised).

A point is dominated when another point is <= in every objective and < in at least one.
Identical points do not dominate each other, so duplicates of a non-dominated point are all kept.
Rows with a NaN objective are never optimal and never dominate.
"""

from __future__ import annotations

import numpy as np

from ..errors import QSPError

__all__ = ["non_dominated", "non_dominated_brute_force"]


def non_dominated(F) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``F`` (n points x m objectives, minimised).

    Two objectives: O(n log n) sweep (sort by f1, then f2; a point survives when its f2 is the
    smallest of its f1 group and strictly below every f2 seen at smaller f1). More objectives:
    blockwise pairwise comparison, O(n^2 m).
    """
    F = np.asarray(F, dtype=float)
    if F.ndim != 2:
        raise QSPError(f"F must be a 2-D array (points x objectives). Got shape {F.shape}.")
    n = F.shape[0]
    mask = np.zeros(n, dtype=bool)
    finite = np.isfinite(F).all(axis=1)
    idx = np.flatnonzero(finite)
    if idx.size == 0:
        return mask
    G = F[idx]
    if G.shape[1] == 1:
        mask[idx] = G[:, 0] == G[:, 0].min()
        return mask
    if G.shape[1] == 2:
        order = np.lexsort((G[:, 1], G[:, 0]))
        x, y = G[order, 0], G[order, 1]
        keep = np.zeros(idx.size, dtype=bool)
        best = np.inf  # smallest f2 among points with strictly smaller f1
        start = 0
        while start < x.size:
            stop = start
            while stop < x.size and x[stop] == x[start]:
                stop += 1
            ymin = y[start]  # sorted by y within the group
            if ymin < best:
                keep[start:stop] = y[start:stop] == ymin
                best = ymin
            start = stop
        mask[idx[order]] = keep
        return mask
    keep = np.ones(idx.size, dtype=bool)
    block = max(1, 2_000_000 // max(1, idx.size * G.shape[1]))
    for s in range(0, idx.size, block):
        P = G[s:s + block]
        le = (G[None, :, :] <= P[:, None, :]).all(axis=2)
        lt = (G[None, :, :] < P[:, None, :]).any(axis=2)
        keep[s:s + block] = ~(le & lt).any(axis=1)
    mask[idx] = keep
    return mask


def non_dominated_brute_force(F) -> np.ndarray:
    """Reference O(n^2) double loop of the definition (for tests)."""
    F = np.asarray(F, dtype=float)
    n = F.shape[0]
    out = np.zeros(n, dtype=bool)
    for i in range(n):
        if not np.isfinite(F[i]).all():
            continue
        dominated = False
        for j in range(n):
            if j != i and np.isfinite(F[j]).all() and (F[j] <= F[i]).all() and (F[j] < F[i]).any():
                dominated = True
                break
        out[i] = not dominated
    return out
