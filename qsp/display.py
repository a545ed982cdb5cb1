"""Rich display of models in notebooks (``_repr_html_``): a summary, not the whole model."""

from __future__ import annotations

from html import escape

__all__ = ["model_html", "TABLE_ROWS"]

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
