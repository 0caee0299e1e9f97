"""What every console screen has: the connection bar, the critical banner, the footer."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer

from console.pipeline import Frame
from console.widgets.alert_banner import AlertBanner
from console.widgets.connection_bar import ConnectionBar


class ConsoleScreen(Screen):
    """A screen that draws frames; subclasses compose their body and implement ``draw``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "app.ingest", "Ingest counts", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield ConnectionBar()
        yield AlertBanner()
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def show_frame(self, frame: Frame) -> None:
        """Draw a frame: the shared bars, then the screen's own body."""
        if not self.is_mounted:
            return
        try:
            bar = self.query_one(ConnectionBar)
            banner = self.query_one(AlertBanner)
        except NoMatches:  # mounted, children not yet: the next frame draws it
            return
        bell = getattr(self.app, "bell_on", True)
        bar.show(frame.status, frame.snapshot.stats, frame.stream_time, bell=bell)
        banner.show(frame.snapshot.alerts)
        self.draw(frame)

    def draw(self, frame: Frame) -> None:
        """Draw the body from a frame."""

    def on_screen_resume(self) -> None:
        frame = getattr(self.app, "frame", None)
        if frame is not None:
            self.show_frame(frame)
