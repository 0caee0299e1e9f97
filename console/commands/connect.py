"""``rackwatch connect URL``: the live console over a broker."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from console.commands.connection_args import add_connection_arguments, connection_settings
from console.commands.console_args import add_console_arguments, console_settings

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "connect",
        help="the live console: subscribe to a broker and watch the campus",
        description="Subscribe to a broker (QoS 1) and show the campus live: floor map, drill-down, "
                    "alerts, events and security. The connection state is always on the top line.",
        epilog="Example: rackwatch connect mqtts://broker.example:8883 --ca-file ca.pem --topic 'dc/s1/#'",
    )
    parser.add_argument("url", nargs="?", metavar="URL",
                        help="broker address, mqtt://host:1883 or mqtts://host:8883 "
                             f"(default {DEFAULT_BROKER})")
    parser.add_argument("--topic", action="append", metavar="FILTER",
                        help="topic filter to subscribe to; repeat for more (default dc/#)")
    parser.add_argument("--state-dir", type=Path, metavar="DIR",
                        help="where acknowledgements, silences and cleared alerts are kept across "
                             "restarts (default: the user state dir, e.g. ~/.local/state/rackwatch)")
    parser.add_argument("--campus", action="store_true",
                        help="campus mode: draw racks and alerts from the rollups and alert state that "
                             "'rackwatch analyze' publishes, not from raw telemetry (docs/scale-out.md)")
    parser.add_argument("--out-prefix", default="rackwatch/v1", metavar="PREFIX",
                        help="campus mode: the analyzers' output prefix (default %(default)s)")
    add_connection_arguments(parser, default=DEFAULT_BROKER)
    add_console_arguments(parser)
    parser.set_defaults(run=run)


def build(settings: Any, connection: Any, state_dir: Path | None = None) -> Any:
    """The live pipeline: MQTT source -> engine, stream time is the wall clock.

    With ``state_dir`` the alert book is kept on disk there, so an acknowledgement given during
    an incident survives a restart of the console.
    """
    from console.commands.console_args import make_engine
    from console.core.alert_book import AlertBook
    from console.pipeline import Pipeline, SourceStatus, wall_time
    from sensors.mqtt_source import ConnectionState, MqttSource

    source = MqttSource(connection, list(settings.topics), qos=1)
    engine = make_engine(settings, AlertBook(state_dir) if state_dir is not None else None)

    def status() -> SourceStatus:
        # Not connected: say why (refused, unreachable, credentials) first, then where.
        url = str(connection.url)
        detail = url
        if source.state is not ConnectionState.CONNECTED and source.last_error:
            reason = source.last_error.removeprefix(url).removeprefix(":").strip()
            detail = f"{reason} · {url}"
        return SourceStatus("live", str(source.state), detail, None, source.dropped)

    return Pipeline(engine, source, status, frame_rate=settings.frame_rate, clock=wall_time, live=True)


def build_campus(settings: Any, connection: Any, out_prefix: str = "rackwatch/v1") -> Any:
    """Campus mode: the analyzers' retained rollups and alert state stand in for the engine
    (acknowledgements and silences stay local to this console); the raw telemetry of the rack
    drilled into is fetched while it is shown (ValueError for a prefix that is not one segment)."""
    from console.campus_source import CampusSource
    from console.core.analyzer.campus import CampusState
    from console.core.analyzer.wire_out import OutTopics
    from console.pipeline import Pipeline, SourceStatus, wall_time

    campus = CampusState(OutTopics(out_prefix), prefix=settings.prefix)
    source = CampusSource(connection, campus.filters(), prefix=settings.prefix, qos=1)

    def status() -> SourceStatus:
        detail = f"campus {connection.url}"
        raw = source.raw
        if raw is not None and raw.state != "connected":
            detail += f" · rack feed {raw.state}"  # the drilled-into rack's own connection
        return SourceStatus("live", str(source.state), detail, None, source.dropped)

    return Pipeline(campus, source, status, frame_rate=settings.frame_rate, clock=wall_time, live=True)


def run(args: argparse.Namespace) -> int:
    from console.app import run_console
    from console.cli import UsageError

    connection = connection_settings(args, url=args.url)
    if args.campus:
        from console.core.analyzer.wire_out import check_out_prefix

        if args.topic:
            raise UsageError("--campus reads the analyzers' topics under --out-prefix; drop --topic")
        try:
            check_out_prefix(args.out_prefix)
        except ValueError as error:
            raise UsageError(str(error)) from None
        settings = console_settings(args)
        try:
            pipeline = build_campus(settings, connection, args.out_prefix)
        except ValueError as error:
            raise UsageError(str(error)) from None
        return run_console(settings, pipeline)
    extra = {"topics": tuple(args.topic)} if args.topic else {}
    settings = console_settings(args, **extra)
    if args.prefix and not args.topic:
        settings = replace(settings, topics=(f"{settings.prefix}/#",))
    from console.core.alert_book import default_state_dir

    state_dir = args.state_dir or default_state_dir()
    try:
        pipeline = build(settings, connection, state_dir=state_dir)
    except OSError as error:
        raise UsageError(f"cannot keep alert state in {state_dir}: {error.strerror}") from None
    return run_console(settings, pipeline)
