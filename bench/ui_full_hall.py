"""How the console copes with a full hall: ~50,000 channels at 1 Hz through the real pipeline and app.

Prints, for the simulator, the engine (ingest + evaluate per tick), the snapshot, and the UI
(drawing one frame of the overview; answering a key press while ingest runs), each next to the
1 s budget of a 1 Hz stream and the 250 ms of a 4 Hz frame rate. Run:
``.venv/bin/python bench/ui_full_hall.py [--ticks 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from console.app import RackwatchApp
from console.commands import demo
from console.demo_source import as_raw
from console.pipeline import StreamEvaluator
from console.settings import Settings
from console.widgets.floor_map import FloorMap
from sensors.simulator import CampusConfig, Simulator, demo_storyline

FULL_HALL = CampusConfig(rows=10, racks_per_row=20, nodes_per_rack=4, gpus_per_node=8)
START = 1767225600.0


def headless(ticks: int) -> tuple[float, float, float, int]:
    """Median seconds per tick for the simulator and the engine, per snapshot; channel count."""
    from console.core.engine import Engine

    simulator = Simulator(campus=FULL_HALL, seed=1, scenarios=demo_storyline(), start=START)
    engine = Engine()
    evaluator = StreamEvaluator(engine)
    evaluator.feed([as_raw(m, simulator.now) for m in simulator.initial_messages()])
    sim_times, engine_times = [], []
    for _ in range(ticks):
        begin = time.perf_counter()
        batch = [as_raw(m, simulator.now) for m in simulator.tick()]
        sim_times.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        evaluator.feed(batch)
        engine_times.append(time.perf_counter() - begin)
    begin = time.perf_counter()
    for _ in range(5):
        snapshot = engine.snapshot()
    return (statistics.median(sim_times), statistics.median(engine_times),
            (time.perf_counter() - begin) / 5, len(snapshot.channels.keys))


async def in_app(ticks: int, paced: bool) -> tuple[float, float, float]:
    """Median frame draw time, worst key-press latency during ingest, frames drawn per second.

    ``paced``: the hall reports at 1 Hz (real time); otherwise as fast as the engine takes it.
    """
    settings = Settings()
    pipeline, _ = demo.build(settings, seed=1, start=START, ticks=ticks, paced=paced, campus=FULL_HALL)
    app = RackwatchApp(settings, pipeline)
    draw_times: list[float] = []
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.frame is None:
            await pilot.pause(0.05)
        screen = app.screen
        floor_map = screen.query_one(FloorMap)
        frames_before, begin_wall = 0, time.perf_counter()
        seen = app.frame
        while pipeline.source.done < ticks:
            await pilot.pause(0.05)
            if app.frame is not seen:
                seen = app.frame
                frames_before += 1
                begin = time.perf_counter()
                screen.show_frame(seen)
                for y in range(floor_map.size.height):
                    floor_map.render_line(y)
                draw_times.append(time.perf_counter() - begin)
            if len(latencies) < 5 and frames_before % 3 == 1:
                metric = floor_map.metric
                begin = time.perf_counter()
                await pilot.press("m")
                while floor_map.metric is metric:
                    await pilot.pause(0.001)
                latencies.append(time.perf_counter() - begin)
        rate = frames_before / (time.perf_counter() - begin_wall)
    return statistics.median(draw_times or [0.0]), max(latencies or [0.0]), rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=20)
    args = parser.parse_args()
    sim, engine, snapshot, channels = headless(args.ticks)
    print(f"full hall: {channels:,} channels, {FULL_HALL.rows * FULL_HALL.racks_per_row} racks, 1 Hz")
    print(f"simulator tick      {sim * 1000:8.1f} ms   ({sim:.2f} of the 1 s budget)")
    print(f"engine per tick     {engine * 1000:8.1f} ms   ({engine:.2f} of the 1 s budget)")
    print(f"snapshot            {snapshot * 1000:8.1f} ms   ({snapshot / 0.25:.2f} of a 250 ms frame)")
    for paced, label in ((True, "at 1 Hz"), (False, "unpaced, ingest back to back")):
        draw, latency, rate = asyncio.run(in_app(args.ticks, paced))
        print(f"-- app, {label}")
        print(f"UI frame draw       {draw * 1000:8.1f} ms   ({draw / 0.25:.2f} of a 250 ms frame)")
        print(f"key press latency   {latency * 1000:8.1f} ms   worst of 5")
        print(f"frames drawn        {rate:8.1f} /s   (target 4)")


if __name__ == "__main__":
    main()
