"""Messages per second one analyzer scores, against ``mosquitto_sub`` taking the same stream.

Starts a private Mosquitto (tests/mosquitto.py), subscribes ``mosquitto_sub`` (QoS 1, prints a
receive time per message) and one ``Analyzer`` (the whole ``rackwatch analyze`` pipeline,
publishing its outputs) to ``dc/#``, then a separate process publishes a simulated campus as fast
as it can (QoS 1). Each consumer's rate is messages / (last receive - first receive); their ratio
says how close the analyzer comes to the broker's own delivery rate on this machine. The core
alone (same messages fed in-process, no broker) gives the ceiling of one analyzer.

    .venv/bin/python bench/analyzer_throughput.py [--rows 8] [--ticks 60]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.flood import flood  # noqa: E402
from console.core.analyzer.core import AnalyzerCore  # noqa: E402
from console.core.analyzer.partition import Partition  # noqa: E402
from console.core.analyzer.service import Analyzer  # noqa: E402
from console.core.analyzer.wire_out import OutTopics  # noqa: E402
from console.core.engine import Engine  # noqa: E402
from sensors.broker_url import parse_broker_url  # noqa: E402
from sensors.messages import RawMessage  # noqa: E402
from sensors.mqtt_client import ConnectionSettings  # noqa: E402
from sensors.mqtt_source import ConnectionState  # noqa: E402
from sensors.simulator import CampusConfig, Simulator  # noqa: E402
from tests.mosquitto import MosquittoBroker  # noqa: E402

START = 1767225600.0


def campus_stream(rows: int, ticks: int) -> list:
    sim = Simulator(CampusConfig(rows=rows), seed=1, start=START)
    out = [m for m in sim.initial_messages()]
    for _ in range(ticks):
        out.extend(sim.tick())
    return out


def publish_all(port: int, rows: int, ticks: int) -> None:
    """The publisher process: prints how many messages it sent and in how many seconds."""
    messages = campus_stream(rows, ticks)
    elapsed = flood(port, [(m.topic, m.payload, m.retain) for m in messages])
    print(f"{len(messages)} {elapsed}")


def core_alone(messages: list) -> float:
    core = AnalyzerCore(Engine(), "bench", OutTopics())
    raw = [RawMessage(0.0, m.topic, m.payload, 1, m.retain) for m in messages]
    begin = time.perf_counter()
    for first in range(0, len(raw), 1000):
        core.feed(raw[first : first + 1000])
    core.flush()
    return len(raw) / (time.perf_counter() - begin)


async def over_the_broker(broker: MosquittoBroker, rows: int, ticks: int, total: int) -> dict[str, float]:
    sub = subprocess.Popen(
        ["mosquitto_sub", "-p", str(broker.port), "-t", "dc/#", "-q", "1", "-C", str(total), "-F", "%U"],
        stdout=subprocess.PIPE, text=True,
    )
    settings = ConnectionSettings(url=parse_broker_url(broker.url))
    analyzer = Analyzer(settings, Partition.of(["dc/#"], "bench"), restore=False)
    task = asyncio.create_task(analyzer.run())
    while analyzer.source.state is not ConnectionState.CONNECTED:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # mosquitto_sub subscribes too
    publisher = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--publish-to", str(broker.port), "--rows", str(rows),
        "--ticks", str(ticks), stdout=asyncio.subprocess.PIPE,
    )
    first = last = 0.0
    while analyzer.core.stats.messages < total:
        if analyzer.core.stats.messages and not first:
            first = time.time()
        await asyncio.sleep(0.002)
    last = time.time()
    published, publish_s = (await publisher.communicate())[0].split()
    analyzer.stop()
    await task
    stamps = [float(line) for line in sub.communicate(timeout=60)[0].split()]
    assert int(published) == total == len(stamps), "a consumer missed messages"
    return {
        "publisher": total / float(publish_s),
        "mosquitto_sub": total / (stamps[-1] - stamps[0]),
        "analyzer": total / (last - first),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=8, help="rows of 10 racks x 4 nodes (default 8)")
    parser.add_argument("--ticks", type=int, default=60, help="seconds of sim time (default 60)")
    parser.add_argument("--inflight", type=int, default=20,
                        help="broker max_inflight_messages per subscriber (Mosquitto default 20)")
    parser.add_argument("--publish-to", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish_to:
        publish_all(args.publish_to, args.rows, args.ticks)
        return
    messages = campus_stream(args.rows, args.ticks)
    print(f"campus: {args.rows} rows x 10 racks x 4 nodes x 8 GPUs, {args.ticks} s of sim time: "
          f"{len(messages):,} messages")
    ceiling = core_alone(messages)
    with tempfile.TemporaryDirectory() as directory:
        broker = MosquittoBroker(Path(directory), f"max_inflight_messages {args.inflight}\n")
        broker.start()
        try:
            rates = asyncio.run(over_the_broker(broker, args.rows, args.ticks, len(messages)))
        finally:
            broker.stop()
    print(f"broker max_inflight_messages {args.inflight}")
    print(f"publisher (QoS 1, own process): {rates['publisher']:>10,.0f} msg/s")
    print(f"mosquitto_sub (QoS 1):          {rates['mosquitto_sub']:>10,.0f} msg/s")
    print(f"analyzer over the broker:       {rates['analyzer']:>10,.0f} msg/s  "
          f"(ratio to mosquitto_sub {rates['analyzer'] / rates['mosquitto_sub']:.2f})")
    print(f"analyzer core alone (no I/O):   {ceiling:>10,.0f} msg/s  "
          f"(ratio to mosquitto_sub {ceiling / rates['mosquitto_sub']:.2f})")


if __name__ == "__main__":
    main()
