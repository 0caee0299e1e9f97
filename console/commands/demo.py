"""``rackwatch demo``: a simulated campus with a scripted incident, in this process, no broker."""

from __future__ import annotations

import argparse
from pathlib import Path
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
        epilog="Keys: ? help, space pause, + / - speed, ] skip 60 s ahead, q quit.",
    )
    add_console_arguments(parser, speed=True)
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    parser.add_argument(
        "--with-host",
        action="store_true",
        help="add this machine (psutil host agent) to the campus as s1/h1/r00/<host>/node/<host>; "
        "its samples carry wall-clock time, so keep the demo at 1x",
    )
    shot = parser.add_argument_group("screenshot", "Draw one reproducible frame into an SVG and exit.")
    shot.add_argument("--screenshot", type=Path, metavar="FILE",
                      help="run the storyline unpaced from 2026-01-01 00:00 UTC and save the overview")
    shot.add_argument("--ticks", type=int, default=300, metavar="N",
                      help="simulated seconds before the screenshot (default 300: row r05 losing cooling)")
    shot.add_argument("--size", default="120x40", metavar="COLSxROWS", help="terminal size (default 120x40)")
    parser.set_defaults(run=run)


def build(settings: Any, seed: int = 1, start: float | None = None, ticks: int | None = None,
          paced: bool = True, campus: Any = None, scenarios: Any = None,
          with_host: bool = False) -> tuple[Any, Any]:
    """The demo's pipeline and clock: the simulator feeding the engine directly.

    ``start``, ``ticks`` and ``paced=False`` make a run reproducible (tests, screenshots);
    ``campus`` (a ``CampusConfig``) defaults to the storyline's hall, ``scenarios`` to the storyline;
    ``with_host`` runs the psutil host agent beside the simulator, into the same pipe.
    """
    from console.commands.console_args import make_engine
    from console.demo_source import DemoClock, DemoSource
    from console.pipeline import Pipeline, SourceStatus
    from sensors.simulator import CampusConfig, Simulator, demo_storyline

    simulator = Simulator(campus=campus or CampusConfig(), seed=seed, start=start, prefix=settings.prefix,
                          scenarios=demo_storyline() if scenarios is None else scenarios)
    clock = DemoClock(settings.speed) if paced else None
    companions = (_host_agent(settings.prefix),) if with_host else ()
    source = DemoSource(simulator, clock, ticks=ticks, companions=companions)
    engine = make_engine(settings)

    def status() -> SourceStatus:
        if clock is None:
            state = "ended" if ticks is not None and source.done >= ticks else "running"
            return SourceStatus("demo", state, "simulated campus", None)
        state = "paused" if clock.paused else "running"
        return SourceStatus("demo", state, "simulated campus", clock.speed)

    pipeline = Pipeline(engine, source, status, frame_rate=settings.frame_rate)
    return pipeline, clock


def _host_agent(prefix: str) -> Any:
    from sensors.agents.host import run_host_agent
    from sensors.agents.publisher import NodePlace

    async def companion(sink: Any) -> None:
        await run_host_agent(sink, NodePlace.of(prefix=prefix), interval=1.0)

    return companion


SCREENSHOT_START = 1767225600.0
"""2026-01-01 00:00:00 UTC: a fixed start, so the same screenshot comes out every time."""


def save_screenshot(settings: Any, path: Path, ticks: int, size: tuple[int, int], seed: int = 1) -> None:
    """Play ``ticks`` of the storyline as fast as possible and save the overview as SVG."""
    import asyncio

    from console.app import RackwatchApp

    pipeline, _ = build(settings, seed=seed, start=SCREENSHOT_START, ticks=ticks, paced=False)
    app = RackwatchApp(settings, pipeline)

    async def pilot_script(pilot: Any) -> None:
        while app.frame is None or app.frame.status.state != "ended":
            await pilot.pause(0.1)
        await pilot.pause(0.6)
        app.clear_notifications()
        await pilot.pause(0.2)
        app.save_screenshot(path.name, str(path.parent or Path(".")))
        app.exit(0)

    asyncio.run(app.run_async(headless=True, size=size, auto_pilot=pilot_script))


def _size(text: str) -> tuple[int, int]:
    from console.cli import UsageError

    try:
        columns, rows = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 120x40, not {text!r}") from None
    if columns < 40 or rows < 12:
        raise UsageError("--size must be at least 40x12")
    return columns, rows


def run(args: argparse.Namespace) -> int:
    from console.app import run_console
    from console.cli import UsageError

    settings = console_settings(args)
    if args.screenshot is not None:
        if args.ticks < 1:
            raise UsageError("--ticks must be at least 1")
        save_screenshot(settings, args.screenshot, args.ticks, _size(args.size), seed=args.seed)
        print(f"saved {args.screenshot}")
        return 0
    pipeline, clock = build(settings, seed=args.seed, with_host=args.with_host)
    return run_console(settings, pipeline, clock)
