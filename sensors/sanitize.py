"""The one sanitiser every string from the wire passes through before a person sees it.

Rich and Textual strip only BEL/BS/VT/FF/CR; ESC, C1 controls (0x9b), DEL and bidi overrides
pass through ``Text`` unchanged (measured, ../shared/mqtt.md section 4d). So anything not
printable is replaced by a visible escape, and callers render the result as plain text, never
as markup.
"""

from __future__ import annotations

_MAX_SHOWN = 512


def _escape_char(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def sanitize_text(value: object, max_length: int = _MAX_SHOWN) -> str:
    """Return ``value`` as a single printable line: controls escaped, length capped.

    Spaces stay; every other character for which ``str.isprintable()`` is false (controls,
    ESC, C1, bidi overrides, lone surrogates, line and paragraph separators) becomes ``\\xNN``
    or ``\\uNNNN``.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        shown = text
    else:
        shown = "".join(char if char.isprintable() else _escape_char(char) for char in text)
    if len(shown) > max_length:
        return shown[: max_length - 1] + "…"
    return shown
