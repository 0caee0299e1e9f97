"""Publish a stream to a broker as fast as it acknowledges: the publisher process of the benches."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence


def flood(port: int, messages: Sequence[tuple[str, bytes, bool]]) -> float:
    """Every (topic, payload, retain) at QoS 1 to the loopback broker on ``port``; returns the
    seconds from the first publish until the broker acknowledged the last. paho's own network
    thread with up to 1,000 in flight is faster than one asyncio client."""
    import paho.mqtt.client as paho

    acknowledged = threading.Semaphore(0)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_publish = lambda *_: acknowledged.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    begin = time.perf_counter()
    for topic, payload, retain in messages:
        client.publish(topic, payload, qos=1, retain=retain)
    for _ in messages:
        acknowledged.acquire()
    elapsed = time.perf_counter() - begin
    client.loop_stop()
    client.disconnect()
    return elapsed
