"""``plot_dataset``: spaghetti plots of an event table, one panel per output, doses marked along the bottom.

matplotlib is imported only when a plot is drawn; scripts and the command line draw with the Agg
backend (``matplotlib.use("Agg")`` before the first plot), notebooks with their own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..option_names import option
from .columns import DatasetError
from .dataset import Dataset, _plain
from .read import read_dataset

__all__ = ["plot_dataset", "simulated_outputs"]

#: Subjects named in a legend; with more, the legend is left out.
LEGEND_SUBJECTS = 10
#: Panel without observations (a simulated output with no DVID of its own).
_NONE = object()


def simulated_outputs(dataset: Dataset, simulated: pd.DataFrame) -> list[str]:
    """The columns of ``simulated`` that are not columns of the dataset (nor ``row``): its outputs."""
    own = set(dataset.to_pandas().columns) | {"row"}
    return [str(c) for c in simulated.columns if c not in own]


def _check_simulated(dataset: Dataset, table: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """``simulated`` aligned on the dataset's rows (same number of rows, same ID and TIME where it has them)."""
    simulated = getattr(simulated, "table", simulated)  # a DatasetSimulation
    if not isinstance(simulated, pd.DataFrame):
        raise DatasetError(f"simulated table: expected a pandas DataFrame, got {type(simulated).__name__}")
    if len(simulated) != len(table):
        raise DatasetError(f"simulated table: {len(simulated)} rows, but {dataset.source} has {len(table)}; "
                           f"give the table simulated for this dataset (one row per dataset row)")
    sim = simulated.reset_index(drop=True)
    for col in ("ID", "TIME"):
        if col in sim.columns:
            a = pd.to_numeric(sim[col], errors="coerce").to_numpy(dtype=float)
            b = table[col].to_numpy(dtype=float)
            bad = np.flatnonzero(~np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
            if len(bad):
                i = int(bad[0])
                raise DatasetError(f"simulated table: row {i + 1}, column {col!r}: {a[i]:g}, but the dataset has "
                                   f"{b[i]:g} (the rows must be those of the dataset, in order)")
    sim.index = table.index
    return sim


def _panels(table: pd.DataFrame, outputs, simulated: pd.DataFrame | None,
            sim_outputs: list[str]) -> list[tuple[str, object, bool]]:
    """(name, DVID value, None for every observation or _NONE for none, drawn from ``simulated``) per panel."""
    obs = table[(table["EVID"] == 0) & (table["MDV"] == 0) & table["DV"].notna()]
    dvids = [_plain(v) for v in pd.unique(obs["DVID"].dropna())] if "DVID" in table.columns else []
    by_name = {str(v): v for v in dvids}
    columns = set() if simulated is None else {str(c) for c in simulated.columns} - {"DV"}
    if outputs is None:
        names = list(sim_outputs) + [str(v) for v in dvids if str(v) not in sim_outputs]
        if not names:
            names = ["DV"]
    else:
        names = [outputs] if isinstance(outputs, str) else [str(o) for o in outputs]
        for name in names:
            if name not in columns and name not in by_name and name != "DV":
                raise DatasetError(f"{option('outputs', name)}: not a DVID value of the observations "
                                   f"({', '.join(by_name) or 'no DVID column'}), an output of the simulated "
                                   f"table ({', '.join(sim_outputs) or 'none given'}) or 'DV'")
    panels = []
    for i, name in enumerate(names):
        if name in by_name:
            dvid = by_name[name]
        elif name == "DV" or (not dvids and i == 0):
            dvid = None  # all observed DV (no DVID: they go with the first output)
        else:
            dvid = _NONE
        panels.append((name, dvid, name in columns))
    return panels


def _axes(ax, n: int):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, axes = plt.subplots(1, n, figsize=(5.6 * n, 4.2), squeeze=False, layout="constrained")
        return fig, list(axes[0])
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n:
        raise DatasetError(f"ax: {n} panels to draw, {len(axes)} Axes given")
    return axes[0].figure, axes


def _positive(y: np.ndarray, log: bool) -> np.ndarray:
    return np.where(y > 0, y, np.nan) if log else y


def plot_dataset(dataset: Dataset | pd.DataFrame, outputs: str | Sequence[str] | None = None, *,
                 simulated: pd.DataFrame | None = None, ax=None, log: bool = False):
    """Spaghetti plot of the observations per subject, with the dose times and simulated profiles.

    Parameters
    ----------
    dataset : the Dataset (from :func:`~qsp.datasets.read_dataset`), or a table it reads.
    outputs : the panels, one per name: a DVID value (the observations of that type), ``"DV"``
        (every observation), or a column of ``simulated``. A simulated output named like a
        DVID value is drawn over those observations; without a DVID column the observations go
        with the first output. Default: the simulated outputs, then the DVID values not among them
        (just ``"DV"`` when there is neither).
    simulated : a table with the dataset's rows in order and one column per output (NaN where not
        simulated), or the DatasetSimulation of :func:`~qsp.datasets.simulate_dataset`; drawn as
        lines per subject.
    ax : an Axes, or one Axes per panel (default: a new figure, panels side by side).
    log : logarithmic y axis (values <= 0 left out).

    Observations are markers joined per subject (in the subject's colour), simulations solid lines;
    the dose times (ADDL expanded) are triangles along the bottom of each panel. Times and values
    are in the dataset's units.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DatasetError
        ``simulated`` does not have the dataset's rows, an unknown output, or the wrong number of Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    if not isinstance(dataset, Dataset):
        dataset = read_dataset(dataset)
    table = dataset.to_pandas()
    sim, sim_outputs = None, []
    if simulated is not None:
        sim = _check_simulated(dataset, table, simulated)
        sim_outputs = simulated_outputs(dataset, sim)
    panels = _panels(table, outputs, sim, sim_outputs)
    fig, axes = _axes(ax, len(panels))
    subjects = dataset.subjects
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    colour = {sid: colours[i % len(colours)] for i, sid in enumerate(subjects)}
    ids = np.array([_plain(v) for v in table["ID"]], dtype=object)
    observed = (table["EVID"] == 0).to_numpy() & (table["MDV"] == 0).to_numpy() & table["DV"].notna().to_numpy()
    doses = dataset.expand_addl()
    dose_ids = np.array([_plain(v) for v in doses["ID"]], dtype=object)
    dvids = table["DVID"].map(_plain).to_numpy(dtype=object) if "DVID" in table.columns else None
    t, dv = table["TIME"].to_numpy(dtype=float), table["DV"].to_numpy(dtype=float)
    t_dose = doses["TIME"].to_numpy(dtype=float)
    for a, (name, dvid, drawn) in zip(axes, panels):
        if dvid is _NONE:
            mask = np.zeros_like(observed)
        else:
            mask = observed if dvid is None else observed & (dvids == dvid)
        y_sim = pd.to_numeric(sim[name], errors="coerce").to_numpy(dtype=float) if drawn else None
        bottom = blended_transform_factory(a.transData, a.transAxes)
        for sid in subjects:
            rows = ids == sid
            seen = bool((rows & mask).any())
            if seen:
                a.plot(t[rows & mask], _positive(dv[rows & mask], log), "o-", ms=3, lw=0.7, alpha=0.8,
                       color=colour[sid], label=str(sid))
            if y_sim is not None:
                keep = rows & np.isfinite(y_sim)
                a.plot(t[keep], _positive(y_sim[keep], log), "-", lw=1.2, color=colour[sid],
                       label=None if seen else str(sid))
            td = t_dose[dose_ids == sid]
            if len(td):
                a.plot(td, np.full(len(td), 0.02), "^", ms=5, color=colour[sid], alpha=0.8,
                       transform=bottom, clip_on=False)
        if not mask.any() and (y_sim is None or not np.isfinite(y_sim).any()):
            a.text(0.5, 0.5, "no values (DV missing)", transform=a.transAxes, ha="center", color="0.4")
        if log:
            a.set_yscale("log")
        a.margins(y=0.1)  # room for the dose marks below the lowest value
        title = name
        if dvid is not None and dvid is not _NONE and str(dvid) != name:
            title += f" (DVID {dvid})"
        if drawn:
            title += " (lines: simulated)"
        a.set_title(title, fontsize="medium")
        a.set_xlabel("TIME")
        a.set_ylabel(name)
    if len(subjects) <= LEGEND_SUBJECTS and axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize="small", title="ID")
    if ax is None:
        fig.suptitle(f"{len(subjects)} subjects (triangles: dose times)", fontsize="medium")
    return fig
