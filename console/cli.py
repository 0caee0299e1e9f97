"""The ``rackwatch`` command line: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

COMMAND_MODULES: tuple[str, ...] = (
    "console.commands.connect",
    "console.commands.replay",
    "console.commands.demo",
    "console.commands.record",
    "console.commands.agent",
    "console.commands.simulate",
    "console.commands.scan",
    "console.commands.analyze",
)
"""Each module registers one subcommand; the order here is the order in ``--help``."""


class UsageError(Exception):
    """Bad input from the operator: printed as one line, exit status 2, never a traceback."""


_SECRET_OPTION = re.compile(r"(--?[\w-]*(?:pass|secret|token)[\w-]*)([ =])(\S+)", re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    """argparse, except that an error never echoes what followed a password-like option.

    ``rackwatch connect --password hunter2`` is refused (secrets never come from argv), and
    argparse's "unrecognized arguments: --password hunter2" would print the secret. Prefixes are
    not accepted either, or ``--password`` would quietly mean ``--password-file``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        super().error(_SECRET_OPTION.sub(r"\1\2********", message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rackwatch",
        description="Terminal operations console for AI data centers.",
        epilog="Run 'rackwatch COMMAND --help' for the options of one command.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as error:
        print(f"rackwatch {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
