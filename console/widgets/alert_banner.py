"""A banner on every screen while a critical alert is raised and not yet acknowledged.

A new critical alert must be impossible to miss (issue 5, requirement 3): besides the
notification and the bell, this line stays until every critical alert is acknowledged,
silenced or cleared.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.core.snapshot import Alert, AlertState, Severity
from console.widgets.wire_text import wire_text


def unacknowledged_critical(alerts: tuple[Alert, ...]) -> list[Alert]:
    """Critical alerts still raised, not silenced, newest first."""
    found = [a for a in alerts
             if a.severity == Severity.CRITICAL and a.state == AlertState.RAISED and a.silenced_until is None]
    return sorted(found, key=lambda a: -a.raised_at)


class AlertBanner(Static):
    """Shown only while there is an unacknowledged critical alert."""

    DEFAULT_CSS = """
    AlertBanner { height: 1; background: $error; color: $text; text-style: bold;
                  padding: 0 1; display: none; }
    AlertBanner.-active { display: block; }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)

    def show(self, alerts: tuple[Alert, ...]) -> None:
        critical = unacknowledged_critical(alerts)
        self.set_class(bool(critical), "-active")
        if critical:
            newest = critical[0]
            self.update(Text.assemble(
                f"▲ {len(critical)} CRITICAL  ",
                wire_text(newest.key, max_length=40), "  ",
                wire_text(newest.message, max_length=60),
                "   2: alerts, a: acknowledge",
                no_wrap=True, overflow="ellipsis",
            ), layout=False)  # one line; showing or hiding it is the class above
