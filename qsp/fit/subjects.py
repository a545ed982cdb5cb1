"""Fits of one subject each, reported together: one estimates row per subject, every start, plots of all."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["subject_estimates", "subject_starts", "subject_summary", "write_subjects"]


def subject_estimates(results: dict) -> pd.DataFrame:
    """One row per subject: ``subject``, ``best_llh``, ``n_starts``, ``n_failed``, ``n_at_best``, one column per
    parameter (the linear value of the best start), ``at_bound`` (ids at a bound, ``;``-separated), ``message``
    (why no start succeeded)."""
    rows = []
    for subject, res in results.items():
        est = res.estimates
        rec = {"subject": subject, "best_llh": res.best_llh, "n_starts": res.n_starts, "n_failed": res.n_failed,
               "n_at_best": res.n_converged()}
        rec.update(zip(est["parameter"], est["value"]))
        rec["at_bound"] = ";".join(est.loc[est["at_bound"], "parameter"])
        rec["message"] = "" if res.best_x is not None else str(res.starts["message"].iloc[0])
        rows.append(rec)
    return pd.DataFrame(rows)


def subject_starts(results: dict) -> pd.DataFrame:
    """Every start of every subject, with a ``subject`` column first."""
    frames = [res.starts.assign(subject=subject) for subject, res in results.items()]
    table = pd.concat(frames, ignore_index=True)
    return table[["subject", *[c for c in table.columns if c != "subject"]]]


def subject_summary(results: dict, method: str) -> dict:
    """Totals over the subjects (``best_llh``: the sum of their best log-likelihoods) and each subject's summary."""
    fitted = [r for r in results.values() if r.best_x is not None]
    return {"best_llh": float(sum(r.best_llh for r in fitted)) if fitted else None,
            "n_starts": sum(r.n_starts for r in results.values()),
            "n_failed": sum(r.n_failed for r in results.values()),
            "n_at_best": sum(r.n_converged() for r in results.values()),
            "wall_s": float(sum(r.wall_s for r in results.values())), "method": method,
            "per_subject": True, "n_subjects": len(results), "n_subjects_failed": len(results) - len(fitted),
            "subjects": {str(s): r.summary() for s, r in results.items()}}


def write_subjects(results: dict, out: Path, method: str, printer=None) -> dict:
    """Write ``starts.csv``, ``estimates.csv``, ``summary.json`` and the plots of the per-subject fits into ``out``."""
    import matplotlib.pyplot as plt

    from ..atomic import atomic_write
    from ..datasets.cli import save_figure
    from .plots import fit_panels, residuals

    out.mkdir(parents=True, exist_ok=True)
    estimates = subject_estimates(results)
    with atomic_write(out / "starts.csv") as fh:
        subject_starts(results).to_csv(fh, index=False)
    with atomic_write(out / "estimates.csv") as fh:
        estimates.to_csv(fh, index=False)
    summary = subject_summary(results, method)
    with atomic_write(out / "summary.json") as fh:
        fh.write(json.dumps(summary, indent=1))
    _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    label = len(results) <= 10
    for subject, res in results.items():
        res.plot_waterfall(ax=ax, label=f"subject {subject}" if label else "")
    ax.set_title(f"{len(results)} subjects", fontsize=10)
    save_figure(ax.figure, str(out / "waterfall.png"))
    save_figure(_parameters(results).figure, str(out / "parameters.png"))
    fitted = [r for r in results.values() if r.can_simulate]
    if fitted and len(fitted) == sum(r.best_x is not None for r in results.values()):
        table = pd.concat([r.predictions() for r in fitted], ignore_index=True)
        save_figure(fit_panels(table), str(out / "fit.png"))
        save_figure(residuals(table), str(out / "residuals.png"))
    if printer is not None:
        printer(estimates)
    if summary["best_llh"] is None:
        summary["best_llh"] = math.nan
    return summary


def _parameters(results: dict):
    """Each subject's best estimates within the bounds (parameter scale)."""
    import matplotlib.pyplot as plt

    first = next(iter(results.values()))
    sp = first.space
    pos = np.arange(len(sp))[::-1]
    _, ax = plt.subplots(figsize=(6, 0.9 + 0.35 * len(sp)), layout="constrained")
    xs = np.array([r.best_x for r in results.values() if r.best_x is not None])
    if len(xs):
        jitter = np.linspace(-0.15, 0.15, len(xs)) if len(xs) > 1 else np.zeros(1)
        for k, x in enumerate(xs):
            ax.plot(x, pos + jitter[k], "o", ms=3, color="C0", alpha=0.7)
    ax.plot(sp.lower, pos, "k+", ms=9, label="bounds")
    ax.plot(sp.upper, pos, "k+", ms=9)
    ax.set_yticks(pos, [f"{p} ({s})" for p, s in zip(sp.ids, sp.scales)])
    ax.set_xlabel("value on the parameter scale")
    ax.set_title(f"best estimates of {len(xs)} subjects", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
