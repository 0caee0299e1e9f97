"""The recorder: every message of a live source into a log, losing none.

Lossless means a message is acknowledged to the broker only after it sits in a flushed and
fsynced file (manual ack, ../shared/mqtt.md sections 1, 2 and 6 finding C). The price is
at-least-once delivery: after a reconnect the broker resends what was not yet acknowledged,
so redeliveries are dropped here on ``(topic, boot, seq)`` from the payload (wire.md,
"Payloads"), which never relies on MQTT's DUP flag or packet ids (mqtt.md section 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from sensors.messages import RawMessage
from sensors.mqtt_source import MqttSource


class LogSink(Protocol):
    """What the recorder writes into: LogWriter or RotatingLogWriter."""

    @property
    def size(self) -> int: ...

    def write(self, message: RawMessage) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def message_identity(payload: bytes) -> tuple[str | None, int] | None:
    """``(boot, seq)`` of a payload when it carries an integer ``seq``; None otherwise."""
    if b'"seq"' not in payload:
        return None
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    seq = document.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int):
        return None
    boot = document.get("boot")
    return (boot if isinstance(boot, str) else None, seq)


class Deduplicator:
    """Remembers the last ``per_topic`` identities of up to ``max_topics`` topics.

    Redeliveries come at most a broker's in-flight window plus one batch after the original
    (mqtt.md section 6 finding C: 20 with Mosquitto's defaults), so a window of a few hundred
    per topic is ample and memory stays bounded however long the recording runs.
    """

    def __init__(self, per_topic: int = 256, max_topics: int = 200_000) -> None:
        self.per_topic = per_topic
        self.max_topics = max_topics
        self.duplicates = 0
        self._seen: OrderedDict[str, OrderedDict[tuple[str | None, int], None]] = OrderedDict()

    def is_duplicate(self, message: RawMessage) -> bool:
        identity = message_identity(message.payload)
        if identity is None:
            return False
        recent = self._seen.get(message.topic)
        if recent is None:
            recent = self._seen[message.topic] = OrderedDict()
            if len(self._seen) > self.max_topics:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(message.topic)
        if identity in recent:
            self.duplicates += 1
            return True
        recent[identity] = None
        if len(recent) > self.per_topic:
            recent.popitem(last=False)
        return False


@dataclass(slots=True)
class RecorderStats:
    """What the recorder has done so far, for its progress line."""

    started: float = field(default_factory=time.monotonic)
    messages: int = 0
    duplicates: int = 0
    bytes_on_disk: int = 0
    flushes: int = 0
    rate: float = 0.0
    """Messages per second written over the last progress interval."""


ProgressCallback = Callable[[RecorderStats], None]


class Recorder:
    """Writes a source's batches into a log; acknowledges only what a flush made durable.

    A flush (fsync) costs milliseconds, so messages are grouped: a flush comes when
    ``flush_batch`` messages wait, when traffic pauses for ``idle_tick`` seconds, and at the
    latest ``max_delay`` seconds after the oldest waiting message arrived, which keeps the
    "a crash loses at most the last second" promise. ``flush_batch`` stays below the broker's
    in-flight window (Mosquitto ``max_inflight_messages``, default 20): the broker sends no
    more until we acknowledge, so a larger batch would wait for the idle tick every time.
    """

    def __init__(
        self,
        source: MqttSource,
        sink: LogSink,
        on_progress: ProgressCallback | None = None,
        progress_interval: float = 1.0,
        deduplicator: Deduplicator | None = None,
        flush_batch: int = 16,
        idle_tick: float = 0.01,
        max_delay: float = 0.5,
    ) -> None:
        self.source = source
        self.sink = sink
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        self.deduplicator = deduplicator or Deduplicator()
        self.flush_batch = flush_batch
        self.idle_tick = idle_tick
        self.max_delay = max_delay
        self.stats = RecorderStats()
        self._waiting = 0
        self._oldest_waiting = 0.0

    def record_batch(self, batch: list[RawMessage]) -> None:
        """Write one batch (an empty one means traffic paused); flush when it is time."""
        if batch and not self._waiting:
            self._oldest_waiting = time.monotonic()
        for message in batch:
            self._waiting += 1  # duplicates too: they are acknowledged with the rest
            if self.deduplicator.is_duplicate(message):
                continue
            self.sink.write(message)
            self.stats.messages += 1
        if self._waiting and (
            not batch
            or self._waiting >= self.flush_batch
            or time.monotonic() - self._oldest_waiting >= self.max_delay
        ):
            self.flush()

    def flush(self) -> None:
        """Make everything written durable, then (and only then) acknowledge it."""
        self.sink.flush()
        self.source.acknowledge()
        self._waiting = 0
        self.stats.flushes += 1
        self.stats.duplicates = self.deduplicator.duplicates
        self.stats.bytes_on_disk = self.sink.size

    async def _report(self) -> None:
        assert self.on_progress is not None
        last_count, last_time = 0, time.monotonic()
        while True:
            await asyncio.sleep(self.progress_interval)
            now = time.monotonic()
            self.stats.rate = (self.stats.messages - last_count) / max(now - last_time, 1e-9)
            last_count, last_time = self.stats.messages, now
            self.on_progress(self.stats)

    async def run(self) -> RecorderStats:
        """Record until cancelled; the log is flushed and closed however this ends."""
        reporter = asyncio.create_task(self._report()) if self.on_progress else None
        write_failed = False
        try:
            async with contextlib.aclosing(self.source.batches(idle_tick=self.idle_tick)) as batches:
                try:
                    async for batch in batches:
                        self.record_batch(batch)
                except asyncio.CancelledError:
                    if self._waiting:
                        self.flush()  # acknowledged while still connected: no redelivery next run
                    raise
        except OSError:
            write_failed = True
            raise
        finally:
            if reporter is not None:
                reporter.cancel()
            if write_failed:
                # Disk full or gone: what was not flushed was not acknowledged, so the broker
                # keeps it in our session; closing may fail the same way and must not hide why.
                with contextlib.suppress(OSError):
                    self.sink.close()
            else:
                self.sink.close()
                self.stats.bytes_on_disk = self.sink.size
                if self.on_progress is not None:
                    self.on_progress(self.stats)
        return self.stats
