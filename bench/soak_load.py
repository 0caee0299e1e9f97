"""Soak the live console under a multiple of its design load and watch memory (issue 8, item 3).

Design load: one full hall of the simulator's default campus (8 rows x 10 racks x 4 nodes x
8 GPUs, plus CDUs and security controls) reporting every second. ``rackwatch simulate`` publishes
it ``--factor`` times faster (default 2x) to a private Mosquitto; the console, the real app in
connect mode drawn headless, subscribes to it. Every ``--report-every`` seconds it prints RSS,
messages received, ingested and dropped (counted by the bounded source queue), frames drawn per
second and how far the drawn frame lags the wall clock. At the end: RSS growth after warm-up
and frame rate against the configured one, both measured in this run.

    .venv/bin/python bench/soak_load.py --minutes 10
    .venv/bin/python bench/soak_load.py --minutes 1 --factor 4 --rows 2
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.app import RackwatchApp
from console.commands import connect
from console.settings import Settings
from sensors.broker_url import parse_broker_url
from sensors.mqtt_client import ConnectionSettings
from tests.mosquitto import MosquittoBroker

RACKWATCH = str(Path(sys.executable).with_name("rackwatch"))
WARM_UP_S = 60.0


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--factor", type=float, default=2.0, help="times the design load (default 2)")
    parser.add_argument("--report-every", type=float, default=10.0, metavar="S", help="seconds per line")
    parser.add_argument("--queue", type=int, default=10_000, help="source queue size (default 10,000)")
    for flag, default in (("rows", 8), ("racks", 10), ("nodes", 4), ("gpus", 8)):
        parser.add_argument(f"--{flag}", type=int, default=default, help=f"campus {flag} (default {default})")
    return parser.parse_args()


async def soak(args: argparse.Namespace, broker: MosquittoBroker) -> int:
    settings = Settings(bell=False)
    pipeline = connect.build(settings, ConnectionSettings(url=parse_broker_url(broker.url), keepalive=15))
    source = pipeline.source
    source.queue_size = args.queue
    frames = 0
    deliver_frame = pipeline.deliver_frame

    async def counting(deliver):  # type: ignore[no-untyped-def]
        nonlocal frames
        frames += 1
        await deliver_frame(deliver)

    pipeline.deliver_frame = counting  # type: ignore[method-assign]
    simulator = subprocess.Popen(
        [RACKWATCH, "simulate", "--broker", broker.url, "--speed", str(args.factor), "--interval", "1",
         "--rows", str(args.rows), "--racks", str(args.racks), "--nodes", str(args.nodes),
         "--gpus", str(args.gpus)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    process = psutil.Process()
    app = RackwatchApp(settings, pipeline)
    started = time.monotonic()
    end = started + args.minutes * 60
    warm_rss: float | None = None
    last = (started, 0, 0)
    peak_lag = 0.0
    try:
        async with app.run_test(size=(200, 60)):
            print(f"{'t (s)':>7} {'RSS MB':>8} {'received':>11} {'msg/s':>8} {'ingested':>11} {'dropped':>9} "
                  f"{'queue':>6} {'frames/s':>8} {'ui lag s':>8}", flush=True)
            while time.monotonic() < end:
                await asyncio.sleep(args.report_every)
                now = time.monotonic()
                rss = process.memory_info().rss / 1e6
                if warm_rss is None and now - started >= WARM_UP_S:
                    warm_rss = rss
                received = source.received
                rate = (received - last[1]) / (now - last[0])
                frame_rate = (frames - last[2]) / (now - last[0])
                lag = time.time() - app.frame.stream_time if app.frame is not None else float("nan")
                peak_lag = max(peak_lag, lag) if lag == lag else peak_lag
                ingested, queued = pipeline.engine.ingestor.received, len(source._buffer)
                print(f"{now - started:>7.0f} {rss:>8.0f} {received:>11,} {rate:>8,.0f} {ingested:>11,} "
                      f"{source.dropped:>9,} {queued:>6} {frame_rate:>8.1f} {lag:>8.2f}", flush=True)
                last = (now, received, frames)
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    total_s = time.monotonic() - started
    rss_end = process.memory_info().rss / 1e6
    print(f"\n{source.received:,} received, {source.dropped:,} dropped "
          f"({100 * source.dropped / max(1, source.received):.2f} %), {frames / total_s:.1f} frames/s "
          f"(ratio {frames / total_s / settings.frame_rate:.2f} of the configured {settings.frame_rate:g}), "
          f"peak ui lag {peak_lag:.2f} s")
    if warm_rss is not None:
        print(f"RSS {warm_rss:,.0f} MB after {WARM_UP_S:.0f} s warm-up, {rss_end:,.0f} MB at the end "
              f"(ratio {rss_end / warm_rss:.2f})")
    if pipeline.source_error:
        print(f"source error: {pipeline.source_error}")
        return 1
    return 0


def main() -> int:
    args = parse()
    with tempfile.TemporaryDirectory(prefix="rackwatch-soak-") as directory:
        broker = MosquittoBroker(Path(directory))
        broker.start()
        try:
            return asyncio.run(soak(args, broker))
        finally:
            broker.stop()


if __name__ == "__main__":
    raise SystemExit(main())
