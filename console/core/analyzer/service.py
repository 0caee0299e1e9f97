"""``rackwatch analyze`` as a service: MqttSource -> AnalyzerCore -> OutputPublisher.

Start: read the partition's retained alert state (restore.py), then subscribe to the partition's
filters and score. Messages are evaluated per second of stream time; a stream that goes quiet is
evaluated after ``idle_flush_s`` of wall time so its last second is not held back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import aiomqtt

from console.core.analyzer.core import AnalyzerCore
from console.core.analyzer.partition import Partition
from console.core.analyzer.publisher import OutputPublisher
from console.core.analyzer.restore import read_alert_state
from console.core.analyzer.wire_out import OutTopics
from console.core.config import CoreConfig
from console.core.engine import Engine
from sensors.messages import RawMessage
from sensors.mqtt_client import Backoff, ConnectionSettings
from sensors.mqtt_source import ConnectionState, MqttSource
from sensors.sanitize import sanitize_text

MAX_HOLD_S = 2.0
"""Wall seconds a busy stream may go without an evaluation."""
DRAIN_TIMEOUT_S = 10.0
"""How long a stopping analyzer waits for the broker to take its last publications."""


class Analyzer:
    """One partition's analyzer; ``run()`` until ``stop()`` (or cancellation, as a kill would)."""

    def __init__(
        self,
        settings: ConnectionSettings,
        partition: Partition,
        out: OutTopics | None = None,
        config: CoreConfig | None = None,
        prefix: str = "dc",
        *,
        restore: bool = True,
        rollup_every_s: float = 5.0,
        idle_flush_s: float = 1.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.partition = partition
        self.out = out or OutTopics()
        self.core = AnalyzerCore(Engine(config, prefix=prefix), partition.name, self.out, rollup_every_s)
        self.restore = restore
        self.idle_flush_s = idle_flush_s
        self.progress = progress
        # Mosquitto serves ``$share`` subscriptions to MQTT 3.1.1 clients too (since 1.6).
        self.source = MqttSource(settings, partition.subscriptions(), qos=1, queue_size=200_000,
                                 on_state_change=self._on_input_state)
        self.publisher = OutputPublisher(settings)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish cleanly: evaluate what is pending, publish it, return."""
        self._stopping.set()

    async def _restore(self) -> None:
        backoff = Backoff(first=0.5, cap=30.0, floor=0.5)
        while True:
            try:
                alerts = await read_alert_state(self.settings, self.out, self.partition.name)
                break
            except (aiomqtt.MqttError, TimeoutError, OSError) as error:
                detail = sanitize_text(str(error) or type(error).__name__)
                self._say(f"cannot read the retained alert state yet ({detail}); retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff.next_delay())
                if self._stopping.is_set():
                    return
        count = self.core.restore(alerts)
        self._say(f"restored {count} live alert(s) of partition {self.partition.name}")

    async def run(self) -> None:
        sender = asyncio.create_task(self.publisher.run(), name="analyzer-publisher")
        # Small on purpose: when scoring falls behind, the source's own bounded buffer fills and
        # drops (counted) instead of this queue growing without bound.
        queue: asyncio.Queue[list[RawMessage]] = asyncio.Queue(maxsize=4)
        pump: asyncio.Task | None = None
        try:
            if self.restore:
                await self._restore()
            pump = asyncio.create_task(self._pump(queue), name="analyzer-source")
            await self._loop(queue, pump)
            self.publisher.send(self.core.flush())
            if self.core.stats.evaluations:
                self.publisher.send(self.core.rollups())  # leave the latest picture retained
            try:
                await asyncio.wait_for(self.publisher.drained(), DRAIN_TIMEOUT_S)
            except TimeoutError:
                self._say(f"broker unreachable: {self.publisher.queued} publication(s) not sent")
        finally:
            for task in (pump, sender):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _pump(self, queue: asyncio.Queue[list[RawMessage]]) -> None:
        async for batch in self.source.batches():
            await queue.put(batch)

    async def _loop(self, queue: asyncio.Queue[list[RawMessage]], pump: asyncio.Task) -> None:
        last_said = last_flush = time.monotonic()
        stopping = asyncio.create_task(self._stopping.wait())
        evaluations = 0
        try:
            while not self._stopping.is_set():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait(
                    {getter, stopping, pump}, timeout=self.idle_flush_s, return_when=asyncio.FIRST_COMPLETED
                )
                if pump in done:
                    getter.cancel()
                    pump.result()
                    return
                if getter in done:
                    self.publisher.send(self.core.feed(getter.result()))
                else:
                    getter.cancel()
                if getter not in done or time.monotonic() - last_flush >= MAX_HOLD_S:
                    # Quiet stream, or a busy one whose stream second never closes (a clock far ahead).
                    self.publisher.send(self.core.flush())
                if self.core.stats.evaluations != evaluations:
                    evaluations, last_flush = self.core.stats.evaluations, time.monotonic()
                if self.progress is not None and time.monotonic() - last_said >= 10.0:
                    last_said = time.monotonic()
                    self._say(self.status_line())
        finally:
            stopping.cancel()

    def status_line(self) -> str:
        s = self.core.stats
        stream = self.core.evaluated_until
        stamp = time.strftime("%H:%M:%S", time.gmtime(stream)) if stream == stream else "-"
        link = self.source.state.value
        return (f"analyze {self.partition.name}: {s.messages:,} msgs, stream {stamp}Z, raised {s.raised}, "
                f"cleared {s.cleared}, restored {s.restored}, not repeated {s.suppressed}, "
                f"published {self.publisher.sent:,}, input {link}, dropped {self.source.dropped}")

    def _on_input_state(self, state: ConnectionState, detail: str) -> None:
        if state is ConnectionState.CONNECTED:
            self._say(f"subscribed to {', '.join(self.partition.subscriptions())}, analyzing")
        elif state in (ConnectionState.RECONNECTING, ConnectionState.AUTH_FAILED):
            self._say(f"input not connected: {sanitize_text(detail)}")

    def _say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)
