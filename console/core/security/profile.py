"""Read a security profile from TOML, with errors that name the file and the key.

The format is documented for operators in docs/security-profiles.md; the built-in profiles
live in console/profiles/ (``default``: the five-part plan; ``nist_csf``: NIST CSF 2.0's six
functions over the same indicators).
"""

from __future__ import annotations

import difflib
import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from console.core.security.derived import DERIVED_NAMES
from console.core.security.model import Control, Direction, Indicator, IndicatorSource, Profile

DEFAULT_FRESH_S = 120.0
"""Security tooling publishes every 10-60 s (../shared/spec/wire.md, "Topics"): two slow reports missed."""

_PROFILE_KEYS = {"name", "title", "trend_step_s", "trend_length"}
_CONTROL_KEYS = {"id", "title", "summary", "indicators"}
_INDICATOR_KEYS = {"name", "label", "source", "direction", "warn", "fail", "fresh_s", "unit", "description"}
_TOP_KEYS = {"profile", "controls"}


class ProfileError(Exception):
    """A profile that cannot be used; the message names the file and the key."""

    def __init__(self, origin: str, key: str, problem: str) -> None:
        where = f"{origin}: {key}: " if key else f"{origin}: "
        super().__init__(where + problem)
        self.origin = origin
        self.key = key
        self.problem = problem


def builtin_names() -> tuple[str, ...]:
    """Names of the profiles shipped with rackwatch."""
    folder = resources.files("console") / "profiles"
    names = (item.name.removesuffix(".toml") for item in folder.iterdir() if item.name.endswith(".toml"))
    return tuple(sorted(names))


def builtin_profile(name: str = "default") -> Profile:
    """A shipped profile by name (``default``, ``nist_csf``)."""
    names = builtin_names()
    if name not in names:
        raise ProfileError(f"profile {name!r}", "", f"no such built-in profile{_suggest(name, names)}")
    resource = resources.files("console") / "profiles" / f"{name}.toml"
    return parse_profile(resource.read_text(encoding="utf-8"), f"console/profiles/{name}.toml")


def load_profile(path: str | Path) -> Profile:
    """Read a profile file; ProfileError (never a traceback) if it is missing or wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ProfileError(str(path), "", f"cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ProfileError(str(path), "", "not UTF-8 text") from None
    return parse_profile(text, str(path))


def resolve_profile(name_or_path: str) -> Profile:
    """A built-in profile by name, or a profile file by path (anything with a ``/`` or ``.toml``)."""
    if "/" in name_or_path or name_or_path.endswith(".toml"):
        return load_profile(name_or_path)
    return builtin_profile(name_or_path)


def parse_profile(text: str, origin: str = "<profile>") -> Profile:
    """Build a profile from TOML text; ``origin`` names it in errors."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(origin, "", f"not valid TOML: {error}") from None
    _known(document, _TOP_KEYS, origin, "")
    head = _table(document.get("profile", {}), origin, "profile")
    _known(head, _PROFILE_KEYS, origin, "profile")
    raw_controls = document.get("controls")
    if not isinstance(raw_controls, list) or not raw_controls:
        raise ProfileError(origin, "controls", "a profile needs at least one [[controls]] table")
    controls = tuple(_control(raw, origin, f"controls[{index}]") for index, raw in enumerate(raw_controls))
    _unique([control.id for control in controls], origin, "controls", "id")
    trend_length = head.get("trend_length", 12)
    if isinstance(trend_length, bool) or not isinstance(trend_length, int) or not 1 <= trend_length <= 120:
        raise ProfileError(origin, "profile.trend_length", "must be a whole number from 1 to 120")
    return Profile(
        name=_string(head, "name", origin, "profile", default=Path(origin).stem),
        title=_string(head, "title", origin, "profile", default="Security controls"),
        controls=controls,
        trend_step_s=_positive(head, "trend_step_s", origin, "profile", default=60.0),
        trend_length=trend_length,
        origin=origin,
    )


def _control(raw: Any, origin: str, key: str) -> Control:
    table = _table(raw, origin, key)
    _known(table, _CONTROL_KEYS, origin, key)
    control_id = _string(table, "id", origin, key)
    if not control_id.replace("_", "").replace("-", "").isalnum():
        raise ProfileError(origin, f"{key}.id", "must be letters, digits, '_' or '-'")
    raw_indicators = table.get("indicators")
    if not isinstance(raw_indicators, list) or not raw_indicators:
        problem = "a control needs at least one [[controls.indicators]]"
        raise ProfileError(origin, f"{key}.indicators", problem)
    indicators = tuple(
        _indicator(item, origin, f"{key}.indicators[{index}]") for index, item in enumerate(raw_indicators)
    )
    _unique([indicator.name for indicator in indicators], origin, f"{key}.indicators", "name")
    return Control(
        id=control_id,
        title=_string(table, "title", origin, key, default=control_id),
        indicators=indicators,
        summary=_string(table, "summary", origin, key, default=""),
    )


def _indicator(raw: Any, origin: str, key: str) -> Indicator:
    table = _table(raw, origin, key)
    _known(table, _INDICATOR_KEYS, origin, key)
    source_text = _string(table, "source", origin, key)
    try:
        source = IndicatorSource.parse(source_text)
    except ValueError as error:
        raise ProfileError(origin, f"{key}.source", str(error)) from None
    if source.derived and source.name not in DERIVED_NAMES:
        problem = f"unknown derived indicator {source.name!r}{_suggest(source.name, DERIVED_NAMES)}"
        raise ProfileError(origin, f"{key}.source", problem)
    direction_text = _string(table, "direction", origin, key)
    try:
        direction = Direction(direction_text)
    except ValueError:
        choices = [item.value for item in Direction]
        problem = f"{direction_text!r} is not {' or '.join(choices)}{_suggest(direction_text, choices)}"
        raise ProfileError(origin, f"{key}.direction", problem) from None
    warn = _finite(table, "warn", origin, key)
    fail = _finite(table, "fail", origin, key)
    if direction is Direction.HIGHER_IS_WORSE and fail < warn:
        raise ProfileError(origin, f"{key}.fail", f"higher-is-worse needs fail >= warn ({fail:g} < {warn:g})")
    if direction is Direction.LOWER_IS_WORSE and fail > warn:
        raise ProfileError(origin, f"{key}.fail", f"lower-is-worse needs fail <= warn ({fail:g} > {warn:g})")
    name = _string(table, "name", origin, key, default=source.name)
    return Indicator(
        name=name,
        label=_string(table, "label", origin, key, default=name),
        source=source,
        direction=direction,
        warn=warn,
        fail=fail,
        fresh_s=_positive(table, "fresh_s", origin, key, default=DEFAULT_FRESH_S),
        unit=_string(table, "unit", origin, key, default=""),
        description=_string(table, "description", origin, key, default=""),
    )


def _table(raw: Any, origin: str, key: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ProfileError(origin, key, "must be a table")
    return raw


def _known(table: dict[str, Any], allowed: set[str], origin: str, key: str) -> None:
    for name in table:
        if name not in allowed:
            raise ProfileError(origin, _join(key, name), f"unknown key{_suggest(name, sorted(allowed))}")


def _string(table: dict[str, Any], name: str, origin: str, key: str, default: str | None = None) -> str:
    value = table.get(name, default)
    if value is None:
        raise ProfileError(origin, _join(key, name), "is required")
    if not isinstance(value, str):
        raise ProfileError(origin, _join(key, name), "must be a string")
    return value


def _finite(table: dict[str, Any], name: str, origin: str, key: str) -> float:
    value = table.get(name)
    if value is None:
        raise ProfileError(origin, _join(key, name), "is required")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProfileError(origin, _join(key, name), "must be a finite number")
    return float(value)


def _positive(table: dict[str, Any], name: str, origin: str, key: str, default: float) -> float:
    value = table.get(name, default)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise ProfileError(origin, _join(key, name), "must be a positive number of seconds")
    return float(value)


def _unique(names: list[str], origin: str, key: str, field: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ProfileError(origin, f"{key}[{index}].{field}", f"duplicate {field} {name!r}")
        seen.add(name)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
