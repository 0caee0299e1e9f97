"""The rackwatch console: a Textual app drawing frames of one pipeline.

Attributes down, messages up: the app owns the pipeline (and so the engine and its alert
book); screens and widgets post what the operator wants and the app does it between batches.
Build with ``RackwatchApp(settings, pipeline, controls=...)``; the CLI commands do that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from console.core.snapshot import Alert, Severity
from console.palette import ConsoleCommands
from console.pipeline import Frame, Pipeline
from console.screens.alerts import AlertsScreen
from console.screens.base import ConsoleScreen
from console.screens.drilldown import DrilldownScreen
from console.screens.events import EventsScreen
from console.screens.help import HelpScreen
from console.screens.ingest import IngestScreen
from console.screens.overview import OverviewScreen
from console.screens.security import SecurityControlScreen, SecurityScreen
from console.settings import Settings
from console.widgets.alert_table import AlertTable
from console.widgets.floor_map import FloorMap, Metric
from console.widgets.security_controls import SecurityControlsTable
from sensors.sanitize import sanitize_text
from themes import THEMES, theme_name, variable_defaults


class PlaybackControls(Protocol):
    """The clock of a replay or of the demo: what space, +/- and the jump keys drive."""

    paused: bool
    speed: float

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def faster(self) -> None: ...

    def slower(self) -> None: ...

    def seek(self, seconds: float) -> None: ...


class FrameReady(Message):
    """A new frame to draw. A queued, not yet drawn frame is replaced by a newer one."""

    def __init__(self, frame: Frame) -> None:
        super().__init__()
        self.frame = frame

    def can_replace(self, message: Message) -> bool:
        if isinstance(message, FrameReady):
            # Drop the older drawing but keep its alert transitions: every new critical rings.
            older = message.frame.transitions
            if older:
                self.frame = Frame(self.frame.snapshot, self.frame.status, self.frame.stream_time,
                                   older + self.frame.transitions)
            return True
        return False


class RackwatchApp(App[int]):
    """Overview, drill-down, alerts, events, security and help over one pipeline."""

    TITLE = "rackwatch"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    MODES: ClassVar[dict[str, Any]] = {
        "overview": OverviewScreen,
        "alerts": AlertsScreen,
        "events": EventsScreen,
        "security": SecurityScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("1", "switch_mode('overview')", "Overview", show=False),
        Binding("2", "switch_mode('alerts')", "Alerts"),
        Binding("3", "switch_mode('events')", "Events", show=False),
        Binding("4", "switch_mode('security')", "Security", show=False),
        Binding("t", "next_theme", "Theme", show=False),
        Binding("b", "toggle_bell", "Bell on/off", show=False),
        Binding("space", "pause", "Pause/resume"),
        Binding("plus,equals_sign", "faster", "Faster (replay, demo)", show=False),
        Binding("minus", "slower", "Slower (replay, demo)", show=False),
        Binding("left", "arrow_jump(-1)", "Jump back (replay)", show=False, priority=True),
        Binding("right", "arrow_jump(1)", "Jump forward (replay)", show=False, priority=True),
        Binding("left_square_bracket", "jump(-1)", "Jump back (replay)", show=False),
        Binding("right_square_bracket", "jump(1)", "Jump forward (replay, demo)", show=False),
    ]

    def __init__(self, settings: Settings, pipeline: Pipeline, controls: PlaybackControls | None = None,
                 no_color: bool = False) -> None:
        super().__init__()
        self.settings = settings
        self.pipeline = pipeline
        self.controls = controls
        self.frame: Frame | None = None
        self.bell_on = settings.bell
        self.history_keys: tuple[str, ...] = ()
        self.critical_raised = 0
        """Critical alerts raised since start (each rang the bell unless muted)."""
        self.cleared: dict[str, Alert] = {}
        """Recently cleared alerts by id, newest first: the history the Alerts screen can show."""
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme_names = list(THEMES)
        self.theme = theme_name(settings.theme, no_color or self.no_color)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return variable_defaults()

    def on_mount(self) -> None:
        self.switch_mode("overview")
        self._run_pipeline()

    @work(exclusive=True, group="ingest", exit_on_error=False)
    async def _run_pipeline(self) -> None:
        await self.pipeline.run(lambda frame: self.post_message(FrameReady(frame)))

    @on(FrameReady)
    def _draw(self, message: FrameReady) -> None:
        frame = message.frame
        if self.frame is None or frame.cleared is not self.frame.cleared:
            self.cleared = {alert.id: alert for alert in frame.cleared}
        self.frame = frame
        self._announce(frame)
        screen = self.screen
        if isinstance(screen, ConsoleScreen):
            screen.show_frame(frame)

    def _announce(self, frame: Frame) -> None:
        """A new critical alert: a notification that stays, and the bell unless muted."""
        raised = [t for t in frame.transitions if t.state == "raised" and t.severity == Severity.CRITICAL]
        if not raised:
            return
        self.critical_raised += len(raised)
        first = raised[0]
        more = f" (+{len(raised) - 1} more)" if len(raised) > 1 else ""
        self.clear_notifications()  # one toast, the newest: the banner keeps the count
        self.notify(f"{sanitize_text(first.key, 80)}: {sanitize_text(first.message, 120)}{more}",
                    title="CRITICAL alert", severity="error", timeout=15, markup=False)
        if self.bell_on:
            self.bell()

    def set_history_keys(self, keys: tuple[str, ...]) -> None:
        """Ask the pipeline for the history of these channels (sparklines of the drill-down)."""
        self.history_keys = tuple(keys)
        self.pipeline.history_keys = self.history_keys

    def set_drilled_rack(self, path: tuple[str, ...] | None) -> None:
        """The drill-down's place: at a rack or below it, the pipeline focuses on that rack (campus
        mode fetches its raw telemetry); above it, or None, the focus is dropped."""
        self.pipeline.focus = "/".join(path[:4]) if path is not None and len(path) >= 4 else None

    def open_drilldown(self, path: tuple[str, ...]) -> None:
        self.push_screen(DrilldownScreen(path))

    def go_to_rack(self, rack: str) -> None:
        """Overview with the cursor on ``rack``, then drill into it."""
        self.switch_mode("overview")
        floor_map = self.screen.query_one(FloorMap) if isinstance(self.screen, OverviewScreen) else None
        if floor_map is not None:
            floor_map.go_to(rack)
        self.open_drilldown(tuple(rack.split("/")))

    def set_map_metric(self, metric: Metric) -> None:
        self.switch_mode("overview")
        if isinstance(self.screen, OverviewScreen):
            self.screen.set_metric(metric)

    def _engine(self, work: Callable[[Any], Any], done: str) -> None:
        async def call() -> None:
            await self.pipeline.engine_call(work)
            await self.pipeline.deliver_frame(lambda frame: self.post_message(FrameReady(frame)))
            self.notify(done, timeout=3, markup=False)

        self.run_worker(call(), group="alert-book")

    def acknowledge(self, ident: str) -> None:
        self._engine(lambda engine: engine.alerts.acknowledge(ident),
                     f"acknowledged {sanitize_text(ident, 80)}")

    def acknowledge_all(self) -> None:
        frame = self.frame
        if frame is None:
            return
        ids = [a.id for a in frame.snapshot.alerts if a.state == "raised"]

        def acknowledge_every(engine: Any) -> None:
            for ident in ids:
                engine.alerts.acknowledge(ident)

        self._engine(acknowledge_every, f"acknowledged {len(ids)} alert{'s' if len(ids) != 1 else ''}")

    def silence(self, pattern: str, seconds: float) -> None:
        from console.widgets.timefmt import duration

        self._engine(lambda engine: engine.alerts.silence(pattern, seconds),
                     f"silenced {sanitize_text(pattern, 80)} for {duration(seconds)}")

    def use_theme(self, name: str) -> None:
        self.theme = name

    def action_next_theme(self) -> None:
        names = self.theme_names
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.notify(f"theme {self.theme.removeprefix('rackwatch-')}", timeout=2)

    def action_toggle_bell(self) -> None:
        self.bell_on = not self.bell_on
        self.notify(f"bell {'on' if self.bell_on else 'off'}", timeout=2)
        if self.frame is not None and isinstance(self.screen, ConsoleScreen):
            self.screen.show_frame(self.frame)

    def action_ingest(self) -> None:
        """Received, rejected by reason, duplicates, dropped: the connection bar's totals broken down."""
        if not isinstance(self.screen, IngestScreen):
            self.push_screen(IngestScreen())

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[BindingType]]]:
        clock_actions = ("pause", "faster", "slower", "jump", "arrow_jump")
        app_keys = [b for b in self.BINDINGS if isinstance(b, Binding)
                    and (self.controls is not None or not b.action.startswith(clock_actions))]
        return [
            ("Everywhere", [*app_keys, *ConsoleScreen.BINDINGS,
                            Binding("ctrl+p", "command_palette", "Command palette")]),
            ("Overview (floor map)", [*OverviewScreen.BINDINGS, *FloorMap.BINDINGS]),
            ("Drill-down", [*DrilldownScreen.BINDINGS, Binding("enter", "select", "Drill down")]),
            ("Alerts", [*AlertsScreen.BINDINGS, *AlertTable.BINDINGS]),
            ("Security", [*SecurityScreen.BINDINGS, *SecurityControlsTable.BINDINGS,
                          *SecurityControlScreen.BINDINGS]),
        ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        clock_action = action in ("pause", "faster", "slower", "jump", "arrow_jump")
        if clock_action and (self.controls is None or isinstance(self.focused, Input)):
            return False
        if action == "arrow_jump":
            # Only a replay takes the arrows from the floor map: the demo cannot go back anyway.
            return getattr(self.controls, "can_go_back", True)
        return True

    def action_pause(self) -> None:
        controls = self.controls
        if controls is None:
            return
        if controls.paused:
            controls.resume()
        else:
            controls.pause()
        self._redraw_status()

    def action_faster(self) -> None:
        if self.controls is not None:
            self.controls.faster()
            self._redraw_status()

    def action_slower(self) -> None:
        if self.controls is not None:
            self.controls.slower()
            self._redraw_status()

    def action_jump(self, direction: int) -> None:
        if direction < 0 and not getattr(self.controls, "can_go_back", True):
            self.notify("the demo cannot go back in time; ] skips ahead", timeout=3)
            return
        if self.controls is not None:
            self.controls.seek(direction * self.settings.jump_seconds)
            self._redraw_status()

    def action_arrow_jump(self, direction: int) -> None:
        self.action_jump(direction)

    def _redraw_status(self) -> None:
        async def now() -> None:
            await self.pipeline.deliver_frame(lambda frame: self.post_message(FrameReady(frame)))

        self.run_worker(now(), group="redraw")

    async def action_quit(self) -> None:
        self.exit(0)


def run_console(settings: Settings, pipeline: Pipeline, controls: PlaybackControls | None = None) -> int:
    """Run the console in this terminal until the operator quits."""
    app = RackwatchApp(settings, pipeline, controls)
    result = app.run()
    if pipeline.source_error:
        print(f"rackwatch: the source stopped: {pipeline.source_error}")
    return int(result or 0)



