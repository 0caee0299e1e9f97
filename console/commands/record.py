"""``rackwatch record``: write every message of a broker's topics into a log, losing none."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console.cli import UsageError
from console.commands.connection_args import add_connection_arguments, connection_settings

if TYPE_CHECKING:
    from sensors.recorder import Recorder, RecorderStats

SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_size(text: str) -> int:
    """``100M`` -> bytes (K, M, G are binary multiples)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*", text, re.IGNORECASE)
    if not match or float(match[1]) <= 0:
        raise UsageError(f"bad --rotate-size {text!r}: use a size such as 500K, 100M or 2G")
    return int(float(match[1]) * SIZE_UNITS[match[2].upper()])


def parse_duration(text: str) -> float:
    """``1h`` / ``30m`` / ``90s`` / ``1d`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match or float(match[1]) <= 0:
        raise UsageError(f"bad --rotate-every {text!r}: use a duration such as 90s, 30m, 1h or 1d")
    return float(match[1]) * DURATION_UNITS[match[2] or "s"]


def register(subparsers: argparse._SubParsersAction) -> None:
    from sensors.mqtt_source import default_client_id

    parser = subparsers.add_parser(
        "record",
        help="record a broker's messages into a log (lossless, QoS 1)",
        description=(
            "Subscribe with QoS 1 and a persistent session and write every message into a "
            "JSON Lines log (compressed by suffix: .zst, .gz, else plain). A message is "
            "acknowledged to the broker only once it is flushed to disk, so neither a crash "
            "of the recorder nor a broker restart (with Mosquitto persistence) loses any; "
            "redeliveries are dropped on (topic, boot, seq). Stop with Ctrl-C or SIGTERM."
        ),
    )
    add_connection_arguments(parser)
    parser.add_argument(
        "--topic", action="append", required=True, metavar="FILTER",
        help="topic filter to record, e.g. 'dc/#' (repeat for several)",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="FILE",
                        help="log to write, e.g. campus.jsonl.zst; must not exist yet")
    parser.add_argument("--rotate-size", metavar="SIZE",
                        help="start a new file when one reaches SIZE on disk (e.g. 100M)")
    parser.add_argument("--rotate-every", metavar="DURATION",
                        help="start a new file every DURATION (e.g. 1h, 30m)")
    parser.add_argument(
        "--client-id", default=default_client_id("rec"), metavar="ID",
        help="MQTT client id of the persistent session (default %(default)s); "
        "two recorders must not share one: a second one started with it gives way (exit 2)",
    )
    parser.add_argument(
        "--flush-batch", type=int, default=16, metavar="N",
        help="fsync and acknowledge at least every N messages (default 16); keep it below the "
        "broker's max_inflight_messages (Mosquitto default 20), which caps unacknowledged messages",
    )
    parser.add_argument("--keepalive", type=int, default=15, metavar="SECONDS",
                        help="MQTT keepalive; a dead link is noticed within about twice this (default 15)")
    parser.set_defaults(run=run)


def _check_out(out: Path, rotating: bool) -> None:
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--out {out}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--out {out}: directory {parent} is not writable")
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file name such as {out}/campus.jsonl.zst")
    if not rotating and out.exists():
        raise UsageError(f"--out {out} exists; choose a new name (a log is never overwritten or appended to)")


def human_bytes(count: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


class ProgressLine:
    """What has been written, on stderr: one updating line on a terminal, else a line a minute."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.interval = 1.0 if self.tty else 60.0

    def show(self, stats: RecorderStats, state: str) -> None:
        text = (
            f"recording [{state}] {stats.messages} messages, {human_bytes(stats.bytes_on_disk)} on disk, "
            f"{stats.rate:.0f} msg/s, {stats.duplicates} duplicates dropped"
        )
        if self.tty:
            self.stream.write(f"\r\x1b[2K{text}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        self.stream.write(("\r\x1b[2K" if self.tty else "") + text + "\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from sensors.logfile import LogWriter, RotatingLogWriter
    from sensors.mqtt_source import ConnectionState, MqttSource, SessionConflict
    from sensors.recorder import Recorder
    from sensors.sanitize import sanitize_text

    rotate_size = parse_size(args.rotate_size) if args.rotate_size else None
    rotate_every = parse_duration(args.rotate_every) if args.rotate_every else None
    if args.keepalive < 1:
        raise UsageError("--keepalive must be at least 1 second")
    if args.flush_batch < 1:
        raise UsageError("--flush-batch must be at least 1")
    _check_out(args.out, rotating=bool(rotate_size or rotate_every))
    settings = dataclasses.replace(connection_settings(args), keepalive=args.keepalive)
    progress = ProgressLine(sys.stderr)

    def on_state(state: ConnectionState, detail: str) -> None:
        if state is ConnectionState.CONNECTING:
            progress.message(f"rackwatch record: connecting to {settings.url} as {args.client_id}")
        elif state is ConnectionState.CONNECTED:
            session = "resumed its session" if source.session_present else "started a new session"
            progress.message(f"rackwatch record: connected to {settings.url} ({session}), recording")
            if source.connections > 1 and not source.session_present:
                progress.message(
                    "rackwatch record: WARNING: the broker had lost our session (restarted without "
                    "persistence?): messages published while we were away may be missing"
                )
        elif state is ConnectionState.RECONNECTING:
            progress.message(f"rackwatch record: not connected ({sanitize_text(detail)}); retrying")
        elif state is ConnectionState.AUTH_FAILED:
            progress.message(f"rackwatch record: {sanitize_text(detail)}")

    try:
        source = MqttSource(
            settings, args.topic, qos=1, client_id=args.client_id, clean_session=False,
            manual_ack=True, on_state_change=on_state, exclusive=True,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        if rotate_size or rotate_every:
            sink = RotatingLogWriter(args.out, str(settings.url), args.topic, rotate_size, rotate_every)
        else:
            sink = LogWriter(args.out, str(settings.url), args.topic)
    except OSError as error:
        raise UsageError(f"cannot create --out {args.out}: {error.strerror}") from None
    recorder = Recorder(
        source, sink, on_progress=lambda stats: progress.show(stats, source.state.value),
        progress_interval=progress.interval, flush_batch=args.flush_batch,
    )
    try:
        asyncio.run(_record_until_stopped(recorder))
    except SessionConflict as error:
        progress.message(
            f"rackwatch record: {error}; stopped rather than fight over the session. Another recorder "
            f"with --client-id {args.client_id} is running: give each its own. What this one had not "
            "acknowledged stays in the session, for the other."
        )
        return 2
    except OSError as error:
        progress.message(
            f"rackwatch record: cannot write the log: {error.strerror or error}; stopped. Nothing "
            f"unwritten was acknowledged: restart with the same --client-id {args.client_id} and a new "
            "--out to receive it"
        )
        return 1
    stats = recorder.stats
    written = ", ".join(str(p) for p in getattr(sink, "paths", [args.out]))
    progress.message(
        f"rackwatch record: stopped; {stats.messages} messages written to {written} "
        f"({stats.duplicates} duplicates dropped)"
    )
    return 0


async def _record_until_stopped(recorder: Recorder) -> None:
    """Run the recorder until Ctrl-C or SIGTERM, then let it flush and close the log."""
    task = asyncio.create_task(recorder.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
