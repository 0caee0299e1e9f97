"""The evidence behind one indicator, in full: number, when, which topic, and why it has its status."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.core.security.model import IndicatorView
from console.widgets.timefmt import stamp
from console.widgets.wire_text import wire_text


def evidence_text(view: IndicatorView) -> Text:
    """The full evidence of one indicator, several lines, every wire-borne string literal."""
    indicator, evidence = view.indicator, view.evidence
    when = stamp(evidence.when) + " UTC" if evidence.when is not None else "never"
    text = Text(no_wrap=False, end="")
    text.append_text(wire_text(indicator.label, style="bold", max_length=80))
    text.append(f"  {view.status.value}\n")
    text.append("value   ")
    text.append_text(wire_text(evidence.value_text(indicator.unit)))
    text.append(f"   measured {when}\n")
    text.append("source  ")
    text.append_text(wire_text(evidence.source, max_length=120))
    text.append("  ·  reads ")
    text.append_text(wire_text(str(indicator.source), max_length=80))
    text.append("\nwhy     ")
    text.append_text(wire_text(view.reason, max_length=160))
    if indicator.description:
        text.append("\n")
        text.append_text(wire_text(indicator.description, style="italic", max_length=300))
    return text



class SecurityEvidence(Static):
    """The evidence of the highlighted indicator, in full (wraps; nothing is markup)."""

    DEFAULT_CSS = "SecurityEvidence { height: auto; max-height: 7; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def show(self, view: IndicatorView) -> None:
        self.update(evidence_text(view))
