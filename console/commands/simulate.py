"""``rackwatch simulate``: publish a simulated GPU campus, with fault scenarios, to a broker."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from console.commands.connection_args import add_connection_arguments, connection_settings

DESCRIPTION = """\
Publish a simulated GPU campus (racks, GPU nodes, CDUs, security controls, events) to an MQTT
broker, following the wire contract. Sim time starts at --start (default now) and advances
--interval per tick; ticks are paced at --speed times real time (0: as fast as possible).
The same --seed and --start give the same messages, byte for byte."""

EPILOG = """\
scenarios (--scenario NAME@SECONDS[+DURATION][:TARGET], repeatable):
  SECONDS after the start; DURATION overrides the default; TARGET is a row (r03), rack
  (r03/rk04), node (r03/rk04/n2), GPU (r03/rk04/n2/gpu5), CDU (cdu1) or channel
  (r03/rk04/rack/inlet_temp_c), as the scenario needs; without one the seed picks.
{scenarios}

examples:
  rackwatch simulate --broker mqtt://127.0.0.1:1883 --storyline
  rackwatch simulate --rows 2 --racks 4 --speed 20 --scenario cooling_failure@60:r02 --labels truth.jsonl"""


def _epilog() -> str:
    from sensors.simulator.scenarios import SCENARIOS

    lines = [
        f"  {kind.name:<18} {kind.target:<8} {kind.duration:>5.0f} s  {kind.summary}"
        for kind in SCENARIOS.values()
    ]
    return EPILOG.format(scenarios="\n".join(lines))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="publish a simulated GPU campus with fault scenarios",
        description=DESCRIPTION,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_arguments(parser, default="mqtt://127.0.0.1:1883")
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--seed", default="0", metavar="N", help="random seed (default 0)")
    run_group.add_argument("--speed", default="1", metavar="N",
                           help="times real time; 0 publishes as fast as possible (default 1)")
    run_group.add_argument("--interval", default="1", metavar="S",
                           help="sim seconds per tick (default 1)")
    run_group.add_argument("--duration", metavar="S",
                           help="stop after S sim seconds (default: run until Ctrl-C)")
    run_group.add_argument("--start", metavar="EPOCH", help="sim start, Unix seconds (default now)")
    run_group.add_argument("--prefix", default="dc", help="topic prefix (default dc)")
    faults = parser.add_argument_group("scenarios")
    faults.add_argument("--scenario", action="append", default=[], metavar="NAME@SECONDS[:TARGET]",
                        help="inject a fault scenario (repeatable; list below)")
    faults.add_argument("--storyline", action="store_true",
                        help="the demo story: a failing GPU, a row cooling failure, a power excursion, "
                             "a cage intrusion, all within about five minutes")
    faults.add_argument("--labels", type=Path, metavar="FILE",
                        help="write each scenario's ground truth as a JSON line to FILE")
    campus = parser.add_argument_group("campus size")
    for flag, default, what in (("sites", 1, "sites"), ("halls", 1, "halls per site"),
                                ("rows", 8, "rows per hall"), ("racks", 10, "racks per row"),
                                ("nodes", 4, "GPU nodes per rack"), ("gpus", 8, "GPUs per node")):
        campus.add_argument(f"--{flag}", default=str(default), metavar="N",
                            help=f"{what} (default {default})")
    parser.set_defaults(run=run)


def _number(args: argparse.Namespace, name: str, kind: type, minimum: float, strict: bool = False) -> Any:
    from console.cli import UsageError

    text = getattr(args, name)
    try:
        value = kind(text)
    except ValueError:
        raise UsageError(f"--{name} {text!r} is not a {'whole ' if kind is int else ''}number") from None
    if (kind is float and not math.isfinite(value)) or value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise UsageError(f"--{name} must be {relation} {minimum:g}, not {text}")
    return value


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import sys

    from console.cli import UsageError
    from sensors.simulator import CampusConfig, Simulator, demo_storyline, parse_scenario
    from sensors.simulator.publisher import SimulatorPublisher, StderrProgress

    try:
        config = CampusConfig(
            sites=_number(args, "sites", int, 1), halls=_number(args, "halls", int, 1),
            rows=_number(args, "rows", int, 1), racks_per_row=_number(args, "racks", int, 1),
            nodes_per_rack=_number(args, "nodes", int, 1), gpus_per_node=_number(args, "gpus", int, 1),
        )
        specs = [parse_scenario(text) for text in args.scenario]
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.storyline:
        specs = [*demo_storyline(), *specs]
    speed = _number(args, "speed", float, 0.0)
    interval = _number(args, "interval", float, 0.0, strict=True)
    duration = _number(args, "duration", float, 0.0, strict=True) if args.duration else None
    start = _number(args, "start", float, 1.0) if args.start else None
    if args.labels is not None and not args.labels.parent.is_dir():
        raise UsageError(f"--labels: no such directory: {args.labels.parent}")
    settings = connection_settings(args)
    try:
        simulator = Simulator(config, seed=_number(args, "seed", int, 0), scenarios=specs, start=start,
                              interval=interval, prefix=args.prefix)
    except ValueError as error:
        raise UsageError(str(error)) from None
    progress = StderrProgress()
    try:
        publisher = SimulatorPublisher(simulator, settings, speed=speed, duration=duration,
                                       labels=args.labels, progress=progress)
    except OSError as error:
        raise UsageError(f"--labels: cannot write {args.labels}: {error.strerror}") from None

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, publisher.stop)
        await publisher.run()

    asyncio.run(main())
    stats = publisher.stats
    progress.finish(f"{publisher.status_line()}; stopped after {stats.ticks} ticks")
    if stats.connects == 0 or stats.undelivered_ticks:
        print(f"rackwatch simulate: could not reach the broker; {stats.undelivered_ticks} ticks not "
              f"delivered ({stats.last_error or 'no connection'})", file=sys.stderr)
        return 1
    return 0
