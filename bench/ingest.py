"""Ingest throughput over a real broker: client -> decode -> ``Engine.ingest``, against ``mosquitto_sub``.

Method (every number comes from one run on one machine):

1. The simulator's full hall (default 10 rows x 20 racks x 4 nodes x 8 GPUs, about 1,000
   messages and 50,000 readings a second of stream) is generated into a file first, so no
   consumer waits on the simulator.
2. A private Mosquitto (tests/mosquitto.py) gets one persistent session (``clean_session``
   false, fixed client id) per consumer: each subscribes to ``dc/#`` and disconnects.
3. A paho publisher in its own process publishes the whole stream (QoS 1, 1,000 in flight);
   the broker queues it for every absent session.
4. One consumer at a time reconnects and drains its backlog: the broker sends as fast as that
   consumer takes it, so the rate is the consumer's, not the publisher's. Rate = messages /
   (last message handled - start of the connection), the same for every consumer (a consumer
   may read much off the socket before it hands over its first message); CPU = the consumer
   process's user + system seconds.

Consumers: ``mosquitto_sub`` (the C client, the baseline), ``MqttSource`` (rackwatch's own
MQTT framing on asyncio, what the console uses) counting only, aiomqtt counting only (the client
it replaced), gmqtt counting only where it is installed (not a dependency: the other asyncio
client the issue named), ``MqttSource`` feeding the console's ``StreamEvaluator`` (decode, de-duplicate,
store, evaluate once per second) in a worker thread as ``Pipeline.ingest`` does (the real path,
without the pause it leaves the UI after each batch), and paho's own network thread feeding the
same evaluator (the other client design). Then the same messages through ``Engine.ingest``
in-process, no broker: the ceiling of one core.

    .venv/bin/python bench/ingest.py [--rows 10] [--racks 20] [--ticks 30] [--qos 1]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.flood import flood  # noqa: E402
from console.core.engine import Engine  # noqa: E402
from console.pipeline import StreamEvaluator  # noqa: E402
from sensors.broker_url import parse_broker_url  # noqa: E402
from sensors.codec import decode  # noqa: E402
from sensors.messages import RawMessage, Telemetry  # noqa: E402
from sensors.mqtt_client import ConnectionSettings  # noqa: E402
from sensors.mqtt_source import MqttSource  # noqa: E402
from sensors.simulator import CampusConfig, Simulator  # noqa: E402
from sensors.simulator.simulator import Outgoing  # noqa: E402
from tests.mosquitto import MosquittoBroker  # noqa: E402

START = 1767225600.0
DRAIN_TIMEOUT_S = 300.0
BROKER_CONFIG = "persistence false\nmax_queued_messages 0\nqueue_qos0_messages true\n"
"""Unlimited queues for the absent sessions; no database saves during the run."""


def generate(path: Path, campus: CampusConfig, ticks: int) -> tuple[int, int]:
    """Write the stream (one JSON array per line: topic, payload); returns (messages, readings).

    The retained messages and the first second go to ``warm-up`` beside it: engines ingest them
    before any timing, as a console that has run a while has met every channel (registering
    50,000 channels and growing the history to them is a one-off cost that would swamp a short
    run). The timed stream is the seconds after it.
    """
    simulator = Simulator(campus, seed=1, start=START)
    messages = readings = 0
    with path.open("wb") as out, warm_up_path(path).open("wb") as warm:
        warm.write(b"".join(map(_line, [*simulator.initial_messages(), *simulator.tick()])))
        for _ in range(ticks):
            for message in simulator.tick():
                out.write(_line(message))
                decoded = decode(message.topic, message.payload)
                messages += 1
                readings += len(decoded.names) if isinstance(decoded, Telemetry) else 0
    return messages, readings


def _line(message: Outgoing) -> bytes:
    return orjson.dumps([message.topic, message.payload.decode()]) + b"\n"


def warm_up_path(stream: Path) -> Path:
    return stream.with_name("warm-up.jsonl")


def load(path: Path) -> list[tuple[str, bytes]]:
    with path.open("rb") as stream:
        return [(topic, payload.encode()) for topic, payload in map(orjson.loads, stream)]


def publish_all(port: int, stream: Path) -> None:
    """The publisher process: every message at QoS 1, as fast as the broker acknowledges."""
    flood(port, [(topic, payload, False) for topic, payload in load(stream)])


def mosquitto_sub(port: int, qos: int, count: int | None) -> tuple[float, float]:
    """Register (``count`` None) or drain the C client's session; (wall seconds, CPU seconds)."""
    command = ["mosquitto_sub", "-p", str(port), "-c", "-i", "bench-mosquitto-sub", "-q", str(qos),
               "-t", "dc/#"]
    command += ["-E"] if count is None else ["-C", str(count), "-F", "%U"]
    begin = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - begin
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"mosquitto_sub exited with {process.returncode}")
    if count is not None and len(output.split()) != count:
        raise RuntimeError(f"mosquitto_sub received {len(output.split())} of {count}")
    return wall, usage.ru_utime + usage.ru_stime


class Drain:
    """Counts one consumer's messages and notes the first and last receive times."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.first = self.last = time.perf_counter()
        self.cpu_start = time.process_time()

    def took(self, batch: list[RawMessage]) -> bool:
        """Note a batch handled; True once all have come."""
        self.count += len(batch)
        self.last = time.perf_counter()
        return self.count >= self.total

    def result(self) -> tuple[float, float]:
        """(messages per second, CPU seconds of this process since the drain began)."""
        return self.count / (self.last - self.first), time.process_time() - self.cpu_start


async def aiomqtt_drain(url: str, qos: int, total: int) -> tuple[float, float]:
    """Drain the session ``bench-aiomqtt`` with aiomqtt, counting only; (msg/s, CPU s)."""
    settings = ConnectionSettings(url=parse_broker_url(url))
    drain = Drain(total)
    async with asyncio.timeout(DRAIN_TIMEOUT_S), settings.client(
        identifier="bench-aiomqtt", clean_session=False
    ) as client:
        async for message in client.messages:
            if drain.took([message]):  # type: ignore[list-item]
                break
    return drain.result()


async def gmqtt_drain(port: int, total: int) -> tuple[float, float]:
    """Drain the session ``bench-gmqtt`` with gmqtt (not a dependency), counting only."""
    import gmqtt
    from gmqtt.mqtt.constants import MQTTv311

    drain = Drain(total)
    finished = asyncio.get_running_loop().create_future()

    def on_message(*_: object) -> int:
        if drain.took([None]) and not finished.done():  # type: ignore[list-item]
            finished.set_result(None)
        return 0

    client = gmqtt.Client("bench-gmqtt", clean_session=False)
    client.on_message = on_message
    await client.connect("127.0.0.1", port, version=MQTTv311)
    await asyncio.wait_for(finished, DRAIN_TIMEOUT_S)
    await client.disconnect()
    return drain.result()


async def source_drain(url: str, qos: int, name: str, total: int,
                       work: Callable[[list[RawMessage]], object] | None) -> tuple[float, float]:
    """Drain the ``MqttSource`` session ``bench-<name>``; (msg/s, CPU s)."""
    settings = ConnectionSettings(url=parse_broker_url(url))
    source = MqttSource(settings, ["dc/#"], qos=qos, client_id=f"bench-{name}", clean_session=False,
                        queue_size=10_000_000)
    drain = Drain(total)
    async with asyncio.timeout(DRAIN_TIMEOUT_S):
        async for batch in source.batches():
            if work is not None:
                await asyncio.to_thread(work, batch)  # as Pipeline.ingest: the loop keeps reading
            if drain.took(batch):
                break
    return drain.result()


def register(port: int, qos: int, name: str) -> None:
    """Open the persistent session ``bench-<name>``: connect, subscribe, disconnect."""
    import paho.mqtt.client as paho

    subscribed = threading.Event()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-{name}", clean_session=False)
    client.on_connect = lambda c, *_: c.subscribe("dc/#", qos)
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not subscribed.wait(10):
            raise RuntimeError(f"bench-{name} could not subscribe")
    finally:
        client.disconnect()
        client.loop_stop()


def paho_drain(port: int, qos: int, total: int,
               work: Callable[[list[RawMessage]], object]) -> tuple[float, float]:
    """paho's network thread fills a deque; this thread takes batches from it into ``work``."""
    import paho.mqtt.client as paho

    arrived: deque[RawMessage] = deque()
    wake = threading.Event()

    def on_message(_client: object, _userdata: object, message: paho.MQTTMessage) -> None:
        arrived.append(RawMessage(time.time(), message.topic, message.payload, message.qos, message.retain))
        wake.set()

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-paho", clean_session=False)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    drain = Drain(total)
    client.loop_start()
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            wake.wait(1.0)
            wake.clear()
            batch = [arrived.popleft() for _ in range(min(len(arrived), 5000))]
            if batch:
                work(batch)
                if drain.took(batch):
                    return drain.result()
        raise RuntimeError(f"paho drain: {drain.count} of {total} messages in {DRAIN_TIMEOUT_S:.0f} s")
    finally:
        client.disconnect()
        client.loop_stop()


def warmed(stream: Path, received: float) -> Engine:
    """An engine that has ingested and evaluated the warm-up second (see ``generate``), received
    at ``received`` (the clock-skew check learns the stream's offset from it)."""
    engine = Engine()
    warm = [RawMessage(received, topic, payload, 1, False) for topic, payload in load(warm_up_path(stream))]
    engine.ingest(warm)
    engine.evaluate(engine.stream_time)
    return engine


def in_process(stream: Path) -> tuple[float, float]:
    """(messages/s, decode-only messages/s) of ``Engine.ingest`` on one core, no broker."""
    raw = [RawMessage(START, topic, payload, 1, False) for topic, payload in load(stream)]
    engine = warmed(stream, START)
    begin = time.process_time()
    for first in range(0, len(raw), 1000):
        engine.ingest(raw[first : first + 1000])
    ingest = len(raw) / (time.process_time() - begin)
    begin = time.process_time()
    for message in raw:
        decode(message.topic, message.payload)
    return ingest, len(raw) / (time.process_time() - begin)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10, help="rows of the hall (default 10)")
    parser.add_argument("--racks", type=int, default=20, help="racks per row (default 20)")
    parser.add_argument("--nodes", type=int, default=4, help="GPU nodes per rack, 8 GPUs each (default 4)")
    parser.add_argument("--ticks", type=int, default=30, help="seconds of stream (default 30)")
    parser.add_argument("--qos", type=int, default=1, choices=(0, 1), help="subscription QoS (default 1)")
    parser.add_argument("--publish-to", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stream", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def row(name: str, rate: float, cpu: float, total: int, readings: int, base: float) -> str:
    per_message = readings / total
    return (f"{name:<38} {rate:>10,.0f} msg/s {rate * per_message:>12,.0f} readings/s "
            f"{readings / cpu if cpu else float('nan'):>12,.0f} readings/CPU-s  "
            f"ratio {rate / base:5.2f}")


def main() -> None:
    args = parse()
    if args.publish_to:
        publish_all(args.publish_to, args.stream)
        return
    campus = CampusConfig(rows=args.rows, racks_per_row=args.racks, nodes_per_rack=args.nodes)
    with tempfile.TemporaryDirectory(prefix="rackwatch-ingest-") as folder:
        stream = Path(folder) / "stream.jsonl"
        total, readings = generate(stream, campus, args.ticks)
        print(f"stream: {total:,} messages, {readings:,} readings ({readings / total:.1f} per message), "
              f"{args.ticks} s of a hall of {args.rows * args.racks * args.nodes * 8:,} GPUs; QoS {args.qos}")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
        broker_dir = Path(folder) / "broker"
        broker_dir.mkdir()
        broker = MosquittoBroker(broker_dir, BROKER_CONFIG)
        broker.start()
        try:
            rows = measure(broker, args.qos, stream, total)
        finally:
            broker.stop()
        ceiling, decode_only = in_process(stream)
    base = rows[0][1]
    print(f"{'consumer':<38} {'(drain of the queued stream, one at a time)':>50}")
    for name, rate, cpu in rows:
        print(row(name, rate, cpu, total, readings, base))
    per_message = readings / total
    print(f"{'Engine.ingest in-process (1 core)':<38} {ceiling:>10,.0f} msg/s "
          f"{ceiling * per_message:>12,.0f} readings/s {'':>27}ratio {ceiling / base:5.2f}")
    print(f"{'codec decode only (1 core)':<38} {decode_only:>10,.0f} msg/s "
          f"{decode_only * per_message:>12,.0f} readings/s")
    print("ratio: to mosquitto_sub's rate in this run (goal >= 0.90 for the console path); "
          "readings/CPU-s: per core (goal >= 1,000,000)")


def measure(broker: MosquittoBroker, qos: int, stream: Path, total: int) -> list[tuple[str, float, float]]:
    evaluators = {name: StreamEvaluator(warmed(stream, time.time())) for name in ("source", "paho")}
    warm_up = {name: evaluator.engine.ingestor.received for name, evaluator in evaluators.items()}
    mosquitto_sub(broker.port, qos, None)
    for name in ("count", "aiomqtt", "gmqtt", "engine", "paho"):
        register(broker.port, qos, name)
    subprocess.run([sys.executable, __file__, "--publish-to", str(broker.port), "--stream", str(stream)],
                   check=True)
    wall, sub_cpu = mosquitto_sub(broker.port, qos, total)
    rows = [("mosquitto_sub (C client)", total / wall, sub_cpu)]
    rate, cpu = asyncio.run(source_drain(broker.url, qos, "count", total, None))
    rows.append(("MqttSource, count only", rate, cpu))
    rate, cpu = asyncio.run(aiomqtt_drain(broker.url, qos, total))
    rows.append(("aiomqtt, count only", rate, cpu))
    if importlib.util.find_spec("gmqtt"):
        rate, cpu = asyncio.run(gmqtt_drain(broker.port, total))
        rows.append(("gmqtt, count only", rate, cpu))
    else:
        print("gmqtt row skipped: not installed (.venv/bin/pip install gmqtt to compare it)")
    rate, cpu = asyncio.run(source_drain(broker.url, qos, "engine", total, evaluators["source"].feed))
    rows.append(("MqttSource + decode + Engine (console)", rate, cpu))
    rate, cpu = paho_drain(broker.port, qos, total, evaluators["paho"].feed)
    rows.append(("paho thread + decode + Engine", rate, cpu))
    for name, evaluator in evaluators.items():
        ingested = evaluator.engine.ingestor.received - warm_up[name]
        if ingested != total:
            raise RuntimeError(f"{name}: the engine took {ingested} of {total} messages")
    return rows


if __name__ == "__main__":
    main()
