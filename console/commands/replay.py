"""``rackwatch replay FILE``: the console over a recorded log, with a clock the operator drives."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from console.commands.console_args import add_console_arguments, console_settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="the console over a recorded log (pause, speed, jump)",
        description="Play a log written by 'rackwatch record' through the same pipeline as live: "
                    "the same alerts appear at the same stream times. Logs may be plain, .gz or .zst.",
        epilog="Keys: space pause/resume, + / - double/halve the speed, ← / → (or [ / ]) jump 60 s "
               "back/forward, ? help, q quit.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="recorded log (JSON Lines, .gz or .zst)")
    add_console_arguments(parser, speed=True)
    parser.set_defaults(run=run)


def build(settings: Any, path: Path, clock: Any = None) -> tuple[Any, Any]:
    """The replay pipeline and its clock; a jump back restarts the engine from the log's start."""
    from console.commands.console_args import make_engine
    from console.core.engine import Engine
    from console.pipeline import Pipeline, SourceStatus
    from sensors.replay import LogSource, ReplayClock

    clock = clock or ReplayClock(settings.speed)
    source = LogSource(path, clock, realtime=True, stay_open=True)

    def status() -> SourceStatus:
        state = "paused" if clock.paused else "ended" if source.finished else "playing"
        return SourceStatus("replay", state, path.name, clock.speed)

    def new_engine() -> Engine:
        return make_engine(settings)

    def stream_time() -> float:
        return clock.now

    pipeline = Pipeline(new_engine(), source, status, frame_rate=settings.frame_rate, clock=stream_time,
                        new_engine=new_engine)
    source.on_rewind = pipeline.rewind
    return pipeline, clock


def run(args: argparse.Namespace) -> int:
    from console.app import run_console
    from console.cli import UsageError
    from sensors.logfile import LogFormatError

    settings = console_settings(args)
    if not args.file.is_file():
        raise UsageError(f"no such file: {args.file}")
    try:
        pipeline, clock = build(settings, args.file)
    except LogFormatError as error:
        raise UsageError(str(error)) from None
    return run_console(settings, pipeline, clock)
