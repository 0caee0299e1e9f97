"""Channel updates per second: the vectorized core vs a plain per-reading Python loop.

Both do the same work per reading after decoding: store the value, static limits, a robust
(frugal median/MAD) z, a trend fit, a raise timer. The core does it as whole-array passes in
``Engine.store`` + ``Engine.evaluate`` (all detectors, in fact more work than the loop); the loop
does it one reading at a time with dicts. Measured in the same run, printed as a ratio.

    .venv/bin/python bench/core_speed.py [--nodes 2000] [--ticks 20]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from console.core.engine import Engine
from sensors.codec import encode_payload
from sensors.messages import RawMessage

T0 = 1_767_225_600.0


def node_payload(rng: np.random.Generator, ts: float, seq: int) -> bytes:
    temps = 70 + rng.normal(0, 0.3, 8)
    gpus = [{"temp_c": float(t), "util_pct": 98.0, "power_w": float(600 + rng.normal(0, 5))} for t in temps]
    return encode_payload({"ts": ts, "seq": seq, "boot": "b", "gpus": gpus, "metrics": {"cpu_temp_c": 50.0}})


def build_ticks(nodes: int, ticks: int) -> list[list[RawMessage]]:
    rng = np.random.default_rng(0)
    out = []
    for tick in range(ticks):
        ts = T0 + tick
        out.append([
            RawMessage(ts, f"dc/s1/h1/r{n // 400:02d}/rk{n // 4:04d}/node/n{n % 4}",
                       node_payload(rng, ts, tick))
            for n in range(nodes)
        ])
    return out


class LoopCore:
    """The same detection done reading by reading in plain Python."""

    def __init__(self) -> None:
        self.state: dict[str, list[float]] = {}

    def update(self, key: str, value: float, ts: float, warn: float, crit: float) -> None:
        s = self.state.get(key)
        if s is None:
            s = self.state[key] = [value, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, ts, math.nan, value]
        median, scale = s[0], max(s[1], 0.2)
        deviation = value - median
        z = deviation / (1.4826 * scale)
        s[0] = median + 0.05 * scale * math.copysign(1.0, deviation)
        s[1] = scale * (1.01 if abs(deviation) > scale else 0.99)
        dt = ts - s[7]
        decay = math.exp(-dt / 90.0)
        w, st, stt, sy, sty = s[2], s[3], s[4], s[5], s[6]
        s[2] = w * decay + 1
        s[3] = (st - dt * w) * decay
        s[4] = (stt - 2 * dt * st + dt * dt * w) * decay
        s[5] = sy * decay + value
        s[6] = (sty - dt * sy) * decay
        s[7] = ts
        level = 2 if value >= crit else 1 if value >= warn or abs(z) > 8 else 0
        if level and math.isnan(s[8]):
            s[8] = ts
        elif not level:
            s[8] = math.nan
        s[9] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2000, help="GPU nodes (25 channels each)")
    parser.add_argument("--ticks", type=int, default=20)
    args = parser.parse_args()
    ticks = build_ticks(args.nodes, args.ticks)
    engine = Engine()
    engine.ingest(ticks[0])
    engine.evaluate(T0)
    channels = len(engine.registry)

    decoded = []
    for batch in ticks[1:]:
        rows = []
        for raw in batch:
            telemetry = engine.ingestor.decoder.decode(raw)
            rows.append((telemetry.topic.device, telemetry.ts, telemetry.values))
        decoded.append(rows)

    store_eval = store_only = 0.0
    updates = 0
    for rows in decoded:
        indices = np.concatenate([engine.registry.layout(d, "node", v) for d, _, v in rows])
        values = np.concatenate([np.fromiter(v.values(), np.float32, len(v)) for _, _, v in rows])
        stamps = np.repeat([ts for _, ts, _ in rows], [len(v) for _, _, v in rows])
        start = time.perf_counter()
        engine.store(indices, values, stamps)
        stored = time.perf_counter()
        engine.evaluate(float(stamps[0]))
        store_eval += time.perf_counter() - start
        store_only += stored - start
        updates += indices.size
    evaluate_ms = store_eval / len(decoded) * 1000

    check = Engine()
    check.ingest(ticks[0])
    check.evaluate(T0)
    start = time.perf_counter()
    for batch in ticks[1:]:
        check.ingest(batch)
        check.evaluate(batch[0].received)
    full = time.perf_counter() - start

    loop = LoopCore()
    loop_ticks = decoded[: max(1, min(3, len(decoded)))]
    start = time.perf_counter()
    loop_updates = 0
    for rows in loop_ticks:
        for device, ts, values in rows:
            for metric, value in values.items():
                loop.update(f"{device}/{metric}", value, ts, 82.0, 87.0)
                loop_updates += 1
    loop_s = time.perf_counter() - start

    core_rate = updates / store_eval
    loop_rate = loop_updates / loop_s
    print(f"channels: {channels:,}   ticks: {len(decoded)}")
    print(f"core store only:     {store_only / len(decoded) * 1000:8.2f} ms/tick  "
          f"{updates / store_only:14,.0f} channel-updates/s (readings written, evaluation apart)")
    print(f"core store+evaluate: {evaluate_ms:8.2f} ms/tick  {core_rate:14,.0f} channel-updates/s")
    print(f"core incl. decode:   {full / len(decoded) * 1000:8.2f} ms/tick  "
          f"{updates / full:14,.0f} channel-updates/s")
    print(f"plain Python loop:   {loop_s / len(loop_ticks) * 1000:8.2f} ms/tick  "
          f"{loop_rate:14,.0f} channel-updates/s")
    print(f"ratio core/loop (store+evaluate): {core_rate / loop_rate:.1f}x")


if __name__ == "__main__":
    main()
