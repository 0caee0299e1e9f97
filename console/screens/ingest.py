"""Ingest counts: what the pipeline received, and every message it did not use, by reason.

The connection bar has room for totals only ("rej", "drop"); during an incident the operator
needs to know *why* messages are refused (a publisher sending NaN, a skewed clock, a queue
overflowing), so this view breaks the totals down. It redraws from the app's latest frame.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.core.snapshot import IngestStats
from console.pipeline import Frame, SourceStatus

REFRESH_S = 0.5

REASON_NOTES = {
    "oversized": "payload above the size limit, refused before parsing",
    "bad_utf8": "payload is not UTF-8",
    "not_json": "payload is not JSON",
    "not_object": "payload is JSON but not an object",
    "unknown_topic": "topic outside the wire contract",
    "missing_field": "a required field is missing",
    "bad_type": "a field has the wrong type",
    "non_finite": "NaN or infinity",
    "bad_value": "a value out of range or unknown",
    "too_large": "too many metrics, GPUs or characters",
    "clock_skew": "sample time too far from receive time: not stored",
}


def ingest_breakdown(stats: IngestStats, status: SourceStatus | None = None) -> Text:
    """Received, used and every not-used count by reason, as plain text lines."""
    dropped = max(stats.dropped, status.dropped if status is not None else 0)
    rejected = sum(stats.rejected.values())
    text = Text()
    text.append("Messages\n", style="bold underline")
    for label, count in (("received", stats.received), ("decoded", stats.decoded),
                         ("rejected", rejected), ("duplicates dropped", stats.duplicates),
                         ("dropped (queue full)", dropped)):
        text.append(f"  {label:<22}{count:>12,}\n")
    text.append("\nRejected by reason\n", style="bold underline")
    if not stats.rejected:
        text.append("  none\n")
    for reason, count in sorted(stats.rejected.items(), key=lambda item: (-item[1], item[0])):
        text.append(f"  {reason:<22}{count:>12,}  {REASON_NOTES.get(reason, '')}\n")
    return text


class IngestScreen(ModalScreen[None]):
    """The breakdown of the connection bar's counters; Esc, q or i closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,i", "close", "Close")]
    DEFAULT_CSS = """
    IngestScreen { align: center middle; }
    IngestScreen > VerticalScroll { width: 96; max-width: 100%; height: 80%; border: thick $primary;
                                    background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("waiting for the first frame…", id="ingest-counts", markup=False)

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(REFRESH_S, self.redraw)

    def redraw(self) -> None:
        frame: Frame | None = getattr(self.app, "frame", None)
        if frame is not None:
            self.query_one("#ingest-counts", Static).update(
                ingest_breakdown(frame.snapshot.stats, frame.status)
            )

    def action_close(self) -> None:
        self.dismiss(None)
