"""The analyzer's own connection for what it publishes: in order, QoS 1, through broker outages.

Publications wait in a bounded queue while the broker is away; past ``limit`` the oldest are
dropped and counted (a retained state or rollup published later supersedes most of them).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

import aiomqtt

from console.core.analyzer.wire_out import Publication
from sensors.mqtt_client import Backoff, ConnectionSettings

BATCH = 256


class OutputPublisher:
    def __init__(
        self, settings: ConnectionSettings, client_id: str | None = None, limit: int = 200_000
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self.limit = limit
        self.sent = 0
        self.dropped = 0
        self.connected = False
        self.last_error = ""
        self._queue: deque[Publication] = deque()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def send(self, publications: Iterable[Publication]) -> None:
        for publication in publications:
            if len(self._queue) >= self.limit:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(publication)
        if self._queue:
            self._idle.clear()
            self._ready.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def drained(self) -> None:
        """Wait until everything queued so far has been acknowledged by the broker."""
        await self._idle.wait()

    async def run(self) -> None:
        options = {"identifier": self.client_id} if self.client_id else {}
        client = self.settings.client(**options)
        client.pending_calls_threshold = 2 * BATCH
        backoff = Backoff()
        while True:
            try:
                async with client:
                    self.connected = True
                    backoff.reset()
                    await self._pump(client)
            except aiomqtt.MqttError as error:
                self.connected = False
                self.last_error = str(error)[:120]
                await asyncio.sleep(backoff.next_delay())

    async def _pump(self, client: aiomqtt.Client) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._ready.clear()
                await self._ready.wait()
                continue
            chunk = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            try:
                await asyncio.gather(
                    *(client.publish(p.topic, p.payload, qos=p.qos, retain=p.retain) for p in chunk)
                )
            except aiomqtt.MqttError:
                self._queue.extendleft(reversed(chunk))  # resent after the reconnect: at least once
                raise
            self.sent += len(chunk)
