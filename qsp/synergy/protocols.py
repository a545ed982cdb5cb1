"""Schedule sweeps: named protocols (pairs of treatment schedules) simulated on one dose grid in one ensemble run.

A :class:`Protocol` is a name and two :class:`Treatment` objects that differ from the other protocols of a
sweep only in their schedules (first-dose time, interval, number of doses, infusion duration). Gevertz &
Kareva compared 25 such protocols of pembrolizumab + bevacizumab (each drug every 1 to 5 days);
:func:`protocol_grid` builds that kind of factorial sweep, :func:`read_protocols` reads one from a TOML
file or a table, and :func:`simulate_protocols` simulates every surface with a single
:func:`qsp.ensemble.run` call (a regimen several protocols share, such as the control or a single-drug
curve under the same schedule, is simulated once).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, QSPError
from .simulate import simulate_surfaces
from .surface import DoseResponseSurface
from .treatment import Treatment

__all__ = ["SCHEDULE_FIELDS", "Protocol", "ProtocolSweep", "as_protocols", "protocol_grid", "read_protocols",
           "simulate_protocols"]

#: Schedule fields a protocol may change, as in :class:`Treatment` (model time unit; count is a number of doses).
SCHEDULE_FIELDS = ("time", "every", "count", "duration", "times")
_SHORT = {"time": "t", "every": "q", "count": "x", "duration": "inf", "times": "at"}


@dataclass(frozen=True)
class Protocol:
    """A named pair of treatment schedules."""

    name: str
    treatment1: Treatment
    treatment2: Treatment

    def schedule(self) -> dict:
        """The schedule fields of both treatments: ``time1, every1, count1, duration1, times1, time2, ...``."""
        out = {}
        for k, t in ((1, self.treatment1), (2, self.treatment2)):
            for f in SCHEDULE_FIELDS:
                v = getattr(t, f)
                out[f"{f}{k}"] = ":".join(f"{x:g}" for x in v) if f == "times" and v is not None else v
        return out


def _value(field: str, v):
    if field == "times":
        if isinstance(v, str):
            try:
                return tuple(float(x) for x in v.split(":"))
            except ValueError:
                raise InputError(f"schedule field 'times' must be T1:T2:..., got {v!r}") from None
        return tuple(float(x) for x in np.atleast_1d(v))
    if field == "count":
        if isinstance(v, bool) or float(v) != int(float(v)):
            raise InputError(f"schedule field 'count' must be a whole number of doses, got {v!r}")
        return int(float(v))
    if isinstance(v, bool):
        raise InputError(f"schedule field {field!r} must be a number, got {v!r}")
    return float(v)


def _changed(t: Treatment, changes: dict, where: str) -> Treatment:
    bad = [k for k in changes if k not in SCHEDULE_FIELDS]
    if bad:
        raise InputError(f"{where}: unknown schedule field {bad[0]!r}; use {', '.join(SCHEDULE_FIELDS)}")
    if t.parameter and changes:
        raise InputError(f"{where}: {t.label} is a parameter-driven treatment and has no schedule to change")
    try:
        return t.with_schedule(**{k: _value(k, v) for k, v in changes.items()})
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: {exc}") from None


def _auto_name(values: dict, base1: Treatment, base2: Treatment) -> str:
    parts = []
    for k, t in ((1, base1), (2, base2)):
        mine = [(f, v) for f, v in values.items() if f.endswith(str(k))]
        if not mine:
            mine = [("every", t.every)] if t.every is not None else [("count", t.count)]
        text = []
        for f, v in mine:
            f = f.rstrip("12")
            text.append(_SHORT[f] + (":".join(f"{x:g}" for x in np.atleast_1d(v)) if f != "count" else f"{int(v)}"))
        parts.append("".join(text))
    return "/".join(parts)


def protocol_grid(treatment1: Treatment, treatment2: Treatment, *, name: str | None = None,
                  **values) -> list[Protocol]:
    """Every combination of schedule values: ``protocol_grid(t1, t2, every1=[1, 2, 3], every2=[1, 2, 3])``.

    Keyword names are a schedule field followed by 1 or 2 (the treatment); the other fields keep the values of
    ``treatment1``/``treatment2``. ``name``: a format string over those keywords (``"{every1:g}/{every2:g}"``);
    default a short label such as ``q1/q3`` (q: interval, t: first-dose time, x: number of doses, inf:
    infusion duration).
    """
    if not values:
        raise QSPError("give at least one schedule field to vary, e.g. every1=[1, 2, 3]")
    keys = list(values)
    for k in keys:
        if k[:-1] not in SCHEDULE_FIELDS or k[-1] not in "12":
            raise QSPError(f"unknown schedule variable {k!r}; use a field of {', '.join(SCHEDULE_FIELDS)} followed "
                           "by 1 or 2, e.g. every1")
    lists = [list(np.atleast_1d(values[k])) if k[:-1] != "times" else list(values[k]) for k in keys]
    out = []
    for combo in itertools.product(*lists):
        chosen = dict(zip(keys, combo))
        t = [_changed(base, {k[:-1]: v for k, v in chosen.items() if k.endswith(str(n))}, "protocol_grid")
             for n, base in ((1, treatment1), (2, treatment2))]
        label = name.format(**chosen) if name else _auto_name(chosen, treatment1, treatment2)
        out.append(Protocol(label, t[0], t[1]))
    return _check(out)


def _check(protocols: list[Protocol]) -> list[Protocol]:
    if not protocols:
        raise QSPError("give at least one protocol")
    names = [p.name for p in protocols]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise QSPError(f"protocol name {dup!r} is given twice; names must be unique")
    first = protocols[0]
    for p in protocols[1:]:
        for k, (a, b) in enumerate(((first.treatment1, p.treatment1), (first.treatment2, p.treatment2)), 1):
            if (a.target, a.unit, a.parameter) != (b.target, b.unit, b.parameter):
                raise QSPError(f"protocol {p.name!r} gives {b.label} as treatment {k} where {first.name!r} gives "
                               f"{a.label}: the protocols of a sweep differ only in their schedules")
    return protocols


def as_protocols(protocols, treatment1: Treatment | None = None,
                 treatment2: Treatment | None = None) -> list[Protocol]:
    """Normalise a sweep: a list of :class:`Protocol`, a dict ``name -> (treatment1, treatment2)``, a dict
    ``name -> {"drug1": {...}, "drug2": {...}}`` of schedule changes, or a DataFrame with a ``name`` column and
    columns ``<field>1``/``<field>2`` (empty cells keep the base schedule). Changes apply to ``treatment1`` and
    ``treatment2``."""
    if isinstance(protocols, pd.DataFrame):
        return _from_table(protocols, treatment1, treatment2, "protocol table")
    if isinstance(protocols, dict):
        out = []
        for name, v in protocols.items():
            if isinstance(v, dict):
                out.append(_from_changes(str(name), v, treatment1, treatment2, f"protocol {name!r}"))
            else:
                t1, t2 = v
                out.append(Protocol(str(name), t1, t2))
        return _check(out)
    out = list(protocols)
    if not all(isinstance(p, Protocol) for p in out):
        raise QSPError("protocols must be Protocol objects, a dict, or a DataFrame")
    return _check(out)


def _from_changes(name: str, changes: dict, t1, t2, where: str) -> Protocol:
    if t1 is None or t2 is None:
        raise QSPError(f"{where}: schedule changes need the base treatment1 and treatment2")
    extra = [k for k in changes if k not in ("drug1", "drug2", "name")]
    if extra:
        raise InputError(f"{where}: unknown key {extra[0]!r}; use name, drug1 and drug2")
    return Protocol(name, _changed(t1, dict(changes.get("drug1") or {}), where),
                    _changed(t2, dict(changes.get("drug2") or {}), where))


def _from_table(df: pd.DataFrame, t1, t2, what: str) -> list[Protocol]:
    cols = [c for c in df.columns if c != "name"]
    bad = [c for c in cols if str(c)[:-1] not in SCHEDULE_FIELDS or str(c)[-1:] not in ("1", "2")]
    if bad:
        raise InputError(f"{what}: unknown column {bad[0]!r}; use name and <field>1/<field>2 with field one of "
                         f"{', '.join(SCHEDULE_FIELDS)}")
    out = []
    for k, row in df.reset_index(drop=True).iterrows():
        given = {c: row[c] for c in cols if not (isinstance(row[c], float) and np.isnan(row[c]))}
        changes = {f"drug{n}": {c[:-1]: v for c, v in given.items() if c.endswith(str(n))} for n in (1, 2)}
        name = str(row["name"]) if "name" in df.columns and pd.notna(row["name"]) else None
        p = _from_changes(name or "", changes, t1, t2, f"{what} row {k + 1}")
        if name is None:
            p = Protocol(_auto_name({c: v for c, v in given.items()}, t1, t2), p.treatment1, p.treatment2)
        out.append(p)
    return _check(out)


def read_protocols(path, treatment1: Treatment, treatment2: Treatment) -> list[Protocol]:
    """Read a sweep from a TOML file (``[[protocol]]`` entries and/or a ``[grid]`` of values) or a CSV/Parquet
    table (see :func:`as_protocols`); changes apply to ``treatment1``/``treatment2``. Example::

        [[protocol]]
        name = "experimental"
        drug1 = { every = 3 }
        drug2 = { every = 3 }

        [grid]                      # every combination (after the [[protocol]] entries)
        every1 = [1, 2, 3, 4, 5]
        every2 = [1, 2, 3, 4, 5]
    """
    path = Path(path)
    if path.suffix.lower() != ".toml":
        from ..tables import read_table

        return _from_table(read_table(path, what="protocol table"), treatment1, treatment2, f"protocols {str(path)!r}")
    import tomllib

    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"protocols file {str(path)!r} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"protocols file {str(path)!r} is not valid TOML: {exc}") from None
    extra = [k for k in spec if k not in ("protocol", "grid")]
    if extra:
        raise InputError(f"protocols file {str(path)!r}: unknown table {extra[0]!r}; use [[protocol]] and [grid]")
    out = []
    for k, entry in enumerate(spec.get("protocol", []), 1):
        where = f"protocols file {str(path)!r}, protocol {k}"
        if not isinstance(entry, dict) or "name" not in entry:
            raise InputError(f"{where}: each [[protocol]] needs a name")
        out.append(_from_changes(str(entry["name"]), entry, treatment1, treatment2, where))
    if spec.get("grid"):
        try:
            out += protocol_grid(treatment1, treatment2, **spec["grid"])
        except QSPError as exc:
            raise InputError(f"protocols file {str(path)!r}, [grid]: {exc}") from None
    if not out:
        raise InputError(f"protocols file {str(path)!r} has no [[protocol]] entries and no [grid]")
    return _check(out)


@dataclass
class ProtocolSweep:
    """The surfaces of a schedule sweep, simulated in one ensemble run.

    Attributes
    ----------
    protocols : list of Protocol
    surfaces : dict
        protocol name -> :class:`DoseResponseSurface` (same grid, same parameter sets).
    table : DataFrame
        The ensemble table of the whole sweep (every task, failures included).
    n_failed : int
    """

    protocols: list
    surfaces: dict
    table: pd.DataFrame
    n_failed: int = 0

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.protocols]

    @property
    def n_samples(self) -> int:
        return next(iter(self.surfaces.values())).n_samples

    def __getitem__(self, name: str) -> DoseResponseSurface:
        try:
            return self.surfaces[name]
        except KeyError:
            raise QSPError(f"no protocol {name!r}; the sweep has {', '.join(self.names)}") from None

    def __len__(self) -> int:
        return len(self.protocols)

    def __repr__(self) -> str:
        s = next(iter(self.surfaces.values()))
        return (f"ProtocolSweep({len(self)} protocols x {s.d1.size} x {s.d2.size} dose pairs, {s.n_samples} "
                f"parameter set(s), {len(self.table)} simulations, {self.n_failed} failed)")

    def _repr_html_(self) -> str:
        from ..display import table_html

        s = next(iter(self.surfaces.values()))
        facts = (f"{len(self)} protocols, {s.d1.size} x {s.d2.size} dose pairs, {s.n_samples} parameter set(s), "
                 f"{len(self.table)} simulations in one run, {self.n_failed} failed")
        return table_html("ProtocolSweep", self.schedules(), facts)

    def schedules(self) -> pd.DataFrame:
        """One row per protocol: its name and the schedule fields of both treatments."""
        return pd.DataFrame([{"protocol": p.name, **p.schedule()} for p in self.protocols])

    def to_pandas(self) -> pd.DataFrame:
        """Tidy table of every surface: protocol, sample, i, j, d1, d2, effect and extra metrics."""
        return pd.concat([s.to_pandas().assign(protocol=n)[["protocol", *s.to_pandas().columns]]
                          for n, s in self.surfaces.items()], ignore_index=True)

    def to_csv(self, path) -> None:
        self.to_pandas().to_csv(path, index=False)

    def plot(self, axes=None, *, sample: int = 0, ncols: int = 5):
        """Small multiples of the effect heatmaps, one per protocol, on a shared colour scale; returns the Axes."""
        import matplotlib.pyplot as plt

        n = len(self)
        nrows = int(np.ceil(n / ncols))
        if axes is None:
            _, axes = plt.subplots(nrows, min(ncols, n), figsize=(2.6 * min(ncols, n), 2.3 * nrows), squeeze=False,
                                   sharex=True, sharey=True)
        flat = np.ravel(axes)
        for ax, (name, s) in zip(flat, self.surfaces.items()):
            ax.pcolormesh(s.d1, s.d2, s.effect[sample].T, cmap="viridis", vmin=0, vmax=1, shading="nearest")
            ax.set_title(name, fontsize=8)
        for ax in flat[n:]:
            ax.set_visible(False)
        return axes


def simulate_protocols(model, protocols, d1, d2, *, treatment1: Treatment | None = None,
                       treatment2: Treatment | None = None, **options) -> ProtocolSweep:
    """Simulate the dose-response surface of every protocol with one :func:`qsp.ensemble.run` call.

    Parameters
    ----------
    model : qsp.Model
    protocols
        A sweep, as :func:`as_protocols` takes it (``treatment1``/``treatment2``: the base for schedule changes).
    d1, d2 : array_like
        The shared dose grid (dose units of the treatments).
    **options
        As in :func:`qsp.synergy.simulate_surface` (response, samples, params, mono_points, rtol, backend, out...).

    Returns
    -------
    ProtocolSweep
    """
    protos = as_protocols(protocols, treatment1, treatment2)
    surfaces, res = simulate_surfaces(model, [(p.name, p.treatment1, p.treatment2) for p in protos], d1, d2,
                                      share=True, **options)
    return ProtocolSweep(protos, {p.name: s for p, s in zip(protos, surfaces)}, res.table, res.n_failed)
