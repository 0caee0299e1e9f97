"""How a security status looks: a word and a trend glyph, coloured by meaning through the theme.

Shape carries the meaning as well as colour (monochrome themes, colour-blind operators): FAIL is
a full block, WARN a half block, UNKNOWN a dotted one, OK a low bar. UNKNOWN (no data, or too
old) takes the warning colour in italics: not knowing is itself a warning.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from console.core.security.model import SecurityStatus

STATUS_CLASSES = {
    SecurityStatus.OK: "security--ok",
    SecurityStatus.UNKNOWN: "security--unknown",
    SecurityStatus.WARN: "security--warn",
    SecurityStatus.FAIL: "security--fail",
}
STATUS_CSS = """
{name} > .security--ok {{ color: $success; }}
{name} > .security--unknown {{ color: $warning; text-style: italic; }}
{name} > .security--warn {{ color: $warning; text-style: bold; }}
{name} > .security--fail {{ color: $error; text-style: bold reverse; }}
"""
TREND_GLYPHS = {
    SecurityStatus.OK: "▁",
    SecurityStatus.UNKNOWN: "░",
    SecurityStatus.WARN: "▄",
    SecurityStatus.FAIL: "█",
}


def status_css(widget_name: str) -> str:
    """The status colours for a widget class that lists ``STATUS_CLASSES`` as component classes."""
    return STATUS_CSS.format(name=widget_name)


def status_style(widget: Widget, status: SecurityStatus) -> Style:
    return widget.get_component_rich_style(STATUS_CLASSES[status], partial=True)


def status_text(widget: Widget, status: SecurityStatus) -> Text:
    """``FAIL`` etc. in the status colour (padded so a column of them lines up)."""
    return Text(f"{status.value:<7}", style=status_style(widget, status), no_wrap=True, end="")


def trend_text(widget: Widget, trend: tuple[SecurityStatus, ...], width: int) -> Text:
    """The last ``width`` trend cells, oldest left, right-aligned; blanks where no history yet."""
    shown = trend[-width:]
    text = Text(" " * (width - len(shown)), no_wrap=True, end="")
    for status in shown:
        text.append(TREND_GLYPHS[status], style=status_style(widget, status))
    return text
