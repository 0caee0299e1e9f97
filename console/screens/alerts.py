"""Alerts: every alert with its history, grouped incidents above, filter with ``/``."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from console.core.snapshot import Alert, Incident, Severity
from console.pipeline import Frame
from console.screens.base import ConsoleScreen
from console.screens.silence import SilenceScreen
from console.widgets.alert_table import AlertTable
from console.widgets.timefmt import clock
from console.widgets.wire_text import wire_text


def incident_lines(incidents: tuple[Incident, ...], limit: int = 4) -> Text:
    """Open incidents, worst and newest first, one per line."""
    if not incidents:
        return Text("no open incidents", style="dim")
    ordered = sorted(incidents, key=lambda i: (i.severity != Severity.CRITICAL, -i.started_at))
    lines = []
    for incident in ordered[:limit]:
        lines.append(Text.assemble(
            ("CRIT " if incident.severity == Severity.CRITICAL else "warn ", "bold"),
            f"{clock(incident.started_at)}  ",
            wire_text(incident.title, max_length=70),
            f"  ({len(incident.alert_ids)} alerts)",
            no_wrap=True, overflow="ellipsis",
        ))
    if len(ordered) > limit:
        lines.append(Text(f"… and {len(ordered) - limit} more", style="dim"))
    return Text("\n").join(lines)


class AlertsScreen(ConsoleScreen):
    """Sortable, filterable alerts; acknowledge with ``a``, silence with ``s``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("c", "toggle_cleared", "History"),
        Binding("A", "acknowledge_all", "Ack all"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    DEFAULT_CSS = """
    AlertsScreen #incidents { height: auto; max-height: 5; padding: 0 1; border-bottom: solid $panel;
                              text-wrap: nowrap; text-overflow: ellipsis; }
    AlertsScreen #filter { display: none; }
    AlertsScreen #filter.-active { display: block; }
    AlertsScreen #alerts-hint { height: 1; padding: 0 1; color: $text-muted; }
    """

    def compose_body(self) -> ComposeResult:
        yield Static("", id="incidents", markup=False)
        yield Input(placeholder="filter: place, rule, text… (Enter to apply, Esc to clear)", id="filter")
        yield AlertTable(id="alert-table")
        yield Static("", id="alerts-hint", markup=False)

    def on_mount(self) -> None:
        self.table.focus()

    @property
    def table(self) -> AlertTable:
        return self.query_one(AlertTable)

    def draw(self, frame: Frame) -> None:
        self.query_one("#incidents", Static).update(incident_lines(frame.snapshot.incidents))
        self.table.show(frame.snapshot.alerts + frame.cleared)
        self._draw_hint()

    def _draw_hint(self) -> None:
        table = self.table
        shown = len(table.shown)
        parts = [f"{shown} alert{'s' if shown != 1 else ''}", f" · order: {table.order.value} [o]",
                 f" · history {'shown' if table.show_cleared else 'hidden'} [c]"]
        hint = Text.assemble(*parts)
        if table.filter_text:
            hint.append(" · filter: ")
            hint.append_text(wire_text(table.filter_text))
        self.query_one("#alerts-hint", Static).update(hint)

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("-active")
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.remove_class("-active")
        self.table.filter_text = ""
        self.table.focus()
        self._draw_hint()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.filter_text = event.value
        self._draw_hint()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_toggle_cleared(self) -> None:
        self.table.show_cleared = not self.table.show_cleared
        self._draw_hint()

    def action_acknowledge_all(self) -> None:
        self.app.acknowledge_all()

    @on(AlertTable.Acknowledged)
    def _acknowledge(self, message: AlertTable.Acknowledged) -> None:
        self.app.acknowledge(message.alert_id)

    @on(AlertTable.SilenceRequested)
    def _silence(self, message: AlertTable.SilenceRequested) -> None:
        alert: Alert = message.alert

        def chosen(answer: tuple[str, float] | None) -> None:
            if answer is not None:
                self.app.silence(*answer)

        self.app.push_screen(SilenceScreen(alert.key), chosen)
