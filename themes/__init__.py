"""The looks of the console: Textual themes whose variables are named by meaning.

Widgets colour racks through ``$rack-ok``, ``$rack-warn``, ``$rack-critical``, ``$stale`` and
``$rack-unknown``, never through hues, so a theme can change every colour at once and the
monochrome theme can replace colour by brightness (it is chosen automatically under NO_COLOR,
https://no-color.org).
"""

from __future__ import annotations

from textual.theme import Theme

MEANING_VARIABLES = ("rack-ok", "rack-warn", "rack-critical", "stale", "rack-unknown")
"""Theme variables every rackwatch theme defines; the CSS of the widgets uses only these."""

DARK = Theme(
    name="rackwatch-dark",
    primary="#4FA3E0",
    secondary="#7E8CA0",
    accent="#E0A44F",
    warning="#E0B43C",
    error="#E05252",
    success="#4CAF50",
    foreground="#D8DEE9",
    background="#0F1419",
    surface="#161C23",
    panel="#1F2933",
    dark=True,
    variables={
        "rack-ok": "#1E6B3A",
        "rack-warn": "#A07800",
        "rack-critical": "#B71C1C",
        "stale": "#4A4F57",
        "rack-unknown": "#262C33",
    },
)

LIGHT = Theme(
    name="rackwatch-light",
    primary="#1565C0",
    secondary="#546E7A",
    accent="#B36B00",
    warning="#B38600",
    error="#C62828",
    success="#2E7D32",
    foreground="#1B1F23",
    background="#F5F7FA",
    surface="#FFFFFF",
    panel="#E3E8EE",
    dark=False,
    variables={
        "rack-ok": "#81C784",
        "rack-warn": "#FFD54F",
        "rack-critical": "#E57373",
        "stale": "#B0B7BF",
        "rack-unknown": "#DDE2E7",
    },
)

HIGH_CONTRAST = Theme(
    name="rackwatch-high-contrast",
    primary="#00BFFF",
    secondary="#FFFFFF",
    accent="#FFFF00",
    warning="#FFFF00",
    error="#FF3030",
    success="#00FF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    dark=True,
    variables={
        "rack-ok": "#008000",
        "rack-warn": "#FFD700",
        "rack-critical": "#FF0000",
        "stale": "#808080",
        "rack-unknown": "#202020",
    },
)

MONOCHROME = Theme(
    name="rackwatch-monochrome",
    primary="#C0C0C0",
    secondary="#A0A0A0",
    accent="#FFFFFF",
    warning="#D0D0D0",
    error="#FFFFFF",
    success="#909090",
    foreground="#E0E0E0",
    background="#000000",
    surface="#101010",
    panel="#202020",
    dark=True,
    variables={
        "rack-ok": "#303030",
        "rack-warn": "#8A8A8A",
        "rack-critical": "#F0F0F0",
        "stale": "#181818",
        "rack-unknown": "#0A0A0A",
    },
)

THEMES: dict[str, Theme] = {theme.name: theme for theme in (DARK, LIGHT, HIGH_CONTRAST, MONOCHROME)}
DEFAULT_THEME = DARK.name
SHORT_NAMES = {"dark": DARK.name, "light": LIGHT.name, "high-contrast": HIGH_CONTRAST.name,
               "monochrome": MONOCHROME.name}
"""What the operator may type: ``--theme light`` as well as ``--theme rackwatch-light``."""


def theme_name(requested: str | None, no_color: bool) -> str:
    """The theme to start with: monochrome under NO_COLOR, else the requested one or dark.

    Raises ``KeyError`` naming the known themes when ``requested`` is not one of them.
    """
    if no_color:
        return MONOCHROME.name
    if not requested:
        return DEFAULT_THEME
    name = SHORT_NAMES.get(requested, requested)
    if name not in THEMES:
        known = ", ".join(SHORT_NAMES)
        raise KeyError(f"unknown theme {requested!r} (known: {known})")
    return name


def variable_defaults() -> dict[str, str]:
    """Fallbacks for the meaning variables so any Textual theme the operator picks still works."""
    return dict(DARK.variables)
