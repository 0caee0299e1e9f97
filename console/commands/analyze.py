"""``rackwatch analyze``: the anomaly core headless, as a service on one partition of the campus."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from console.cli import UsageError
from console.commands.connection_args import add_connection_arguments, connection_settings

if TYPE_CHECKING:
    from console.core.analyzer.service import Analyzer


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="score one partition of the campus headless and publish alerts and rollups to the broker",
        description=textwrap.fill(
            "Run the anomaly core as a service on the topics of one partition (--topic, repeatable), "
            "evaluated once per second of stream time. Publishes alert transitions (QoS 1) to "
            "<out>/alerts/transitions/<partition>, live alert state (retained) to "
            "<out>/alerts/state/<key>/<rule> and rack and row rollups (retained) to "
            "<out>/rollup/<site>/<hall>/<row>[/<rack>]; docs/wire-additions.md has the payloads. "
            "On start it restores its partition's live alerts from the retained state, so a "
            "restart reports nothing twice. Keep every row (better: every hall) on one analyzer: "
            "peer groups and per-channel history must not be split (docs/scale-out.md). "
            "Stop with Ctrl-C or SIGTERM.",
            width=100,
        ),
        epilog=(
            "examples:  rackwatch analyze --broker mqtt://mq:1883 --topic 'dc/s1/h1/#'\n"
            "           rackwatch analyze --broker mqtt://mq:1883 --topic 'dc/s1/h1/r01/#' "
            "--topic 'dc/s1/h1/r02/#' --partition h1-r01-r02\n"
            "           rackwatch analyze --broker mqtt://emqx:1883 --topic 'dc/#' --shared-group analyzers "
            "--partition $(hostname)   (EMQX with hash_topic only)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_arguments(parser)
    parser.add_argument(
        "--topic", action="append", required=True, metavar="FILTER",
        help="topic filter of this partition, e.g. 'dc/s1/h1/#' (repeat for several)",
    )
    parser.add_argument(
        "--partition", metavar="NAME",
        help="name of this partition in published topics and payloads ([A-Za-z0-9_-]+; default: "
        "made from the filters). A restarted analyzer must keep its name to restore its alerts",
    )
    parser.add_argument(
        "--shared-group", metavar="GROUP",
        help="subscribe as $share/GROUP/<filter> over MQTT 5; only for brokers that route shared "
        "subscriptions by topic hash (EMQX hash_topic), never round-robin (Mosquitto)",
    )
    parser.add_argument("--out-prefix", default="rackwatch/v1", metavar="PREFIX",
                        help="prefix of published topics (default %(default)s)")
    parser.add_argument("--prefix", default="dc", help="prefix of the telemetry topics (default: dc)")
    parser.add_argument("--config", type=Path, metavar="TOML", help="detector and rule overrides")
    parser.add_argument("--rollup-every", type=float, default=5.0, metavar="SECONDS",
                        help="stream seconds between rollups (default %(default)s)")
    parser.add_argument("--no-restore", action="store_true",
                        help="do not read retained alert state on start (a fresh partition)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from console.core.analyzer.partition import Partition
    from console.core.analyzer.service import Analyzer
    from console.core.analyzer.wire_out import OutTopics
    from console.core.config import ConfigError, CoreConfig, load_config

    if not args.rollup_every > 0:
        raise UsageError("--rollup-every must be seconds > 0")
    try:
        partition = Partition.of(args.topic, args.partition, args.shared_group)
        out = OutTopics(args.out_prefix)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        config = load_config(args.config) if args.config is not None else CoreConfig()
    except ConfigError as error:
        raise UsageError(str(error)) from None
    settings = connection_settings(args)

    def say(text: str) -> None:
        print(f"rackwatch analyze: {text}", file=sys.stderr, flush=True)

    analyzer = Analyzer(settings, partition, out, config, args.prefix, restore=not args.no_restore,
                        rollup_every_s=args.rollup_every, progress=say)
    filters = ", ".join(partition.subscriptions())
    say(f"partition {partition.name}: subscribing to {filters} on {settings.url}")
    asyncio.run(_run_until_stopped(analyzer))
    say("stopped; " + analyzer.status_line())
    return 0


async def _run_until_stopped(analyzer: Analyzer) -> None:
    """Run until Ctrl-C or SIGTERM, then evaluate what is pending and publish it."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, analyzer.stop)
    try:
        await analyzer.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
