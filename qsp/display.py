"""Rich display in notebooks (``_repr_html_``): a model's summary, and the title-and-table form that
analysis results use (a line of key facts and the head of the main table)."""

from __future__ import annotations

import html
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas

__all__ = ["model_html", "table_html", "TABLE_ROWS", "MAX_ROWS"]

#: Rows of the species and parameter tables shown in a model's summary.
TABLE_ROWS = 8


def _counts(model) -> list[tuple[str, str]]:
    m = model._doc.getModel()
    n_boundary = sum(1 for s in m.getListOfSpecies() if s.getBoundaryCondition())
    species = f"{m.getNumSpecies()}" + (f" ({n_boundary} boundary)" if n_boundary else "")
    return [("species", species), ("parameters", str(m.getNumParameters())),
            ("compartments", str(m.getNumCompartments())), ("reactions", str(m.getNumReactions())),
            ("events", str(m.getNumEvents())), ("rules", str(m.getNumRules()))]


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th style='text-align:left'>{escape(k)}</th><td style='text-align:left'>{v}</td></tr>"
                   for k, v in pairs)


def _table(title: str, df) -> str:
    more = len(df) - TABLE_ROWS
    note = f" (first {TABLE_ROWS} of {len(df)})" if more > 0 else f" ({len(df)})"
    body = df.head(TABLE_ROWS).to_html() if len(df) else "<p>(none)</p>"
    return f"<p><b>{escape(title)}</b>{note}</p>{body}"


def model_html(model) -> str:
    """HTML summary of a :class:`qsp.Model`.

    Name and title, time unit, component counts, dose targets, the drugs and
    regimens of its metadata, and the first rows of the species and parameter tables.
    """
    meta = model.metadata
    facts = [("time unit", escape(model.time_unit or "(not declared)"))]
    facts += _counts(model)
    targets = model.dose_targets
    facts.append(("dose targets", escape(", ".join(targets)) if targets else "(none)"))
    for d in meta.get("drugs", []):
        mw = d.get("molecular_weight")
        details = [str(x) for x in (d.get("unit"), d.get("route")) if x]
        if mw:
            details.append(f"MW {mw:g} g/mol")
        text = f"{escape(str(d.get('name', '')))} &rarr; <code>{escape(str(d.get('target', '')))}</code>"
        facts.append(("drug", text + (f" ({escape(', '.join(details))})" if details else "")))
    if meta.get("body_weight"):
        facts.append(("body weight", escape(f"{meta['body_weight']:g} kg")))
    default = meta.get("default_regimen")
    for name, reg in meta.get("regimens", {}).items():
        mark = " (default)" if name == default else ""
        desc = reg.get("description", "")
        facts.append(("regimen", f"<code>{escape(name)}</code>{mark}" + (f": {escape(desc)}" if desc else "")))
    title = meta.get("title")
    parts = [f"<div class='qsp-model'><p><b>Model</b> <code>{escape(model.name)}</code>"
             + (f": {escape(title)}" if title else "") + "</p>",
             f"<table>{_rows(facts)}</table>",
             _table("species", model.species), _table("parameters", model.parameters), "</div>"]
    return "".join(parts)


#: Rows of the main table shown in a notebook.
MAX_ROWS = 20


def table_html(title: str, table: "pandas.DataFrame | None", facts: str = "", max_rows: int = MAX_ROWS) -> str:
    """``<p><b>title</b> facts</p>`` and the first ``max_rows`` rows of ``table`` as an HTML table."""
    head = f"<p><b>{html.escape(title, quote=False)}</b>{': ' + html.escape(facts, quote=False) if facts else ''}</p>"
    if table is None:
        return head
    shown = table.head(max_rows)
    more = len(table) - len(shown)
    tail = f"<p>... {more} more rows (to_pandas() for all {len(table)})</p>" if more > 0 else ""
    return head + shown.to_html(max_cols=30, float_format=lambda v: f"{v:.6g}") + tail
