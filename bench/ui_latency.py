"""Key press to repainted screen while a full hall streams in, and the console's CPU share.

Method: a private Mosquitto (tests/mosquitto.py); ``rackwatch simulate`` in its own process
publishes a full hall (10 rows x 20 racks x 4 nodes x 8 GPUs, about 50,000 channels) once a
second; the real console in connect mode (MQTT source, engine, pipeline, app) runs headless
under ``App.run_test``. After a warm-up, ``--presses`` key presses of ``m`` (next floor-map
metric) are sent at random moments (so they land anywhere in the 1 s ingest cycle).
Latency of one press = from just before the key event is sent (as the terminal driver does) to
the first compositor update after the floor map's metric changed: ``Screen._compositor_refresh``
renders the dirty regions (each visible line through ``render_line``) and hands them to
``App._display``, which this bench wraps; headless Textual skips the terminal write, so the
wrapper also renders the update's segments to text, as a terminal driver would. CPU share = the
console process's CPU seconds over wall seconds during the presses (1.0 = one core; the
simulator and broker are other processes).

    .venv/bin/python bench/ui_latency.py [--presses 100] [--warm-up 15] [--channels 45000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events

from console.app import RackwatchApp
from console.commands import connect
from console.settings import Settings
from console.widgets.floor_map import FloorMap
from sensors.broker_url import parse_broker_url
from sensors.mqtt_client import ConnectionSettings
from tests.mosquitto import MosquittoBroker

RACKWATCH = str(Path(sys.executable).with_name("rackwatch"))
FULL_HALL = ("--rows", "10", "--racks", "20", "--nodes", "4", "--gpus", "8")
GOAL_P99_S = 0.050
START_TIMEOUT_S = 90.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(args: argparse.Namespace, url: str) -> tuple[list[float], float, int, list[float]]:
    """(latencies s, CPU share, channels, compositor update durations s)."""
    settings = Settings(bell=False)
    pipeline = connect.build(settings, ConnectionSettings(url=parse_broker_url(url), keepalive=15))
    app = RackwatchApp(settings, pipeline)
    displays: list[float] = []
    updates: list[float] = []
    original_display = app._display

    def display(screen, renderable) -> None:  # type: ignore[no-untyped-def]
        begin = time.perf_counter()
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(app.console)
        original_display(screen, renderable)
        displays.append(time.perf_counter())
        updates.append(displays[-1] - begin)

    app._display = display  # type: ignore[method-assign]
    latencies: list[float] = []
    rng = random.Random(1)
    async with app.run_test(size=(200, 60)) as pilot:
        deadline = time.monotonic() + args.warm_up
        give_up = deadline + START_TIMEOUT_S
        while time.monotonic() < deadline or len(pipeline.engine.registry) < args.channels:
            await asyncio.sleep(0.1)
            if time.monotonic() > give_up:
                source = pipeline.source
                channels = len(pipeline.engine.registry)
                raise SystemExit(f"no full hall after {START_TIMEOUT_S:.0f} s: {channels:,} channels, "
                                 f"source {source.state} {source.last_error!r}, {source.received:,} "
                                 f"received, error {pipeline.source_error!r}")
        floor_map = app.screen.query_one(FloorMap)
        await pilot.click(FloorMap)
        changes: list[float] = []
        watch_metric = floor_map.watch_metric

        def noted() -> None:
            changes.append(time.perf_counter())
            watch_metric()

        floor_map.watch_metric = noted  # type: ignore[method-assign]
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.presses):
            await asyncio.sleep(rng.uniform(0.05, 0.35))
            before = len(changes)
            pressed = time.perf_counter()
            key = events.Key("m", "m")
            key.set_sender(app)
            app._driver.send_message(key)  # what the terminal driver does; the pilot also waits for idle
            while len(changes) == before:
                await asyncio.sleep(0.001)
            changed = changes[-1]
            while not displays or displays[-1] < changed:
                await asyncio.sleep(0.001)
            latencies.append(next(t for t in displays if t >= changed) - pressed)
        share = (time.process_time() - cpu) / (time.perf_counter() - wall)
        channels = len(pipeline.engine.registry)
    return latencies, share, channels, updates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presses", type=int, default=100, help="key presses measured (default 100)")
    parser.add_argument("--warm-up", type=float, default=15.0, help="seconds of streaming first (default 15)")
    parser.add_argument("--channels", type=int, default=45_000,
                        help="wait for this many channels (default 45,000)")
    parser.add_argument("--switch-interval", type=float, metavar="S",
                        help="sys.setswitchinterval for the console process (Python's default 0.005)")
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    with tempfile.TemporaryDirectory(prefix="rackwatch-ui-") as folder:
        broker = MosquittoBroker(Path(folder))
        broker.start()
        simulator = subprocess.Popen([RACKWATCH, "simulate", "--broker", broker.url, "--speed", "1",
                                      "--interval", "1", *FULL_HALL],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            latencies, share, channels, updates = asyncio.run(measure(args, broker.url))
        finally:
            simulator.terminate()
            simulator.wait(timeout=30)
            broker.stop()
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"full hall streaming at 1 Hz: {channels:,} channels; {len(latencies)} presses of 'm', 200x60")
    print(f"key press -> repainted screen: p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  "
          f"max {max(latencies) * 1000:6.1f} ms  (goal p99 <= {GOAL_P99_S * 1000:.0f} ms: "
          f"ratio {p99 / GOAL_P99_S:.2f})")
    print(f"compositor update (render + terminal text): median {statistics.median(updates) * 1000:.1f} ms, "
          f"{len(updates)} updates")
    print(f"console CPU share while streaming: {share:.2f} of one core")


if __name__ == "__main__":
    main()
