"""One ensemble run for one or many dose-response surfaces.

Each surface is a pair of treatments on the same dose grid. Its regimens are the untreated control,
every grid point and the dense single-treatment levels. The regimens of all surfaces go into a single
:func:`qsp.ensemble.run` call; with ``share=True`` a regimen that several surfaces need (the control,
or the single-drug curve of a schedule that several protocols share) is simulated once. The effects are
read back per surface from the ensemble table.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import InputError, QSPError, QSPWarning
from ..option_names import option
from .grid import check_surface_size, default_mono_levels
from .mono import check_rising
from .treatment import Response, Treatment

__all__ = ["check_size", "simulate_surfaces"]


def check_size(n1: int, n2: int, k1: int, k2: int, *, n_samples: int = 1, n_metrics: int = 1,
               points: int | None = None, dense: bool = True, n_surfaces: int = 1) -> None:
    """Refuse ``n_surfaces`` surfaces of ``n1 x n2`` dose pairs, ``k1 + k2`` single-treatment levels and
    ``n_samples`` parameter sets above the memory bound, naming the options that set those sizes."""
    names = dict.fromkeys([option("d1"), option("d2")] + ([option("mono_points")] if dense else [])
                          + ([option("samples")] if n_samples > 1 else [])
                          + ([option("protocols")] if n_surfaces > 1 else []))
    check_surface_size(f"{n1} x {n2} dose pairs, {k1 + k2} single-treatment levels"
                       + (f", {n_samples} parameter sets" if n_samples > 1 else "")
                       + (f", {n_surfaces} protocols" if n_surfaces > 1 else "") + f" ({', '.join(names)})",
                       n1, n2, k1, k2, n_samples=n_samples, n_metrics=n_metrics, points=points,
                       n_surfaces=n_surfaces)


class _Regimens:
    """Named regimens in order; with ``share``, an identical regimen is kept once and its index reused."""

    def __init__(self, fixed: dict, share: bool):
        self.fixed, self.share = fixed, share
        self.regimens: dict[str, tuple] = {}
        self._index: dict = {}

    def add(self, name: str, t1: Treatment, t2: Treatment, a: float, b: float) -> int:
        da, pa = t1.part(a) if a or t1.parameter else ([], {})
        db, pb = t2.part(b) if b or t2.parameter else ([], {})
        doses, params = da + db, {**self.fixed, **pa, **pb}
        key = (tuple(doses), tuple(sorted(params.items())))
        if self.share and key in self._index:
            return self._index[key]
        self._index.setdefault(key, len(self.regimens))
        self.regimens[name] = (doses, params)
        return len(self.regimens) - 1


def _levels(d, m, mono_points, mono_factor):
    return default_mono_levels(d, mono_points, mono_factor) if m is None else np.unique(np.asarray(m, float))


def simulate_surfaces(model, pairs, d1, d2, *, response="tgi:W:35", extra_metrics=(),
                      samples: pd.DataFrame | None = None, params: dict | None = None, mono1=None, mono2=None,
                      mono_points: int = 200, mono_factor: float = 20.0, t_end: float | None = None,
                      points: int | None = None, rtol: float = 1e-8, atol: float = 1e-12, backend="serial",
                      chunk_size: int = 256, seed: int | None = 0, progress: bool | None = None,
                      share: bool = True, **run_options):
    """Simulate the surfaces of ``pairs`` (``[(name or None, treatment1, treatment2), ...]``) in one ensemble run.

    Arguments as in :func:`qsp.synergy.simulate_surface`; ``share``: simulate a regimen that several
    surfaces need once.

    Returns
    -------
    (list of DoseResponseSurface, EnsembleResult)
        One surface per pair, in order (each has the whole ensemble table), and the run.
    """
    from .. import ensemble
    from .surface import DoseResponseSurface

    resp = Response.parse(response)
    for _, t1, t2 in pairs:
        if not isinstance(t1, Treatment) or not isinstance(t2, Treatment):
            raise QSPError("treatment1 and treatment2 must be qsp.synergy.Treatment objects")
    d1 = np.asarray(d1, dtype=float).ravel()
    d2 = np.asarray(d2, dtype=float).ravel()
    for name, g in (("d1", d1), ("d2", d2)):
        if g.size == 0 or not np.isfinite(g).all() or (g < 0).any():
            raise QSPError(f"{option(name)} must be a non-empty array of finite levels >= 0")
    if isinstance(mono_points, bool) or not isinstance(mono_points, (int, np.integer)) or mono_points < 1:
        raise InputError(f"{option('mono_points')} must be a positive integer. Got {mono_points!r}.")
    k1 = d1.size + mono_points + 1 if mono1 is None else np.size(mono1)
    k2 = d2.size + mono_points + 1 if mono2 is None else np.size(mono2)
    check_size(d1.size, d2.size, k1, k2, n_samples=1 if samples is None else len(samples),
               n_metrics=1 + len(extra_metrics or ()), points=points, dense=mono1 is None or mono2 is None,
               n_surfaces=len(pairs))
    m1, m2 = _levels(d1, mono1, mono_points, mono_factor), _levels(d2, mono2, mono_points, mono_factor)
    regs = _Regimens(dict(params or {}), share)
    layouts = []
    for k, (_, t1, t2) in enumerate(pairs):
        p = "" if len(pairs) == 1 else f"p{k}."
        control = regs.add(f"{p}control", t1, t2, 0.0, 0.0)
        grid = [regs.add(f"{p}g{i}_{j}", t1, t2, a, b) for i, a in enumerate(d1) for j, b in enumerate(d2)]
        c1 = [regs.add(f"{p}m1_{i}", t1, t2, a, 0.0) for i, a in enumerate(m1)]
        c2 = [regs.add(f"{p}m2_{j}", t1, t2, 0.0, b) for j, b in enumerate(m2)]
        layouts.append((control, np.array(grid), np.array(c1), np.array(c2)))
    metrics = [resp.metric] + list(ensemble.metrics.as_metrics(extra_metrics))
    with warnings.catch_warnings():  # one warning, below, that names the surface
        warnings.filterwarnings("ignore", message=r".* simulations failed; see result.failures", category=QSPWarning)
        res = ensemble.run(model, samples, regimens=regs.regimens, metrics=metrics, t_end=t_end, points=points,
                           rtol=rtol, atol=atol, backend=backend, chunk_size=chunk_size, seed=seed,
                           progress=progress, **run_options)
    table = res.table
    n_reg = len(regs.regimens)
    n_s = len(table) // n_reg
    columns = list(res.metrics)  # the response first, then the extra metrics, in order
    raw = table[columns[0]].to_numpy(dtype=float).reshape(n_s, n_reg)
    extra_raw = {c: table[c].to_numpy(dtype=float).reshape(n_s, n_reg) for c in columns[1:]}
    what = option("response", resp.text)
    samp = samples.reset_index(drop=True) if samples is not None else None
    surfaces = []
    for (name, t1, t2), (control, grid, c1, c2) in zip(pairs, layouts):
        if resp.kind == "tgi":
            ctrl = raw[:, control:control + 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                eff = (ctrl - raw) / ctrl
        else:
            eff = raw
        grid_e = eff[:, grid].reshape(n_s, d1.size, d2.size)
        mono1_e, mono2_e = eff[:, c1], eff[:, c2]
        for m, e, t in ((m1, mono1_e, t1), (m2, mono2_e, t2)):
            label = t.label if name is None else f"{t.label} (protocol {name!r})"
            check_rising(np.concatenate([[0.0], m]), np.hstack([eff[:, control:control + 1], e]), label, what,
                         resp.metric)
        extras = {c: v[:, grid].reshape(n_s, d1.size, d2.size) for c, v in extra_raw.items()}
        used = np.unique(np.concatenate([[control], grid, c1, c2]))
        n_failed = int((table["status"].to_numpy().reshape(n_s, n_reg)[:, used] != "ok").sum())
        units = tuple("" if t.parameter else (t.unit or "") for t in (t1, t2))
        surfaces.append(DoseResponseSurface(d1, d2, grid_e, m1, mono1_e, m2, mono2_e, extras, samp,
                                            (t1.label, t2.label), units, resp.label, table, n_failed, name))
    if res.n_failed:
        warnings.warn(f"{res.n_failed} of {len(table)} surface simulations failed; their effects are NaN "
                      "(see surface.table)", QSPWarning, stacklevel=3)
    return surfaces, res
