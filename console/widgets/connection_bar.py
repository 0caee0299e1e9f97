"""The line at the top of every screen: how the source is doing and what the pipeline sees.

Always visible (issue 5, requirement 2): connected / reconnecting / offline, or the replay
clock with its speed and pause state; messages per second, rejected and dropped counts, and
how many sources are online or stale.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from console.core.snapshot import IngestStats
from console.pipeline import SourceStatus
from console.widgets.timefmt import stamp
from console.widgets.wire_text import wire_text

_STATE_LOOK = {
    "connected": "connection-bar--good",
    "playing": "connection-bar--good",
    "running": "connection-bar--good",
    "connecting": "connection-bar--warn",
    "reconnecting": "connection-bar--bad",
    "auth_failed": "connection-bar--bad",
    "offline": "connection-bar--bad",
    "paused": "connection-bar--warn",
    "ended": "connection-bar--warn",
    "failed": "connection-bar--bad",
}


def speed_text(speed: float | None) -> str:
    """``10x``, ``0.5x``."""
    if speed is None:
        return ""
    return f"{speed:g}x"


class ConnectionBar(Static):
    """Source state, stream clock and ingest counters on one line."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "connection-bar--good", "connection-bar--warn", "connection-bar--bad", "connection-bar--muted"
    }
    DEFAULT_CSS = """
    ConnectionBar { dock: top; height: 1; background: $panel; color: $foreground; padding: 0 1; }
    ConnectionBar > .connection-bar--good { color: $success; text-style: bold; }
    ConnectionBar > .connection-bar--warn { color: $warning; text-style: bold; }
    ConnectionBar > .connection-bar--bad { color: $error; text-style: bold; }
    ConnectionBar > .connection-bar--muted { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__("connecting…", markup=False)

    def show(self, status: SourceStatus, stats: IngestStats, stream_time: float, bell: bool) -> None:
        """Redraw from the latest frame."""
        self.update(self.line(status, stats, stream_time, bell), layout=False)  # one line, always

    def line(self, status: SourceStatus, stats: IngestStats, stream_time: float, bell: bool) -> Text:
        muted = self.get_component_rich_style("connection-bar--muted")
        state_style = self.get_component_rich_style(_STATE_LOOK.get(status.state, "connection-bar--warn"))
        if status.mode == "live":
            head = Text.assemble(("● ", state_style), (status.state.replace("_", " "), state_style))
        else:
            head = Text.assemble(
                (f"{status.mode} {speed_text(status.speed)} ", ""), (status.state, state_style)
            )
        rejected = sum(stats.rejected.values())
        dropped = max(stats.dropped, status.dropped)
        parts = [
            head,
            Text(f"  {stamp(stream_time)}"),
            Text(f"  {stats.messages_per_second:,.0f} msg/s", style=muted),
            Text(f"  rej {rejected:,}", style=state_style if rejected else muted),
            Text(f"  drop {dropped:,}", style=state_style if dropped else muted),
            Text(f"  src {stats.sources_online}↑ {stats.sources_stale} stale"
                 f"{f' {stats.sources_offline}↓' if stats.sources_offline else ''}", style=muted),
        ]
        if not bell:
            parts.append(Text("  bell off", style=muted))
        if status.detail:
            parts.append(Text("  "))
            parts.append(wire_text(status.detail, style=muted, max_length=60))
        return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")
