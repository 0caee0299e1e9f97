"""The highlighted security event in full: a timeline cell at 80 columns cuts the detail."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.core.security.model import TimelineEntry
from console.widgets.timefmt import stamp
from console.widgets.wire_text import wire_text


def entry_text(entry: TimelineEntry | None) -> Text:
    """One event in full, for the line under the timeline."""
    if entry is None:
        return Text("no security events yet", style="italic")
    text = Text(no_wrap=False, end="")
    text.append(stamp(entry.ts) + " UTC  ")
    text.append_text(wire_text(entry.severity, style="bold"))
    text.append("  ")
    text.append_text(wire_text(entry.kind))
    text.append(" at ")
    text.append_text(wire_text(f"{entry.site}/{entry.where}" if entry.where else entry.site))
    text.append(": ")
    text.append_text(wire_text(entry.detail or "(no detail)"))
    return text


class SecurityEventDetail(Static):
    """The highlighted event's full text (wraps over up to three lines)."""

    DEFAULT_CSS = "SecurityEventDetail { height: auto; max-height: 3; padding: 0 1; background: $panel; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def show(self, entry: TimelineEntry | None) -> None:
        self.update(entry_text(entry))
