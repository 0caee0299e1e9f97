"""Help: every key of the console, read from the bindings themselves so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "Esc", "enter": "Enter", "space": "Space",
             "plus": "+", "minus": "-", "left": "←", "right": "→", "up": "↑", "down": "↓",
             "left_square_bracket": "[", "right_square_bracket": "]", "backspace": "Backspace",
             "ctrl+c": "Ctrl-C", "ctrl+p": "Ctrl-P", "equals_sign": "="}


def key_label(keys: str) -> str:
    """``up,k`` -> ``↑ k``."""
    return " ".join(KEY_NAMES.get(key.strip(), key.strip()) for key in keys.split(","))


def _bindings(bindings: Iterable[BindingType]) -> list[Binding]:
    return [b for b in bindings if isinstance(b, Binding)]


def help_text(sections: list[tuple[str, Iterable[BindingType]]]) -> Text:
    """One block per section: key, then what it does."""
    text = Text()
    for title, bindings in sections:
        rows = _bindings(bindings)
        if not rows:
            continue
        text.append(f"{title}\n", style="bold underline")
        for binding in rows:
            text.append(f"  {key_label(binding.key):<14}", style="bold")
            text.append(f"{binding.description or binding.action}\n")
        text.append("\n")
    return text


class HelpScreen(ModalScreen[None]):
    """Lists every key; any of Esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 72; max-width: 100%; height: 90%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    """

    def __init__(self, sections: list[tuple[str, Iterable[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_text(self.sections), id="help-text", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
