"""The one sanitiser for strings from the wire (../shared/mqtt.md section 4d and table row 10)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sensors.sanitize import sanitize_text

ATTACKS = ["\x1b[2J", "\x1b]0;title\x07", "\x9b31m", "\u202eevil", "a\nb\rc", "\x7f", "\ud800"]


def test_control_characters_become_visible_escapes() -> None:
    assert sanitize_text("\x1b[2Jclear") == "\\x1b[2Jclear"
    assert sanitize_text("\x9b31m") == "\\x9b31m"
    assert sanitize_text("\u202eabc") == "\\u202eabc"
    assert sanitize_text("line\nbreak") == "line\\x0abreak"


def test_markup_is_left_as_literal_text() -> None:
    assert sanitize_text("[bold red]FAKE[/]") == "[bold red]FAKE[/]"


def test_length_is_capped() -> None:
    assert len(sanitize_text("x" * 10_000, max_length=40)) == 40


@given(st.text() | st.sampled_from(ATTACKS))
def test_output_is_always_printable(text: str) -> None:
    shown = sanitize_text(text)
    assert shown.isprintable()
    assert "\x1b" not in shown and "\x9b" not in shown
