"""Rich display of models and results in notebooks (``_repr_html_``)."""

from __future__ import annotations

__all__ = ["model_html"]


def model_html(model) -> str | None:
    """HTML summary of a :class:`qsp.Model` (None: plain repr)."""
    return None
