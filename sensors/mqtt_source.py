"""The live MQTT source: batches of received messages, reconnecting on its own.

One of the drivers of the single pipeline (a source yields ``list[RawMessage]`` batches; the
console, ``scan`` and the recorder consume them). aiomqtt 2.x has no automatic reconnect, so a
background task connects, subscribes (again after every reconnect), and pumps messages into
a buffer of this source's own (../shared/mqtt.md section 1):

* normal mode: aiomqtt has already acknowledged every message, so the buffer is bounded and
  the oldest messages are dropped, counted, when the consumer falls behind (never unbounded
  growth; the newest values matter most to a live console);
* ``manual_ack=True`` (the recorder): paho's manual acknowledgement is switched on (private
  API, aiomqtt issue #345 workaround) and the consumer calls ``acknowledge()`` once what it
  was given is safely on disk. Unacknowledged messages hold back the broker (at most
  ``max_inflight_messages``, 20 by default, are in flight), so nothing is ever dropped here
  and a crash loses nothing: the broker redelivers (../shared/mqtt.md section 6, finding C).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from enum import StrEnum
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from sensors.messages import RawMessage
from sensors.mqtt_client import RECONNECT_CAP_S, Backoff, ConnectionSettings, refused_credentials
from sensors.mqtt_client import auth_backoff as new_auth_backoff

BATCH_LINGER = 0.005
"""Seconds a batch waits for more messages once one has come (not with manual acknowledgement,
where the broker's in-flight window bounds a batch anyway). One await per message handed the
consumer batches of one or two; with the wait a consumer gets tens to thousands at a time and
pays its per-call cost once for them: the console's ingest over Mosquitto ran about 2x faster
(bench/ingest.py, docs/performance.md). At most 5 ms of delay, against a 250 ms frame."""
"""CONNACK codes for refused credentials: v3.1.1 4/5, MQTT 5 0x86/0x87 (../shared/mqtt.md section 7, #15)."""


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    """First connection attempt under way."""
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    """Connection lost or broker unreachable; retrying with backoff."""
    AUTH_FAILED = "auth_failed"
    """The broker refused our credentials; retrying slowly."""
    OFFLINE = "offline"
    """The source is stopped."""


StateCallback = Callable[[ConnectionState, str], None]


def check_filter(topic_filter: str) -> str:
    """The filter itself, or ValueError saying what is wrong (MQTT 3.1.1 section 4.7)."""
    levels = topic_filter.split("/")
    if not topic_filter or "\x00" in topic_filter or len(topic_filter.encode()) > 65535:
        raise ValueError(f"bad topic filter {topic_filter!r}: empty, too long or holds a NUL")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise ValueError(f"bad topic filter {topic_filter!r}: '#' must be a whole last level, as in dc/#")
        if "+" in level and level != "+":
            raise ValueError(f"bad topic filter {topic_filter!r}: '+' must be a whole level, as in dc/+/h1")
    return topic_filter


def default_client_id(role: str) -> str:
    """A stable client id per host, so a persistent session is found again after a restart."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return f"rackwatch-{role}-{host}"


class MqttSource:
    """Messages of the given topic filters from one broker, as batches.

    ``received`` counts messages taken off the wire, ``dropped`` those discarded because the
    consumer fell more than ``queue_size`` messages behind. ``state`` and ``last_error`` say
    how the connection is; ``on_state_change(state, detail)`` is called on every change.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        filters: Sequence[str],
        qos: int = 1,
        client_id: str | None = None,
        *,
        clean_session: bool | None = None,
        manual_ack: bool = False,
        queue_size: int = 10_000,
        on_state_change: StateCallback | None = None,
        backoff: Backoff | None = None,
        auth_backoff: Backoff | None = None,
        connect_timeout: float = 20.0,
    ) -> None:
        if not filters:
            raise ValueError("at least one topic filter is needed")
        self.settings = settings
        self.filters = [check_filter(f) for f in filters]
        self.qos = qos
        self.client_id = client_id
        self.clean_session = clean_session
        self.manual_ack = manual_ack
        self.queue_size = queue_size
        self.on_state_change = on_state_change
        self.backoff = backoff or Backoff(first=0.2, cap=RECONNECT_CAP_S, floor=0.2)
        self.auth_backoff = auth_backoff or new_auth_backoff()
        self.connect_timeout = connect_timeout
        self.state = ConnectionState.OFFLINE
        self.last_error = ""
        self.received = 0
        self.dropped = 0
        self.connections = 0
        self.session_present: bool | None = None
        """Whether the broker resumed our session at the last CONNACK (persistent sessions)."""
        self._buffer: deque[tuple[int, float, aiomqtt.Message]] = deque()
        self._arrived = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._generation = 0
        self._unacked: list[tuple[int, int, int]] = []
        """(connection generation, packet id, QoS) handed out, not yet committed by the consumer."""

    def _set_state(self, state: ConnectionState, detail: str = "") -> None:
        if state is self.state and detail == self.last_error:
            return
        self.state = state
        self.last_error = detail
        if self.on_state_change is not None:
            self.on_state_change(state, detail)

    def _new_client(self) -> aiomqtt.Client:
        options: dict[str, Any] = {}
        if self.client_id is not None:
            options["identifier"] = self.client_id
        if self.clean_session is not None:
            options["clean_session"] = self.clean_session
        client = self.settings.client(**options)
        paho = client._client
        if self.manual_ack:
            paho.manual_ack_set(True)
        on_connect = paho.on_connect

        def note_session(*args: Any) -> None:
            flags = args[2]
            self.session_present = bool(getattr(flags, "session_present", False))
            on_connect(*args)

        paho.on_connect = note_session
        return client

    async def _pump(self, client: aiomqtt.Client, generation: int) -> None:
        async for message in client.messages:
            self.received += 1
            if len(self._buffer) >= self.queue_size:
                if not self.manual_ack:
                    self._buffer.popleft()
                    self.dropped += 1
                elif message.qos == 0:
                    self.dropped += 1  # QoS 0 escapes the broker's in-flight window: bound it here
                    continue
                # An unacknowledged QoS 1 message is bounded by the broker's in-flight window.
            self._buffer.append((generation, time.time(), message))
            self._arrived.set()

    async def _connect_once(self) -> None:
        """One connection: connect, subscribe, pump until it breaks (raises MqttError)."""
        client = self._new_client()
        try:
            async with asyncio.timeout(self.connect_timeout):
                await client.__aenter__()
        except TimeoutError:
            # The TCP connect is bounded by paho (5 s); this is a broker that accepted the socket
            # but never answered CONNECT. Close it, or it might finish later and take our session.
            client._client.disconnect()
            raise
        try:
            self._generation += 1
            self._client = client
            self.connections += 1
            granted = await client.subscribe([(topic, self.qos) for topic in self.filters])
            refused = [
                topic
                for topic, code in zip(self.filters, granted, strict=False)
                if int(getattr(code, "value", code)) >= 0x80
            ]
            if refused:
                raise aiomqtt.MqttError(f"broker refused the subscription to {', '.join(refused)}")
            self.backoff.reset()
            self.auth_backoff.reset()
            self._set_state(ConnectionState.CONNECTED)
            await self._pump(client, self._generation)
            raise aiomqtt.MqttError("broker closed the connection")
        finally:
            self._client = None
            with contextlib.suppress(aiomqtt.MqttError, OSError, TimeoutError):
                async with asyncio.timeout(5):
                    await client.__aexit__(None, None, None)

    async def _run(self) -> None:
        self._set_state(ConnectionState.CONNECTING, f"connecting to {self.settings.url}")
        while True:
            try:
                await self._connect_once()
            except MqttConnectError as error:
                if refused_credentials(error):
                    delay = self.auth_backoff.next_delay()
                    self._set_state(
                        ConnectionState.AUTH_FAILED,
                        f"{self.settings.url} refused our credentials ({error}); retrying in {delay:.0f} s",
                    )
                else:
                    delay = self.backoff.next_delay()
                    self._set_state(ConnectionState.RECONNECTING, f"{self.settings.url}: {error}")
                await asyncio.sleep(delay)
            except (aiomqtt.MqttError, TimeoutError, OSError) as error:
                detail = str(error) or type(error).__name__
                if isinstance(error, TimeoutError):
                    detail = f"no answer to CONNECT within {self.connect_timeout:g} s"
                self._set_state(ConnectionState.RECONNECTING, f"{self.settings.url}: {detail}")
                await asyncio.sleep(self.backoff.next_delay())

    def _take(self, limit: int) -> list[RawMessage]:
        batch: list[RawMessage] = []
        while self._buffer and len(batch) < limit:
            generation, received, message = self._buffer.popleft()
            payload = message.payload
            if not isinstance(payload, bytes):
                payload = bytes(payload) if isinstance(payload, bytearray) else str(payload).encode()
            batch.append(
                RawMessage(
                    received=received,
                    topic=message.topic.value,
                    payload=payload,
                    qos=message.qos,
                    retain=message.retain,
                )
            )
            if self.manual_ack and message.qos > 0:
                self._unacked.append((generation, message.mid, message.qos))
        return batch

    def acknowledge(self) -> int:
        """Acknowledge every message handed out so far (manual-ack mode); returns how many.

        Messages that came over an earlier, broken connection are not acknowledged: their
        packet ids mean nothing on the new connection and the broker redelivers them.
        """
        handed_out, self._unacked = self._unacked, []
        self._send_acks(handed_out)
        return len(handed_out)

    def _send_acks(self, acks: list[tuple[int, int, int]]) -> None:
        client = self._client
        for generation, mid, qos in acks:
            if client is not None and generation == self._generation:
                client._client.ack(mid, qos)

    async def _drain_acks(self, limit: float = 5.0) -> None:
        """Let acknowledgements already queued reach the socket before we disconnect, so the
        broker does not resend what is safely on disk. The limit is generous: it is only spent
        while acknowledgements are still queued, which a starved event loop can make seconds."""
        client = self._client
        deadline = time.monotonic() + limit
        while client is not None and client._client.want_write() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    async def batches(
        self, max_batch: int = 5000, idle_tick: float | None = None
    ) -> AsyncIterator[list[RawMessage]]:
        """Yield what has arrived, in arrival order, waiting while nothing has.

        With ``idle_tick`` one empty batch comes when that many seconds pass without a message
        after some arrived, so a consumer that groups work (the recorder's flush) can finish it
        when traffic pauses; an idle source then sleeps until the next message.
        """
        runner = asyncio.create_task(self._run(), name="mqtt-source")
        tick_due = False
        try:
            while True:
                if not self._buffer:
                    self._arrived.clear()
                    waiter = asyncio.create_task(self._arrived.wait())
                    try:
                        done, _ = await asyncio.wait(
                            {waiter, runner},
                            timeout=idle_tick if tick_due else None,
                            return_when=asyncio.FIRST_COMPLETED,
                        )
                    finally:
                        waiter.cancel()
                    if runner in done:
                        runner.result()
                        return
                    if not done:
                        tick_due = False
                        yield []
                    continue
                tick_due = idle_tick is not None
                if not self.manual_ack and len(self._buffer) < max_batch:
                    await asyncio.sleep(BATCH_LINGER)
                yield self._take(max_batch)
        finally:
            await self._drain_acks()
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            self._set_state(ConnectionState.OFFLINE)
