"""Restart without reporting twice: read the partition's retained alert state, seed the engine.

On start an analyzer subscribes to ``<out>/alerts/state/#`` and reads what is retained there
before it scores anything. MQTT has no end-of-retained marker, so the reader also subscribes to
a topic of its own and publishes one message to it: the broker sends it after the retained
messages of the earlier subscription (one session, in order), so its arrival means "all read".

Restored alerts go into the alert book as already raised, and into the detectors' raise/clear
trackers at their severity, so the engine neither raises them again nor forgets to clear them:
when the condition has been normal for the rule's ``clear_after_s``, the usual "cleared"
transition comes out. An alert whose subject has not reported yet is seeded when it first does.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import aiomqtt

from console.core.analyzer.wire_out import OutTopics, StoredAlert, decode_state
from console.core.engine import Engine
from sensors.mqtt_client import ConnectionSettings

SYNC_TIMEOUT_S = 10.0


async def read_alert_state(
    settings: ConnectionSettings, out: OutTopics, partition: str | None, timeout: float = SYNC_TIMEOUT_S
) -> list[StoredAlert]:
    """Every retained alert state of ``partition`` (all partitions if None)."""
    marker = f"{out.prefix}/analyzer/sync/{uuid.uuid4().hex}"
    found: dict[str, StoredAlert] = {}
    async with asyncio.timeout(timeout), settings.client() as client:
        await client.subscribe(out.state_filter(), qos=1)
        await client.subscribe(marker, qos=1)
        await client.publish(marker, b"sync", qos=1)
        async for message in client.messages:
            topic = message.topic.value
            if topic == marker:
                break
            payload = message.payload if isinstance(message.payload, bytes) else b""
            alert = decode_state(payload)
            if alert is None or out.state(alert.key, alert.rule) != topic:
                continue
            if partition is None or alert.partition == partition:
                found[alert.id] = alert
        with contextlib.suppress(aiomqtt.MqttError):
            await client.unsubscribe([out.state_filter(), marker])
    return list(found.values())


def seed_alert(engine: Engine, alert: StoredAlert, now: float) -> bool:
    """Put a restored alert into the engine as raised; False while its subject is unknown."""
    level = 2 if alert.severity == "critical" else 1
    return engine.restore_alert(alert.rule, alert.key, level, alert.value, alert.message, now)
