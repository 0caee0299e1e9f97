"""Command palette entries (Ctrl-P): nouns first, "rack: go to s1/h1/r03/rk04", "alert: acknowledge all"."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from console.widgets.floor_map import Metric
from sensors.sanitize import sanitize_text

if TYPE_CHECKING:
    from console.app import RackwatchApp


class ConsoleCommands(Provider):
    """Views, themes, alerts, map metric, bell, replay; and every rack of the latest snapshot."""

    @property
    def console(self) -> RackwatchApp:
        return self.app  # type: ignore[return-value]

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.console
        commands: list[tuple[str, Callable[[], object], str]] = [
            ("view: overview", partial(app.switch_mode, "overview"), "the floor map"),
            ("view: alerts", partial(app.switch_mode, "alerts"), "alerts and incidents"),
            ("view: events", partial(app.switch_mode, "events"), "field events"),
            ("view: security", partial(app.switch_mode, "security"), "security controls"),
            ("view: help", app.action_help, "every key"),
            ("view: ingest counts", app.action_ingest, "received, rejected by reason, dropped [i]"),
            ("alert: acknowledge all", app.acknowledge_all, "acknowledge every raised alert"),
            ("bell: " + ("mute" if app.bell_on else "unmute"), app.action_toggle_bell, "terminal bell"),
        ]
        for name in app.theme_names:
            commands.append((f"theme: {name.removeprefix('rackwatch-')}", partial(app.use_theme, name),
                             "switch the look"))
        for metric in Metric:
            commands.append((f"map: colour by {metric.value.name}", partial(app.set_map_metric, metric),
                             metric.value.band_note))
        if app.controls is not None:
            commands.append(("replay: pause / resume", app.action_pause, "stop or restart the clock"))
        frame = app.frame
        if frame is not None:
            for rack in frame.snapshot.racks.racks:
                label = sanitize_text(rack, 80)
                go = partial(app.go_to_rack, rack)
                commands.append((f"rack: go to {label}", go, "drill into the rack"))
        return commands

    async def discover(self) -> Hits:
        for label, callback, help_text in self._commands():
            if not label.startswith("rack:"):
                yield DiscoveryHit(label, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, callback, help_text in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), callback, help=help_text)
