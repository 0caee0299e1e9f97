"""The one way a string from the wire becomes something drawn: sanitised, plain ``Text``.

Rich and Textual pass ESC, C1 and bidi controls through, and markup in a payload would style
or link (../shared/mqtt.md section 4d), so wire strings never reach a markup parser.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from sensors.sanitize import sanitize_text


def wire_text(value: object, style: str | Style = "", max_length: int = 200) -> Text:
    """``value`` sanitised and wrapped as literal text (markup and emoji codes stay literal)."""
    return Text(sanitize_text(value, max_length), style=style, no_wrap=True, end="")
