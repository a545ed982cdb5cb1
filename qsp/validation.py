"""libsbml consistency and units checks, reported as a table."""

from __future__ import annotations

from dataclasses import dataclass, field

import libsbml

from . import sbml as _sbml

__all__ = ["ValidationReport", "validate_document"]

_SEVERITY = {
    libsbml.LIBSBML_SEV_INFO: "info",
    libsbml.LIBSBML_SEV_WARNING: "warning",
    libsbml.LIBSBML_SEV_ERROR: "error",
    libsbml.LIBSBML_SEV_FATAL: "fatal",
}

#: Issues listed in a report's HTML form.
HTML_ISSUES = 50


@dataclass
class ValidationReport:
    """Outcome of :meth:`Model.validate`.

    ``issues`` is a list of dicts with keys severity ('error', 'warning', 'info'),
    category, code, line and message. ``ok`` is True when there is no error.
    """

    issues: list[dict] = field(default_factory=list)

    @property
    def errors(self) -> list[dict]:
        """Issues of severity error or fatal."""
        return [i for i in self.issues if i["severity"] in ("error", "fatal")]

    @property
    def warnings(self) -> list[dict]:
        """Issues of severity warning."""
        return [i for i in self.issues if i["severity"] == "warning"]

    @property
    def ok(self) -> bool:
        """True when no error was found (warnings allowed)."""
        return not self.errors

    def to_pandas(self):
        """The issues as a DataFrame (columns severity, category, code, line, message)."""
        import pandas as pd

        return pd.DataFrame(self.issues, columns=["severity", "category", "code", "line", "message"])

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {"ok": self.ok, "errors": len(self.errors), "warnings": len(self.warnings), "issues": self.issues}

    def _repr_html_(self) -> str:
        """The summary line, then the first :data:`HTML_ISSUES` issues as a table."""
        verdict = "ok" if self.ok else "not ok"
        head = (f"<p><b>ValidationReport</b>: {verdict}, {len(self.errors)} error(s), "
                f"{len(self.warnings)} warning(s), {len(self.issues)} issue(s) in all</p>")
        if not self.issues:
            return head
        more = len(self.issues) - HTML_ISSUES
        table = self.to_pandas().head(HTML_ISSUES).to_html(index=False)
        return head + table + (f"<p>... and {more} more (see .issues)</p>" if more > 0 else "")

    def __str__(self) -> str:
        lines = [f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"]
        for i in self.issues:
            lines.append(f"{i['severity']}: [{i['category']}] line {i['line']}: {i['message']}")
        return "\n".join(lines)


def validate_document(text: str, *, units: bool = True, location: str | None = None) -> ValidationReport:
    """Check SBML text with libsbml's consistency checks (units checks when ``units``)."""
    doc = _sbml.parse_sbml(text, location=location)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, units)
    doc.checkConsistency()
    issues = []
    for k in range(doc.getNumErrors()):
        e = doc.getError(k)
        issues.append({
            "severity": _SEVERITY.get(e.getSeverity(), "info"),
            "category": e.getCategoryAsString(),
            "code": e.getErrorId(),
            "line": e.getLine(),
            "message": " ".join(e.getMessage().split()),
        })
    return ValidationReport(issues)
