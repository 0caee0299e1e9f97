"""The publish loop every agent shares: meta and status on each (re)connect, a report per interval.

A node agent is a ``NodeSource`` (static facts and one blocking sample) run on a schedule.
``NodeAgent.run`` only needs a *sink* (topic, payload, retain), so the same loop feeds MQTT
(``publish_over_mqtt``) or an in-process pipe (the demo). Sampling runs in a worker thread:
psutil, sysfs and NVML calls block, and a GPU that has fallen off the bus can stall NVML.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiomqtt

from sensors.codec import encode_payload
from sensors.mqtt_client import Backoff, ConnectionSettings, auth_backoff, refused_credentials
from sensors.topics import DEFAULT_PREFIX, meta_topic, node_topic, status_topic

log = logging.getLogger(__name__)

Sink = Callable[[str, bytes, bool], Awaitable[object]]
"""Where an agent's messages go: ``await sink(topic, payload, retain)``."""

ONLINE = b"online"
OFFLINE = b"offline"
_NOT_SEGMENT = re.compile(r"[^A-Za-z0-9_-]+")


def sanitize_segment(text: str, fallback: str = "node") -> str:
    """A topic segment ``[A-Za-z0-9_-]+`` made from any text (wire.md "Topics")."""
    segment = _NOT_SEGMENT.sub("-", text).strip("-")
    return segment or fallback


def host_name() -> str:
    """This machine's short host name as a topic segment (``gpu-07.lab.local`` -> ``gpu-07``)."""
    return sanitize_segment(socket.gethostname().split(".")[0])


@dataclass(frozen=True, slots=True)
class NodePlace:
    """Where a node sits in the campus: its topic is ``<prefix>/<site>/<hall>/<row>/<rack>/node/<node>``."""

    node: str
    rack: str
    site: str = "s1"
    hall: str = "h1"
    row: str = "r00"
    prefix: str = DEFAULT_PREFIX

    @classmethod
    def of(cls, node: str | None = None, rack: str | None = None, **segments: str) -> NodePlace:
        """A place with every segment sanitised; node and rack default to this host's name."""
        node = sanitize_segment(node) if node else host_name()
        rack = sanitize_segment(rack) if rack else node
        return cls(node=node, rack=rack, **{k: sanitize_segment(v) for k, v in segments.items()})

    @property
    def topic(self) -> str:
        return node_topic(self.site, self.hall, self.row, self.rack, self.node, prefix=self.prefix)


class NodeSource(Protocol):
    """What an agent publishes: static facts and one sample of a node."""

    def meta(self) -> dict[str, Any]:
        """Static facts for the retained ``/meta`` topic."""
        ...

    def sample(self) -> dict[str, Any]:
        """One node body, ``{"gpus": [...], "metrics": {...}}``; may block (runs in a thread)."""
        ...

    def close(self) -> None:
        """Release what the source holds (NVML, event sets)."""
        ...


def new_boot() -> str:
    """A name for this start of the publisher: start time plus a random part, unique per start."""
    return f"{int(time.time())}-{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class Stamper:
    """Adds ``ts``, ``seq`` (from 0 at each start) and ``boot`` to bodies (wire.md "Payloads")."""

    boot: str = field(default_factory=new_boot)
    seq: int = 0

    def stamp(self, body: dict[str, Any], ts: float | None = None) -> dict[str, Any]:
        payload = {"ts": time.time() if ts is None else ts, "seq": self.seq, "boot": self.boot, **body}
        self.seq += 1
        return payload


@dataclass(slots=True)
class NodeAgent:
    """One node's publisher: announce, then report every ``interval`` seconds until stopped."""

    topic: str
    source: NodeSource
    interval: float = 5.0
    stamper: Stamper = field(default_factory=Stamper)

    async def announce(self, sink: Sink) -> None:
        """Retained meta then ``online``: sent on every (re)connect, the broker may have lost them."""
        meta = await asyncio.to_thread(self.source.meta)
        await sink(meta_topic(self.topic), encode_payload(meta), True)
        await sink(status_topic(self.topic), ONLINE, True)

    async def report(self, sink: Sink) -> dict[str, Any]:
        """Sample once and send it; returns the payload sent."""
        body = await asyncio.to_thread(self.source.sample)
        payload = self.stamper.stamp(body)
        await sink(self.topic, encode_payload(payload), False)
        return payload

    async def run(self, sink: Sink, stop: asyncio.Event) -> None:
        """Announce, report on a fixed schedule (missed ticks are skipped), say ``offline`` at stop."""
        await self.announce(sink)
        next_tick = time.monotonic()
        while not stop.is_set():
            await self.report(sink)
            next_tick += self.interval
            now = time.monotonic()
            if next_tick < now:
                next_tick = now
            if await _wait(stop, next_tick - now):
                break
        await sink(status_topic(self.topic), OFFLINE, True)


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; True as soon as ``stop`` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        return False
    return True


async def publish_over_mqtt(
    agent: NodeAgent,
    settings: ConnectionSettings,
    stop: asyncio.Event,
    backoff: Backoff | None = None,
) -> None:
    """Run ``agent`` against a broker until ``stop``; reconnect with backoff on any MQTT error.

    The will is a retained ``offline`` on the status topic, so a killed agent or a cut link
    shows as offline after 1.5 x keepalive (../shared/mqtt.md "Last Will"). A clean stop
    publishes ``offline`` itself, then disconnects.
    """
    backoff = backoff or Backoff()
    slow_backoff = auth_backoff()
    will = aiomqtt.Will(status_topic(agent.topic), OFFLINE, qos=1, retain=True)
    identifier = f"rackwatch-agent-{agent.topic.rsplit('/', 1)[-1]}-{os.getpid()}-{agent.stamper.boot}"
    client = settings.client(will=will, identifier=identifier[:128])

    async def sink(topic: str, payload: bytes, retain: bool) -> None:
        await client.publish(topic, payload, qos=1, retain=retain)

    while not stop.is_set():
        try:
            async with client:
                log.info("connected to %s, publishing %s", settings.url, agent.topic)
                backoff.reset()
                slow_backoff.reset()
                await agent.run(sink, stop)
            return
        except aiomqtt.MqttError as error:
            if refused_credentials(error):
                delay = slow_backoff.next_delay()
                log.warning("broker %s refused our credentials (%s); retrying in %.0f s",
                            settings.url, error, delay)
            else:
                delay = backoff.next_delay()
                log.warning("broker %s: %s; retrying in %.1f s", settings.url, error, delay)
            await _wait(stop, delay)

