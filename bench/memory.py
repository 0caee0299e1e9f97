"""Bytes per channel of the engine of a full hall holding 15 minutes of history.

Method: the simulator's full hall (10 rows x 20 racks x 4 nodes x 8 GPUs, about 50,000
channels) is generated before tracing starts; then, under ``tracemalloc`` (numpy reports its
array buffers to it), an ``Engine`` ingests and evaluates ``--ticks`` real simulator seconds and
the rest of the 15-minute window is filled by storing every channel once a second (its latest
value plus noise) and evaluating, so every history slot, detector state and alert-book entry
exists. Memory is what is still allocated after a ``gc.collect()``; bytes per channel divide it by
the channels registered. The largest numpy arrays of the engine are listed with their share.

    .venv/bin/python bench/memory.py [--ticks 30] [--minutes 15]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.core.engine import Engine
from console.pipeline import StreamEvaluator
from sensors.messages import RawMessage
from sensors.simulator import CampusConfig, Simulator

FULL_HALL = CampusConfig(rows=10, racks_per_row=20, nodes_per_rack=4, gpus_per_node=8)
START = 1767225600.0
GOAL_BYTES = 5 * 1024


def arrays(root: object, depth: int = 4) -> dict[str, np.ndarray]:
    """Every numpy array reachable from ``root`` through attributes, dicts and lists (by id once)."""
    found: dict[str, np.ndarray] = {}
    seen: set[int] = set()

    def walk(thing: object, name: str, level: int) -> None:
        if id(thing) in seen or level > depth:
            return
        seen.add(id(thing))
        if isinstance(thing, np.ndarray):
            found[name] = thing
        elif isinstance(thing, dict):
            for key, value in list(thing.items())[:64]:
                walk(value, f"{name}[{key!r}]", level + 1)
        elif isinstance(thing, list | tuple):
            for index, value in enumerate(thing[:64]):
                walk(value, f"{name}[{index}]", level + 1)
        elif hasattr(thing, "__dict__") or hasattr(thing, "__slots__"):
            names = list(getattr(thing, "__dict__", {})) + list(getattr(thing, "__slots__", ()))
            for attribute in names:
                walk(getattr(thing, attribute, None), f"{name}.{attribute}", level + 1)

    walk(root, "engine", 0)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ticks", type=int, default=30, help="real simulator seconds first (default 30)")
    parser.add_argument("--minutes", type=float, default=15.0, help="history filled (default 15)")
    args = parser.parse_args()
    simulator = Simulator(FULL_HALL, seed=1, start=START)
    batches = []
    for messages in [simulator.initial_messages(), *(simulator.tick() for _ in range(args.ticks))]:
        batches.append([RawMessage(simulator.now, m.topic, m.payload, 1, m.retain) for m in messages])

    gc.collect()
    tracemalloc.start()
    begin = time.perf_counter()
    engine = Engine()
    evaluator = StreamEvaluator(engine)
    for batch in batches:
        evaluator.feed(batch)
    channels = len(engine.registry)
    indices = np.arange(channels, dtype=np.intp)
    rng = np.random.default_rng(1)
    now = batches[-1][0].received
    for _ in range(int(args.minutes * 60) - args.ticks):
        now += 1.0
        values = engine.latest[:channels] + rng.normal(0, 0.05, channels).astype(np.float32)
        engine.store(indices, values, np.full(channels, now))
        evaluator.advance_to(now)
    del batches
    gc.collect()
    used, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    elapsed = time.perf_counter() - begin

    found = arrays(engine)
    numpy_bytes = sum(a.nbytes for a in found.values())
    per_channel = used / channels
    print(f"engine: {channels:,} channels (array capacity {engine.registry.capacity:,}), "
          f"{args.minutes:g} min of history at {engine.history.step_s:g} s, built in {elapsed:.0f} s")
    print(f"allocated and alive: {used / 1e6:8.1f} MB  ({per_channel:,.0f} bytes per channel; "
          f"goal <= {GOAL_BYTES:,}: ratio {per_channel / GOAL_BYTES:.2f})")
    print(f"peak while running:  {peak / 1e6:8.1f} MB")
    rest = used - numpy_bytes
    print(f"numpy arrays:        {numpy_bytes / 1e6:8.1f} MB  ({numpy_bytes / channels:,.0f} B/channel)")
    print(f"rest (Python):       {rest / 1e6:8.1f} MB  ({rest / channels:,.0f} B/channel: keys, dicts)")
    print("largest arrays:")
    for name, array in sorted(found.items(), key=lambda item: -item[1].nbytes)[:6]:
        print(f"  {name:<40} {array.dtype!s:>8} {array.shape!s:>16} {array.nbytes / 1e6:8.1f} MB "
              f"({array.nbytes / channels:,.0f} B/channel)")


if __name__ == "__main__":
    main()
