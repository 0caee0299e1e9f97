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
from sensors.sanitize import sanitize_text


class SilenceScreen(ModalScreen[tuple[str, float] | None]):
    """Returns (pattern, seconds), or None when cancelled. The pattern starts as the alert's key;
    the operator may widen it (``s1/h1/r05/*`` silences a row under maintenance)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SilenceScreen { align: center middle; }
    SilenceScreen > Vertical { width: 70; max-width: 100%; height: auto; border: thick $warning;
                               background: $surface; padding: 1 2; }
    SilenceScreen #error { color: $error; }
    """

    def __init__(self, target: str, default: str = "1h") -> None:
        super().__init__()
        self.target = target
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Silence alerts whose place matches (* and ? as wildcards):")
            yield Input(value=self.target, id="pattern")
            yield Label("for:")
            yield Input(value=self.default, placeholder="90s, 15m, 2h, 1d", id="duration")
            yield Label("Enter: silence · Tab: next field · Esc: cancel", id="hint")
            yield Label("", id="error")

    def on_mount(self) -> None:
        self.query_one("#duration", Input).focus()

    @on(Input.Submitted)
    def _submit(self) -> None:
        pattern = self.query_one("#pattern", Input).value.strip()
        duration = self.query_one("#duration", Input).value
        error = self.query_one("#error", Label)
        if not pattern:
            error.update("the pattern is empty")
            return
        try:
            seconds = parse_duration(duration)
        except ValueError:
            error.update(Text(f"not a duration: {sanitize_text(duration, 40)!r} (try 15m, 2h)"))
            return
        self.dismiss((pattern, seconds))

    def action_cancel(self) -> None:
        self.dismiss(None)
