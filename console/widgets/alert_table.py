"""The alert list: sortable, filterable, one row per alert; posts what the operator asks for.

Alerts are few (tens, not thousands), so a ``DataTable`` is the right widget here. Only the
app touches the alert book: this table posts ``Acknowledged`` / ``SilenceRequested`` upwards.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable

from console.core.snapshot import Alert, AlertState, Severity
from console.widgets.timefmt import clock
from console.widgets.wire_text import wire_text


class AlertOrder(Enum):
    """Orders ``o`` cycles through."""

    SEVERITY = "severity"
    NEWEST = "newest"
    PLACE = "place"

    def next(self) -> AlertOrder:
        members = list(AlertOrder)
        return members[(members.index(self) + 1) % len(members)]


_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1}
_STATE_RANK = {AlertState.RAISED: 0, AlertState.ACKNOWLEDGED: 1, AlertState.CLEARED: 2}


def order_alerts(alerts: tuple[Alert, ...], order: AlertOrder) -> list[Alert]:
    """Alerts in the chosen order; active before acknowledged before cleared within a tie."""
    if order is AlertOrder.NEWEST:
        return sorted(alerts, key=lambda a: (-a.raised_at, a.id))
    if order is AlertOrder.PLACE:
        return sorted(alerts, key=lambda a: (a.key, a.rule))
    return sorted(alerts, key=lambda a: (_STATE_RANK.get(a.state, 3), _SEVERITY_RANK.get(a.severity, 2),
                                          -a.raised_at, a.id))


def matches(alert: Alert, text: str) -> bool:
    """Case-insensitive substring filter over place, rule, severity, state and message."""
    if not text:
        return True
    needle = text.lower()
    haystack = " ".join((alert.key, alert.rule, alert.severity, alert.state, alert.message,
                         alert.incident or ""))
    return needle in haystack.lower()


class AlertTable(DataTable):
    """Alerts of the latest snapshot, filtered and sorted."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Ack"),
        Binding("s", "silence", "Silence"),
        Binding("o", "cycle_order", "Order"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "alert-table--critical", "alert-table--warning", "alert-table--inactive"
    }
    DEFAULT_CSS = """
    AlertTable { height: 1fr; }
    AlertTable > .alert-table--critical { color: $error; text-style: bold; }
    AlertTable > .alert-table--warning { color: $warning; }
    AlertTable > .alert-table--inactive { color: $text-muted; }
    """

    order: reactive[AlertOrder] = reactive(AlertOrder.SEVERITY)
    """How rows are sorted."""
    filter_text: reactive[str] = reactive("")
    """Only alerts containing this text are listed."""
    show_cleared: reactive[bool] = reactive(True)
    """Whether cleared alerts (the history) are listed."""

    class Acknowledged(Message):
        """The operator acknowledged an alert."""

        def __init__(self, alert_id: str) -> None:
            super().__init__()
            self.alert_id = alert_id

    class SilenceRequested(Message):
        """The operator wants an alert's channel silenced (the screen asks for how long)."""

        def __init__(self, alert: Alert) -> None:
            super().__init__()
            self.alert = alert

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._alerts: tuple[Alert, ...] = ()
        self._shown: list[Alert] = []

    def on_mount(self) -> None:
        self.add_columns("sev", "state", "raised", "where", "rule", "value", "message")

    def show(self, alerts: tuple[Alert, ...]) -> None:
        """List a snapshot's alerts (a no-op when nothing changed)."""
        if alerts != self._alerts:
            self._alerts = alerts
            self._rebuild()

    @property
    def shown(self) -> list[Alert]:
        """Alerts listed now, top to bottom."""
        return list(self._shown)

    @property
    def current(self) -> Alert | None:
        """The alert under the cursor."""
        if not self._shown or not 0 <= self.cursor_row < len(self._shown):
            return None
        return self._shown[self.cursor_row]

    def watch_order(self) -> None:
        self._rebuild()

    def watch_filter_text(self) -> None:
        self._rebuild()

    def watch_show_cleared(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        if not self.is_mounted:
            return
        current = self.current
        chosen = [a for a in self._alerts
                  if matches(a, self.filter_text) and (self.show_cleared or a.state != AlertState.CLEARED)]
        self._shown = order_alerts(tuple(chosen), self.order)
        self.clear()
        for alert in self._shown:
            self.add_row(*self._cells(alert), key=alert.id)
        if current is not None:
            for row, alert in enumerate(self._shown):
                if alert.id == current.id:
                    self.move_cursor(row=row, animate=False)
                    break

    def _cells(self, alert: Alert) -> tuple[Text, ...]:
        critical = alert.severity == Severity.CRITICAL
        active = alert.state == AlertState.RAISED
        look = "critical" if critical else "warning"
        style = self.get_component_rich_style(f"alert-table--{look if active else 'inactive'}")
        severity = Text("CRIT" if critical else "warn", style=style)
        state = alert.state.value if alert.silenced_until is None else f"{alert.state.value} (silenced)"
        value = "N/A" if not math.isfinite(alert.value) else f"{alert.value:.1f}"
        return (severity, Text(state), Text(clock(alert.raised_at)), wire_text(alert.key, max_length=48),
                wire_text(alert.rule, max_length=24), Text(value, justify="right"),
                wire_text(alert.message, max_length=80))

    def action_acknowledge(self) -> None:
        alert = self.current
        if alert is not None and alert.state == AlertState.RAISED:
            self.post_message(self.Acknowledged(alert.id))

    def action_silence(self) -> None:
        alert = self.current
        if alert is not None:
            self.post_message(self.SilenceRequested(alert))

    def action_cycle_order(self) -> None:
        self.order = self.order.next()
        self.notify(f"alerts ordered by {self.order.value}", timeout=2)
