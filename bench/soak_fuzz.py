"""Soak the console's ingest path with hostile messages (issue 8, item 2; the big run).

Feeds ``--count`` messages from tests/fuzz_messages.py through the pipeline's stream evaluator
into the real engine (decode, de-dup, skew check, store, evaluate once per stream second, a
snapshot every ``--snapshot-every`` messages) and checks that nothing raises and every message
is accounted for: used, a duplicate, or rejected under a reason. Prints the counts, the
throughput against a baseline of valid messages measured in the same run, and RSS.

    .venv/bin/python bench/soak_fuzz.py --count 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.core.engine import Engine
from console.pipeline import StreamEvaluator
from sensors.messages import RawMessage
from tests.fuzz_messages import NOW, VALID, hostile_messages

BATCH = 1000


def valid_messages(count: int) -> list[RawMessage]:
    """The baseline: well-formed messages of every topic kind, fresh seq, sane clocks."""
    out = []
    for index in range(count):
        topic, body = VALID[index % len(VALID)]
        received = NOW + index * 0.001
        payload = orjson.dumps({**body, "ts": received, "seq": index // len(VALID)})
        out.append(RawMessage(received=received, topic=topic, payload=payload, qos=1))
    return out


def run(messages: list[RawMessage], snapshot_every: int) -> tuple[Engine, float, int]:
    """Feed the messages in batches; returns the engine, seconds taken and snapshots taken."""
    engine = Engine()
    evaluator = StreamEvaluator(engine)
    snapshots = 0
    started = time.perf_counter()
    for first in range(0, len(messages), BATCH):
        evaluator.feed(messages[first : first + BATCH])
        if (first // BATCH) % max(1, snapshot_every // BATCH) == 0:
            engine.snapshot()
            snapshots += 1
    return engine, time.perf_counter() - started, snapshots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="hostile messages (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--chunk", type=int, default=10_000,
                        help="messages generated at a time (hostile payloads reach 70 KB: keep it small)")
    parser.add_argument("--snapshot-every", type=int, default=10_000, help="messages between snapshots")
    args = parser.parse_args()
    process = psutil.Process()
    rss_start = process.memory_info().rss

    baseline_count = min(args.count, 100_000)
    _, baseline_s, _ = run(valid_messages(baseline_count), args.snapshot_every)
    baseline_rate = baseline_count / baseline_s

    engine = Engine()
    evaluator = StreamEvaluator(engine)
    fed = 0
    spent = 0.0
    generator = hostile_messages(args.count, seed=args.seed)
    while fed < args.count:
        chunk = [m for _, m in zip(range(args.chunk), generator, strict=False)]
        started = time.perf_counter()
        for first in range(0, len(chunk), BATCH):
            evaluator.feed(chunk[first : first + BATCH])
        engine.snapshot()
        spent += time.perf_counter() - started
        fed += len(chunk)
        if fed % 100_000 == 0 or fed == args.count:
            rss = process.memory_info().rss / 1e6
            print(f"{fed:>10,} messages  {fed / spent:>9,.0f} msg/s  RSS {rss:,.0f} MB", flush=True)

    ingest = engine.ingestor
    stats = engine.snapshot().stats  # the codec's rejects plus what the store refused (clock skew...)
    rejected = sum(stats.rejected.values())
    accounted = stats.decoded + rejected
    print(f"\nreceived {ingest.received:,}  decoded {stats.decoded:,}  rejected {rejected:,}  "
          f"duplicates {stats.duplicates:,}  accounted {accounted:,}")
    for reason, count in sorted(stats.rejected.items(), key=lambda item: -item[1]):
        print(f"  {reason!s:<16}{count:>12,}")
    hostile_rate = fed / spent
    print(f"\nvalid baseline {baseline_rate:,.0f} msg/s; hostile {hostile_rate:,.0f} msg/s "
          f"(ratio {hostile_rate / baseline_rate:.2f})")
    print(f"RSS {rss_start / 1e6:,.0f} MB at start, {process.memory_info().rss / 1e6:,.0f} MB at end; "
          f"{len(engine.registry.keys):,} channels, history {engine.history.values.nbytes / 1e6:,.0f} MB")
    ok = ingest.received == fed == accounted
    print("OK: every message used or counted" if ok else "FAIL: messages unaccounted for")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
