"""Options every console command shares (theme, bell, speed) and the settings built from them."""

from __future__ import annotations

import argparse
import os
from typing import Any

THEME_CHOICES = ("dark", "light", "high-contrast", "monochrome")


def add_console_arguments(parser: argparse.ArgumentParser, speed: bool = False) -> None:
    group = parser.add_argument_group(
        "console",
        "Defaults come from the config file (RACKWATCH_CONFIG or the user config dir, "
        "config.toml) and RACKWATCH_* variables; flags win.",
    )
    group.add_argument("--theme", choices=THEME_CHOICES, help="look of the console (t cycles at run time)")
    group.add_argument("--no-bell", action="store_true", help="never ring the terminal bell (b toggles)")
    group.add_argument("--prefix", metavar="PREFIX", help="topic prefix of the wire contract (default dc)")
    group.add_argument(
        "--security-profile",
        metavar="NAME|FILE",
        help="security controls profile: default, nist_csf, or a TOML file (docs/security-profiles.md)",
    )
    if speed:
        group.add_argument("--speed", type=float, metavar="X",
                           help="times real time (default 1; + and - change it while running)")


def console_settings(args: argparse.Namespace, **extra: Any) -> Any:
    """Layered settings with the given flags on top; a bad setting is the CLI's usage error."""
    from console.cli import UsageError
    from console.settings import SettingsError, load_settings
    from themes import theme_name

    flags: dict[str, Any] = {
        "theme": args.theme,
        "bell": False if args.no_bell else None,
        "prefix": args.prefix,
        "speed": getattr(args, "speed", None),
        "security_profile": args.security_profile,
        **extra,
    }
    try:
        settings = load_settings(flags)
        theme_name(settings.theme, no_color=False)
    except SettingsError as error:
        raise UsageError(str(error)) from None
    except KeyError as error:
        raise UsageError(str(error.args[0])) from None
    if getattr(args, "speed", None) is not None and not args.speed > 0:
        raise UsageError("--speed must be above 0")
    security_profile(settings)
    return settings


def security_profile(settings: Any) -> Any:
    """The settings' security profile, loaded; a bad one is the CLI's usage error."""
    from console.cli import UsageError
    from console.core.security.profile import ProfileError, resolve_profile

    try:
        return resolve_profile(settings.security_profile)
    except ProfileError as error:
        raise UsageError(str(error)) from None


def make_engine(settings: Any, alert_book: Any = None) -> Any:
    """The anomaly core as the settings ask for it (prefix, security profile)."""
    from console.core.engine import Engine

    return Engine(prefix=settings.prefix, alert_book=alert_book, security_profile=security_profile(settings))


def no_color() -> bool:
    """NO_COLOR set (to anything) asks for no colour: https://no-color.org."""
    return "NO_COLOR" in os.environ
