"""Events log: discrete field events (door forced, leak, maintenance), newest first."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from console.core.snapshot import EventView
from console.pipeline import Frame
from console.screens.base import ConsoleScreen
from console.widgets.timefmt import stamp
from console.widgets.wire_text import wire_text

SEVERITY_LOOK = {"critical": "bold", "warning": "", "info": "dim"}


def event_cells(event: EventView) -> tuple[Text, ...]:
    """One table row; every string came from the wire and is drawn as literal text."""
    return (Text(stamp(event.ts)), wire_text(event.severity, style=SEVERITY_LOOK.get(event.severity, "")),
            wire_text(event.kind, max_length=32), wire_text(event.site, max_length=16),
            wire_text(event.where, max_length=40), wire_text(event.detail, max_length=120))


class EventTable(DataTable):
    """Events, newest first; rebuilt only when the list changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._events: tuple[EventView, ...] = ()

    def on_mount(self) -> None:
        self.add_columns("time (UTC)", "severity", "kind", "site", "where", "detail")

    def show(self, events: tuple[EventView, ...]) -> None:
        if events == self._events:
            return
        self._events = events
        self.clear()
        for event in sorted(events, key=lambda e: -e.ts):
            self.add_row(*event_cells(event))


class EventsScreen(ConsoleScreen):
    """Every event the sources reported."""

    DEFAULT_CSS = """
    EventsScreen #events-title { height: 1; padding: 0 1; background: $panel; }
    """

    def compose_body(self) -> ComposeResult:
        yield Static("Events", id="events-title", markup=False)
        yield EventTable(id="event-table")

    def on_mount(self) -> None:
        self.query_one(EventTable).focus()

    def draw(self, frame: Frame) -> None:
        events = frame.snapshot.events
        self.query_one("#events-title", Static).update(f"Events · {len(events)} (newest first)")
        self.query_one(EventTable).show(events)
