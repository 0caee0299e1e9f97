"""Ask how long to silence an alert's channel: a small modal with one input."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from console.widgets.timefmt import parse_duration
from console.widgets.wire_text import wire_text


class SilenceScreen(ModalScreen[float | None]):
    """Returns the silence duration in seconds, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SilenceScreen { align: center middle; }
    SilenceScreen > Vertical { width: 60; height: auto; border: thick $warning; background: $surface;
                               padding: 1 2; }
    SilenceScreen #error { color: $error; }
    """

    def __init__(self, target: str, default: str = "1h") -> None:
        super().__init__()
        self.target = target
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble("Silence ", wire_text(self.target, style="bold"), " for:"))
            yield Input(value=self.default, placeholder="90s, 15m, 2h, 1d", id="duration")
            yield Label("Enter: silence · Esc: cancel", id="hint")
            yield Label("", id="error")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        try:
            seconds = parse_duration(event.value)
        except ValueError:
            self.query_one("#error", Label).update(f"not a duration: {event.value!r} (try 15m, 2h)")
            return
        self.dismiss(seconds)

    def action_cancel(self) -> None:
        self.dismiss(None)
