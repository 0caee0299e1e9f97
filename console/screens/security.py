"""Security: the profile's controls at a glance, one control's evidence, the event timeline.

The controls (by default the five parts of the cybersecurity action plan; see
docs/security-profiles.md) and their judgement come ready-made in ``Snapshot.security`` from
``console.core.security``; this screen only draws them. Enter on a control opens its indicators
with the evidence behind each; Escape comes back.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from console.core.security.model import SecurityView
from console.pipeline import Frame
from console.screens.base import ConsoleScreen
from console.widgets.security_controls import SecurityControlsTable
from console.widgets.security_event_detail import SecurityEventDetail
from console.widgets.security_evidence import SecurityEvidence
from console.widgets.security_indicators import SecurityIndicatorsTable
from console.widgets.security_timeline import SecurityTimeline
from console.widgets.timefmt import stamp
from console.widgets.wire_text import wire_text

NO_SECURITY = "Security: no security profile is being evaluated (the engine feeds none)."
_TITLE_CSS = "{name} .title {{ height: 1; padding: 0 1; background: $panel; }}"


def view_title(view: SecurityView) -> Text:
    text = Text("Security · ", no_wrap=True, end="")
    text.append_text(wire_text(view.profile_title, max_length=60))
    text.append(f" · overall {view.status.value} · {stamp(view.now)} UTC")
    return text


class SecurityScreen(ConsoleScreen):
    """Every control with its status and trend, and the security event timeline."""

    DEFAULT_CSS = _TITLE_CSS.format(name="SecurityScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("tab", "focus_next", "Controls/events", show=False)]

    def compose_body(self) -> ComposeResult:
        yield Static(NO_SECURITY, classes="title", id="security-title", markup=False)
        yield SecurityControlsTable(id="security-controls")
        yield Static("Security events (newest first; ! raised an alert)", classes="title", markup=False)
        yield SecurityTimeline(id="security-timeline")
        yield SecurityEventDetail(id="security-event-detail")

    def on_mount(self) -> None:
        self.query_one(SecurityControlsTable).focus()

    def draw(self, frame: Frame) -> None:
        view = frame.snapshot.security
        if view is None:
            return
        self.query_one("#security-title", Static).update(view_title(view))
        self.query_one(SecurityControlsTable).show(view)
        self.query_one(SecurityTimeline).show(view.timeline)

    @on(SecurityControlsTable.ControlChosen)
    def _open_control(self, message: SecurityControlsTable.ControlChosen) -> None:
        self.app.push_screen(SecurityControlScreen(message.control_id))

    @on(SecurityTimeline.Highlighted)
    def _show_event(self, message: SecurityTimeline.Highlighted) -> None:
        self.query_one(SecurityEventDetail).show(message.entry)


class SecurityControlScreen(ConsoleScreen):
    """One control: its indicators with status and evidence, and the events that bear on it."""

    DEFAULT_CSS = _TITLE_CSS.format(name="SecurityControlScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back to controls"),
        Binding("tab", "focus_next", "Indicators/events", show=False),
    ]

    def __init__(self, control_id: str) -> None:
        super().__init__()
        self.control_id = control_id

    def compose_body(self) -> ComposeResult:
        yield Static(wire_text(self.control_id), classes="title", id="control-title")
        yield SecurityIndicatorsTable(id="control-indicators")
        yield SecurityEvidence(id="control-evidence")
        yield Static("Events on this control", classes="title", markup=False)
        yield SecurityTimeline(id="control-timeline")
        yield SecurityEventDetail(id="control-event-detail")

    def on_mount(self) -> None:
        self.query_one(SecurityIndicatorsTable).focus()

    def draw(self, frame: Frame) -> None:
        view = frame.snapshot.security
        control = view.control(self.control_id) if view is not None else None
        if view is None or control is None:
            self.query_one("#control-title", Static).update(Text(NO_SECURITY))
            return
        title = Text(f"{control.status.value} · ", no_wrap=True, end="")
        title.append_text(wire_text(control.control.title, max_length=60))
        title.append(f" · {len(control.indicators)} indicators · {control.events} events")
        self.query_one("#control-title", Static).update(title)
        self.query_one(SecurityIndicatorsTable).show(control)
        self.query_one(SecurityTimeline).show(view.timeline, self.control_id)

    @on(SecurityIndicatorsTable.Highlighted)
    def _show_evidence(self, message: SecurityIndicatorsTable.Highlighted) -> None:
        self.query_one(SecurityEvidence).show(message.view)

    @on(SecurityTimeline.Highlighted)
    def _show_event(self, message: SecurityTimeline.Highlighted) -> None:
        self.query_one(SecurityEventDetail).show(message.entry)

    def action_back(self) -> None:
        self.app.pop_screen()
