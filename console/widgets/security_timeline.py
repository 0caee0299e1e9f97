"""The security event timeline: newest first, each event with the control it bears on.

Every string here came from the field (kind, where, detail, site): sanitised by the core and
drawn as literal ``Text`` (../shared/mqtt.md section 4d). The highlighted event is posted so
``SecurityEventDetail`` can show it in full, since a table cell at 80 columns cuts it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from console.core.security.model import TimelineEntry
from console.widgets.timefmt import clock
from console.widgets.wire_text import wire_text

SEVERITY_LOOK = {"critical": "security-timeline--critical", "warning": "security-timeline--warning"}
SEVERITY_WORD = {"critical": "CRIT", "warning": "WARN", "info": "info"}


class SecurityTimeline(DataTable):
    """Security events; ``show(entries, control_id)`` limits them to one control when given."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"security-timeline--critical", "security-timeline--warning"}
    DEFAULT_CSS = """
    SecurityTimeline { height: 1fr; }
    SecurityTimeline > .security-timeline--critical { color: $error; text-style: bold; }
    SecurityTimeline > .security-timeline--warning { color: $warning; }
    """

    class Highlighted(Message):
        """The event under the cursor changed."""

        def __init__(self, entry: TimelineEntry | None) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._entries: tuple[TimelineEntry, ...] = ()
        self._first = True

    def on_mount(self) -> None:
        self.add_column("time", width=8)
        self.add_column("sev", width=4)
        self.add_column("kind", width=19)
        self.add_column("control", width=12)
        self.add_column("where", width=14)
        self.add_column("detail")

    def show(self, entries: tuple[TimelineEntry, ...], control_id: str | None = None) -> None:
        if control_id is not None:
            entries = tuple(entry for entry in entries if entry.control_id == control_id)
        if entries == self._entries and not self._first:
            return
        self._first = False
        cursor = self.cursor_row
        self.clear()
        for entry in entries:
            self.add_row(*self.cells(entry))
        self._entries = entries
        if entries:
            self.move_cursor(row=min(cursor, len(entries) - 1))
        self.post_message(self.Highlighted(entries[self.cursor_row] if entries else None))

    def cells(self, entry: TimelineEntry) -> tuple[Text, ...]:
        look = SEVERITY_LOOK.get(entry.severity)
        style = self.get_component_rich_style(look, partial=True) if look else ""
        control = (entry.control_id or "-") + (" !" if entry.alert else "")
        return (
            Text(clock(entry.ts)),
            wire_text(SEVERITY_WORD.get(entry.severity, entry.severity), style=style, max_length=4),
            wire_text(entry.kind, max_length=40),
            wire_text(control, max_length=40),
            wire_text(entry.where, max_length=80),
            wire_text(entry.detail, max_length=200),
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self._entries):
            self.post_message(self.Highlighted(self._entries[event.cursor_row]))
