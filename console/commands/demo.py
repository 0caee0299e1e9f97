"""``rackwatch demo``: a simulated campus with a scripted incident, in this process, no broker."""

from __future__ import annotations

import argparse
from typing import Any

from console.commands.console_args import add_console_arguments, console_settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the console over a simulated campus with a scripted incident (needs nothing else)",
        description="Run the console over an in-process simulated GPU campus (one hall, 8 rows of "
                    "10 racks) playing the demo storyline: a failing GPU cold plate, a row losing "
                    "its cooling, a PDU past 80 %% of its rating and a forced cage door. No broker "
                    "is needed.",
        epilog="Keys: ? help, space pause, + / - speed, ] skip ahead, q quit.",
    )
    add_console_arguments(parser, speed=True)
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    parser.set_defaults(run=run)


def build(settings: Any, seed: int = 1, start: float | None = None, ticks: int | None = None,
          paced: bool = True) -> tuple[Any, Any]:
    """The demo's pipeline and clock: the simulator feeding the engine directly."""
    from console.core.engine import Engine
    from console.demo_source import DemoClock, DemoSource
    from console.pipeline import Pipeline, SourceStatus
    from sensors.simulator import Simulator, demo_storyline

    simulator = Simulator(seed=seed, scenarios=demo_storyline(), start=start, prefix=settings.prefix)
    clock = DemoClock(settings.speed) if paced else None
    source = DemoSource(simulator, clock, ticks=ticks)
    engine = Engine(prefix=settings.prefix)

    def status() -> SourceStatus:
        if clock is None:
            state = "ended" if ticks is not None and source.done >= ticks else "running"
            return SourceStatus("demo", state, "simulated campus", None)
        state = "paused" if clock.paused else "running"
        return SourceStatus("demo", state, "simulated campus", clock.speed)

    pipeline = Pipeline(engine, source, status, frame_rate=settings.frame_rate)
    return pipeline, clock


def run(args: argparse.Namespace) -> int:
    from console.app import run_console

    settings = console_settings(args)
    pipeline, clock = build(settings, seed=args.seed)
    return run_console(settings, pipeline, clock)
