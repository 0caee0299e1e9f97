"""Console settings, layered: defaults < config file < ``RACKWATCH_*`` environment < flags.

The file is TOML at ``platformdirs.user_config_dir("rackwatch")/config.toml`` unless
``RACKWATCH_CONFIG`` names another. Settings are built once by the CLI and passed into the app
(no hidden globals). A bad file is reported naming the file, the key and a close match.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

CONFIG_ENV = "RACKWATCH_CONFIG"


class SettingsError(ValueError):
    """A setting that cannot be used, with a message that names where it came from."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the console needs to know before it starts."""

    theme: str = ""
    """Theme name (``dark``, ``light``, ``high-contrast``, ``monochrome``); empty = default."""
    bell: bool = True
    """Ring the terminal bell on a new critical alert."""
    prefix: str = "dc"
    """Topic prefix of the wire contract."""
    topics: tuple[str, ...] = ("dc/#",)
    """MQTT subscription filters for ``connect``."""
    speed: float = 1.0
    """Replay and demo speed, times real time."""
    jump_seconds: float = 60.0
    """How far left/right jump in a replay."""
    frame_rate: float = 4.0
    """Snapshots drawn per second (never once per message)."""
    security_profile: str = "default"
    """Security controls profile: a built-in name (``default``, ``nist_csf``) or a TOML file."""


_TYPES: dict[str, type] = {"theme": str, "bell": bool, "prefix": str, "topics": tuple,
                           "speed": float, "jump_seconds": float, "frame_rate": float,
                           "security_profile": str}


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file is looked for."""
    override = (os.environ if environ is None else environ).get(CONFIG_ENV)
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("rackwatch")) / "config.toml"


def _coerce(name: str, value: Any, where: str) -> Any:
    wanted = _TYPES[name]
    if wanted is bool and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{where}: {name} must be true or false, not {value!r}")
    if wanted is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise SettingsError(f"{where}: {name} must be a list of strings")
        return tuple(item.strip() for item in items if item.strip())
    if wanted is float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{where}: {name} must be a number, not {value!r}") from None
        if not number > 0:
            raise SettingsError(f"{where}: {name} must be above 0")
        return number
    if wanted is bool and not isinstance(value, bool):
        raise SettingsError(f"{where}: {name} must be true or false")
    if wanted is str and not isinstance(value, str):
        raise SettingsError(f"{where}: {name} must be a string")
    return value


def _apply(settings: Settings, values: Mapping[str, Any], where: str) -> Settings:
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _TYPES:
            close = difflib.get_close_matches(name, _TYPES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SettingsError(f"{where}: unknown setting {name!r}{hint}")
        if value is not None:
            changes[name] = _coerce(name, value, where)
    return replace(settings, **changes)


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise SettingsError(f"{path}: cannot read: {error.strerror}") from None


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for item in fields(Settings):
        variable = f"RACKWATCH_{item.name.upper()}"
        if environ.get(variable):
            values[item.name] = environ[variable]
    return values


def load_settings(
    flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from every layer; ``flags`` holds only what the operator gave (None = not given)."""
    environ = os.environ if environ is None else environ
    path = config_path(environ)
    settings = _apply(Settings(), _from_file(path), str(path))
    settings = _apply(settings, _from_environment(environ), "environment")
    return _apply(settings, flags or {}, "command line")
