"""Security: the security controls' latest indicators and the security-relevant events.

The content of this screen (the security profile's five controls, scoring) belongs to
issue 6; this version lists what the snapshot already carries: every channel under
``<site>/security/`` and the events that are not routine.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from console.core.snapshot import Snapshot
from console.pipeline import Frame
from console.screens.base import ConsoleScreen
from console.screens.events import EventTable
from console.widgets.units import with_unit
from console.widgets.wire_text import wire_text


def security_channels(snapshot: Snapshot) -> list[tuple[str, str, float, bool]]:
    """(site/control, indicator, value, stale) of every security channel, in key order."""
    channels = snapshot.channels
    found = []
    for index, key in enumerate(channels.keys):
        parts = key.split("/")
        if len(parts) == 4 and parts[1] == "security":
            found.append((f"{parts[0]}/{parts[2]}", parts[3], float(channels.latest[index]),
                          bool(channels.stale[index])))
    return sorted(found)


class SecurityScreen(ConsoleScreen):
    """Security indicators by control, and events of warning or critical severity."""

    DEFAULT_CSS = """
    SecurityScreen .title { height: 1; padding: 0 1; background: $panel; }
    SecurityScreen #security-channels { height: 1fr; }
    SecurityScreen #security-events { height: 1fr; }
    """

    def compose_body(self) -> ComposeResult:
        yield Static("Security controls", classes="title", id="controls-title", markup=False)
        yield DataTable(id="security-channels", cursor_type="row", zebra_stripes=True)
        yield Static("Security events (warning and critical)", classes="title", markup=False)
        yield EventTable(id="security-events")

    def on_mount(self) -> None:
        self.query_one("#security-channels", DataTable).add_columns("control", "indicator", "value", "")
        self._shown: list[tuple[str, str, float, bool]] = []

    def draw(self, frame: Frame) -> None:
        rows = security_channels(frame.snapshot)
        if rows != self._shown:
            table = self.query_one("#security-channels", DataTable)
            table.clear()
            for control, indicator, value, stale in rows:
                table.add_row(wire_text(control), wire_text(indicator), with_unit(indicator, value),
                              Text("STALE") if stale else "")
            self._shown = rows
        self.query_one("#controls-title", Static).update(f"Security controls · {len(rows)} indicators")
        notable = tuple(e for e in frame.snapshot.events if e.severity in ("warning", "critical"))
        self.query_one(EventTable).show(notable)
