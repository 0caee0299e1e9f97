"""``rackwatch scan``: headless anomaly scan of a recorded log or a CSV (no UI is imported)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from console.cli import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="run a recorded log or a CSV through the anomaly core and print alert transitions",
        description=(
            "Replay a recorded sensor log (.jsonl, .gz, .zst) or a CSV (timestamp column, then one "
            "column per channel) through the anomaly core, headless. Prints one JSON object per "
            "alert transition: ts, key, state, severity, rule, value, message. Exit status: 0 no "
            "critical alert raised, 1 at least one critical alert, 2 bad input."
        ),
    )
    parser.add_argument("source", type=Path, metavar="LOG|CSV", help="recorded log or CSV file")
    parser.add_argument("--alerts", type=Path, metavar="FILE", help="write transitions here, not stdout")
    parser.add_argument(
        "--scores",
        type=Path,
        metavar="FILE",
        help="CSV input only: write column,timestamp,value,anomaly_score per cell, score in [0, 1]",
    )
    parser.add_argument("--config", type=Path, metavar="TOML", help="detector and rule overrides")
    parser.add_argument("--prefix", default="dc", help="topic prefix of the log (default: dc)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from console.core.scan import ScanInputError, run_scan

    try:
        return run_scan(args.source, args.alerts, args.scores, args.config, args.prefix)
    except ScanInputError as error:
        raise UsageError(str(error)) from None
    except BrokenPipeError:
        # The reader of stdout went away (``scan LOG | head``): stop quietly, like other filters.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        raise UsageError(f"{error.filename or args.source}: {error.strerror}") from None
