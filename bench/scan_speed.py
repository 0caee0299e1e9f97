"""``rackwatch scan`` speed as a multiple of real time, against the floors of the log format.

    .venv/bin/python bench/scan_speed.py [--seconds 600] [--rows 2] [--racks 10] [--nodes 4] [--repeat 1]

Writes a zstd log of the campus (one message per device per second), then, on that same log and
in the same run, times what any reader of the format must at least do, and ``run_scan``:

1. the C decompressor alone (``zstd -dc LOG > /dev/null``, one thread, its process start
   included; skipped, and said so, without the ``zstd`` tool): the ceiling of any reader of
   this file, since every byte of it must be decompressed;
2. Python reading the log's lines (the LogReader's decompress-and-split, no JSON);
3. the lines and every payload parsed with ``orjson`` (no decoder checks, no engine);
4. ``run_scan`` itself, and its rate past the first seconds: the scan of a 2 s log of the same
   campus subtracted (the first second registers every channel, over a second for a full
   hall, which a short log over-weights and a day-long one does not notice).

Each is printed as stream seconds per wall second (the issue asks for >= 2,000x real time).
With ``--repeat N`` the rows run N times, alternating, and the fastest of each is kept (the
machine is shared). Also printed: the decompressed bytes per stream second and what a whole
day of this campus would be.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from console.core.scan import run_scan
from sensors.logfile import LogWriter, read_log
from sensors.messages import RawMessage
from sensors.simulator import CampusConfig, Simulator

T0 = 1_767_225_600.0
DAY_S = 86_400
GOAL = 2_000.0
"""Issue 9: a recorded hall-day scanned at >= 2,000x real time."""
START_S = 2
"""Length of the log whose scan is subtracted for the steady rate: channel registration."""


def write_log(path: Path, seconds: int, campus: CampusConfig) -> int:
    sim = Simulator(campus=campus, seed=7, start=T0)
    count = 0
    with LogWriter(path, "sim", ["dc/#"]) as log:
        for out in sim.initial_messages():
            log.write(RawMessage(sim.now, out.topic, out.payload, out.qos, out.retain))
        for _ in range(seconds):
            for out in sim.tick():
                log.write(RawMessage(sim.now, out.topic, out.payload, out.qos, out.retain))
                count += 1
    return count


def decompress_c(path: Path) -> int:
    """The zstd command line tool decompressing to /dev/null; returns its exit status."""
    return subprocess.run(["zstd", "-dcq", str(path)], stdout=subprocess.DEVNULL, check=True).returncode


def read_lines(path: Path) -> int:
    """Every line through the LogReader's own decompress-and-split (the part before any JSON);
    returns the decompressed bytes after the header."""
    reader = read_log(path)
    try:
        return sum(len(line) + 1 for line in reader._lines)  # the reader's line splitter, on purpose
    finally:
        reader.close()


def parse_lines(path: Path) -> int:
    """The same lines, each record and its JSON payload parsed by orjson: the JSON a scan cannot
    skip (a status payload is plain text, ``online`` or ``offline``, and is not parsed)."""
    reader = read_log(path)
    loads = orjson.loads
    parsed = 0
    try:
        for line in reader._lines:
            if line:
                payload = loads(line).get("payload", "")
                if payload[:1] == "{":
                    loads(payload)
                parsed += 1
    finally:
        reader.close()
    return parsed


def scan(path: Path) -> int:
    return run_scan(path, stdout=io.StringIO(), stderr=io.StringIO())


def fastest(run: Callable[[Path], int], path: Path, best: float) -> float:
    start = time.perf_counter()
    run(path)
    return min(best, time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--rows", type=int, default=2)
    parser.add_argument("--racks", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1, help="runs of every row; the fastest is kept")
    args = parser.parse_args()
    campus = CampusConfig(rows=args.rows, racks_per_row=args.racks, nodes_per_rack=args.nodes)
    rows: list[tuple[str, Callable[[Path], int]]] = [
        ("C zstd -dc > /dev/null (ceiling of this file)", decompress_c),
        ("Python: LogReader lines, no JSON", read_lines),
        ("Python: lines + orjson of record and payload", parse_lines),
        ("rackwatch scan (run_scan)", scan),
    ]
    if shutil.which("zstd") is None:
        print("zstd tool: NOT INSTALLED, the C decompressor row is skipped (apt-get install zstd)")
        rows = rows[1:]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "campus.jsonl.zst"
        start = time.perf_counter()
        messages = write_log(path, args.seconds, campus)
        generated = time.perf_counter() - start
        plain = read_lines(path)
        start_path = Path(folder) / "start.jsonl.zst"
        write_log(start_path, START_S, campus)
        best = {name: float("inf") for name, _ in rows}
        start_scan = float("inf")
        for _ in range(max(args.repeat, 1)):
            for name, run in rows:
                best[name] = fastest(run, path, best[name])
            start_scan = fastest(scan, start_path, start_scan)
        compressed = path.stat().st_size
    print(f"log: {messages:,} messages, {args.seconds} s of stream ({messages / args.seconds:,.0f} msg/s), "
          f"generated in {generated:.1f} s")
    print(f"size: {compressed / 1e6:.1f} MB zstd, {plain / 1e6:.1f} MB decompressed, "
          f"{plain / messages:,.0f} B per message, {plain / args.seconds / 1e6:.2f} MB per stream second; "
          f"a day of this campus: {messages / args.seconds * DAY_S / 1e6:,.1f} M messages, "
          f"{plain / args.seconds * DAY_S / 1e9:,.1f} GB decompressed")
    print(f"{'what (same log, same run, fastest of ' + str(max(args.repeat, 1)) + ')':<50} {'wall s':>8} "
          f"{'x real time':>12} {'a day takes':>12}")
    lines = [(name, seconds, args.seconds) for name, seconds in best.items()]
    lines.append((f"rackwatch scan past its first {START_S} s (steady)", best["rackwatch scan (run_scan)"]
                  - start_scan, args.seconds - START_S))
    for name, seconds, stream in lines:
        speed = stream / seconds
        mark = "" if speed >= GOAL else f"  (< {GOAL:,.0f}x goal)"
        print(f"{name:<50} {seconds:8.3f} {speed:11.1f}x {DAY_S / speed / 60:10.1f} min{mark}")


if __name__ == "__main__":
    main()
