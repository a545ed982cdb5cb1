"""Exact non-dominated filtering (all objectives minimised) and near-Pareto points.

A point is dominated when another point is <= in every objective and < in at least one.
Identical points do not dominate each other, so duplicates of a non-dominated point are all kept.
Rows with a NaN objective are never optimal and never dominate.
"""

from __future__ import annotations

import numpy as np

from ..errors import QSPError

__all__ = ["non_dominated", "non_dominated_brute_force", "near_front"]


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


def _segment_distance(P: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Distance of each point in P (n x 2) to the nearest segment A[k]-B[k] (blocks of points: memory stays
    about 2e6 pairs whatever the sizes)."""
    AB = B - A
    L2 = (AB ** 2).sum(axis=1)
    out = np.empty(len(P))
    block = max(1, 2_000_000 // max(1, len(A)))
    for s in range(0, len(P), block):
        Q = P[s:s + block]
        AP = Q[:, None, :] - A[None, :, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(L2 > 0, (AP * AB[None]).sum(axis=2) / L2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        closest = A[None] + t[..., None] * AB[None]
        out[s:s + block] = np.sqrt(((Q[:, None, :] - closest) ** 2).sum(axis=2)).min(axis=1)
    return out


def near_front(F: np.ndarray, on_front: np.ndarray, tol: float = 0.02) -> np.ndarray:
    """Near-Pareto points: off-front points closer than ``tol`` x scale to the piecewise-linear front.

    The front is joined in order of the first objective; distances are to that polyline (the limit
    of a dense linear interpolation). Scale: distance from the front point nearest the origin to the
    off-front point farthest from the origin.
    """
    F = np.asarray(F, float)
    out = np.zeros(len(F), dtype=bool)
    finite = np.isfinite(F).all(axis=1)
    front = F[on_front & finite]
    rest = np.flatnonzero(~on_front & finite)
    if front.shape[0] == 0 or rest.size == 0:
        return out
    front = front[np.lexsort((front[:, 1], front[:, 0]))]
    anchor = front[np.argmin(np.hypot(front[:, 0], front[:, 1]))]
    far = F[rest][np.argmax(np.hypot(F[rest, 0], F[rest, 1]))]
    scale = float(np.hypot(*(far - anchor)))
    A, B = (front[:-1], front[1:]) if front.shape[0] > 1 else (front, front)
    dist = _segment_distance(F[rest], A, B)
    out[rest] = dist < tol * scale
    return out
