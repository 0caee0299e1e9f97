"""Load (issue 8, item 3): a flood the engine cannot keep up with is dropped, counted and shown.

Between the network and the core there is one queue, the MqttSource buffer (bounded; the
pipeline pulls batches from it and holds none of its own). When the consumer falls behind the
oldest messages are dropped and counted; the connection bar shows the count, the console keeps
drawing, and every message is either ingested or counted as dropped. This checks that drops are
counted and shown, not speed; bench/soak_load.py measures rate and memory over minutes.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable

import orjson

from console.app import RackwatchApp
from console.commands import connect
from console.core.engine import Engine
from console.settings import Settings
from sensors.broker_url import parse_broker_url
from sensors.messages import RawMessage
from sensors.mqtt_client import ConnectionSettings
from tests.mosquitto import MosquittoBroker
from tests.ui_support import shown_text, wait_for

FLOOD = 3000
QUEUE = 100
TOPIC = "dc/s1/h1/r01/rk03/rack"


class SlowEngine(Engine):
    """The real engine on a machine too busy to keep up: a fixed pause per batch."""

    def ingest(self, messages: Iterable[RawMessage]) -> None:
        time.sleep(0.2)
        super().ingest(messages)


def _flood(port: int) -> None:
    now = time.time()
    lines = b"".join(
        orjson.dumps({"ts": now, "seq": seq, "boot": "load", "metrics": {"power_kw": 30.0}}) + b"\n"
        for seq in range(FLOOD)
    )
    subprocess.run([shutil.which("mosquitto_pub") or "mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
                    "-q", "1", "-t", TOPIC, "-l"], input=lines, check=True, timeout=60)


async def test_a_flood_is_dropped_counted_and_shown_while_the_console_keeps_drawing(
    broker: MosquittoBroker,
) -> None:
    settings = Settings(bell=False)
    pipeline = connect.build(settings, ConnectionSettings(url=parse_broker_url(broker.url), keepalive=5))
    pipeline.engine = SlowEngine(prefix=settings.prefix)
    pipeline.evaluator.engine = pipeline.engine
    source = pipeline.source
    source.queue_size = QUEUE
    app = RackwatchApp(settings, pipeline)
    drawn: set[float] = set()

    def noting_frames(condition: Callable[[], bool]) -> Callable[[], bool]:
        def check() -> bool:
            if app.frame is not None:
                drawn.add(app.frame.stream_time)  # each frame carries the wall clock it was taken at
            return condition()

        return check

    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: "● connected" in shown_text(app), "the console connected")
        flood = asyncio.create_task(asyncio.to_thread(_flood, broker.port))
        await wait_for(pilot, noting_frames(flood.done), "the flood published")
        await flood
        await wait_for(pilot, noting_frames(lambda: source.received == FLOOD), "every message off the wire")
        assert source.dropped > 0
        ingested = pipeline.engine.ingestor
        await wait_for(pilot, noting_frames(lambda: ingested.received + source.dropped == FLOOD),
                       "the backlog ingested, or counted as dropped")
        await wait_for(pilot, lambda: f"drop {source.dropped:,}" in shown_text(app), "the drop count shown")
        assert len(drawn) >= 2, "the console stopped drawing under the flood"
        assert "● connected" in shown_text(app)
