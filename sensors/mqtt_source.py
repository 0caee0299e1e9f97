"""The live MQTT source: batches of received messages, reconnecting on its own.

One of the drivers of the single pipeline (a source yields ``list[RawMessage]`` batches; the
console, the analyzers and the recorder consume them). A background task connects, subscribes
(again after every reconnect) and takes messages into a buffer of this source's own, a receive
buffer at a time (``sensors.mqtt_subscriber``; ../shared/mqtt.md section 1):

* normal mode: every message is acknowledged as it arrives, so the buffer is bounded and the
  oldest messages are dropped, counted, when the consumer falls behind (never unbounded
  growth; the newest values matter most to a live console);
* ``manual_ack=True`` (the recorder): nothing is acknowledged until the consumer calls
  ``acknowledge()`` once what it was given is safely on disk. Unacknowledged messages hold
  back the broker (at most ``max_inflight_messages``, 20 by default, are in flight), so nothing
  is ever dropped here and a crash loses nothing: the broker redelivers (../shared/mqtt.md
  section 6, finding C; aiomqtt #345 is why this is not done through aiomqtt)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from enum import StrEnum
from itertools import repeat

from sensors.messages import RawMessage
from sensors.mqtt_client import RECONNECT_CAP_S, Backoff, ConnectionSettings, refused_credentials
from sensors.mqtt_client import auth_backoff as new_auth_backoff
from sensors.mqtt_subscriber import Subscription, broker_answers
from sensors.mqtt_wire import BrokerError, ClosedByBroker, ConnectRefused

BATCH_LINGER = 0.005
"""Seconds a batch waits for more messages once one has come (not with manual acknowledgement,
where the broker's in-flight window bounds a batch anyway). One await per message handed the
consumer batches of one or two; with the wait a consumer gets tens to thousands at a time and
pays its per-call cost once for them: the console's ingest over Mosquitto ran about 2x faster
(bench/ingest.py, docs/performance.md). At most 5 ms of delay, against a 250 ms frame."""
"""CONNACK codes for refused credentials: v3.1.1 4/5, MQTT 5 0x86/0x87 (../shared/mqtt.md section 7, #15)."""


TAKEOVER_GRACE_S = 5.0
"""An exclusive source (``MqttSource(exclusive=True)``, the recorder) thrown off its session
within this long of connecting, by a broker that still answers, gives way (``SessionConflict``):
another client with its id was there first and has just taken the session back. Thrown off
later, it takes the session back itself, once, and the newcomer gives way: one flap, then one
owner (../shared/mqtt.md table row 19)."""
PROBE_TIMEOUT_S = 1.0


class SessionConflict(Exception):
    """Another client keeps taking this exclusive source's session: stop, don't fight over it."""


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


def describe(error: BaseException) -> str:
    """One line for the connection bar: the OS's words for a socket error ("Connection refused")."""
    if isinstance(error, OSError) and error.errno and not isinstance(error, ssl.SSLError):
        return os.strerror(error.errno)
    return str(error) or type(error).__name__


def _random_client_id() -> str:
    """For a clean session nobody needs to find again."""
    return f"rackwatch-{uuid.uuid4().hex[:16]}"


def default_client_id(role: str) -> str:
    """A stable client id per host, so a persistent session is found again after a restart."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return f"rackwatch-{role}-{host}"


class MqttSource:
    """Messages of the given topic filters from one broker, as batches.

    ``received`` counts messages taken off the wire, ``dropped`` those discarded because the
    consumer fell more than ``queue_size`` messages behind. ``state`` and ``last_error`` say
    how the connection is; ``on_state_change(state, detail)`` is called on every change.
    ``exclusive``: a persistent session only this client should hold (the recorder's); see
    ``TAKEOVER_GRACE_S``. ``batches`` then ends in ``SessionConflict`` rather than fight over it.
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
        exclusive: bool = False,
    ) -> None:
        if not filters:
            raise ValueError("at least one topic filter is needed")
        if qos not in (0, 1):
            raise ValueError(f"subscription QoS {qos}: the read path takes QoS 0 or 1 (sensors/mqtt_wire.py)")
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
        self.exclusive = exclusive
        self._connected_at = 0.0
        self.state = ConnectionState.OFFLINE
        self.last_error = ""
        self.received = 0
        self.dropped = 0
        self.connections = 0
        self.session_present: bool | None = None
        """Whether the broker resumed our session at the last CONNACK (persistent sessions)."""
        self._buffer: deque[tuple[RawMessage, int, int]] = deque()
        """(message, packet id, connection generation) not yet handed to the consumer."""
        self._arrived = asyncio.Event()
        self._subscription: Subscription | None = None
        self._generation = 0
        self._unacked: list[tuple[int, int]] = []
        """(connection generation, packet id) handed out, not yet committed by the consumer."""

    def _set_state(self, state: ConnectionState, detail: str = "") -> None:
        if state is self.state and detail == self.last_error:
            return
        self.state = state
        self.last_error = detail
        if self.on_state_change is not None:
            self.on_state_change(state, detail)

    def _deliver(self, messages: list[RawMessage], packet_ids: list[int]) -> None:
        """One receive buffer's messages into the bounded buffer (see the module docstring)."""
        self.received += len(messages)
        buffer = self._buffer
        generation = self._generation
        if self.manual_ack:
            for message, packet_id in zip(messages, packet_ids, strict=True):
                if len(buffer) >= self.queue_size and not message.qos:
                    self.dropped += 1  # QoS 0 escapes the broker's in-flight window: bound it here
                else:  # an unacknowledged QoS 1 message is bounded by that window
                    buffer.append((message, packet_id, generation))
        else:
            buffer.extend(zip(messages, packet_ids, repeat(generation), strict=False))
            excess = len(buffer) - self.queue_size
            if excess > 0:
                for _ in range(excess):
                    buffer.popleft()
                self.dropped += excess
        self._arrived.set()

    async def _connect_once(self) -> None:
        """One connection: connect, subscribe, take messages until it breaks (raises)."""
        self._generation += 1  # a resumed session's messages can come before SUBACK
        self._subscription = subscription = Subscription(self._deliver, self.manual_ack)
        try:
            async with asyncio.timeout(self.connect_timeout):
                await subscription.open(
                    self.settings, self.client_id or _random_client_id(),
                    True if self.clean_session is None else self.clean_session,
                    [(topic, self.qos) for topic in self.filters],
                )
        except BaseException as error:
            self._subscription = None
            if isinstance(error, TimeoutError):
                raise TimeoutError(f"no answer to CONNECT within {self.connect_timeout:g} s") from None
            raise
        self.connections += 1
        self._connected_at = time.monotonic()
        self.session_present = subscription.session_present
        try:
            self.backoff.reset()
            self.auth_backoff.reset()
            self._set_state(ConnectionState.CONNECTED)
            try:
                await subscription.wait_closed()
            except ClosedByBroker:
                await self._check_taken_over()
                raise
        finally:
            await subscription.close()  # acknowledgements given until now still go out first
            self._subscription = None

    async def _check_taken_over(self) -> None:
        """The broker closed an exclusive session's connection soon after we connected: if it is
        up and answering, it did so because another client connected with our client id (MQTT
        3.1.1 section 3.1.4; Mosquitto 2.0 sends no MQTT 5 reason for it either, checked), so
        raise ``SessionConflict`` rather than take the session back and throw the other off."""
        held = time.monotonic() - self._connected_at
        if not self.exclusive or held >= TAKEOVER_GRACE_S:
            return
        if await broker_answers(self.settings, _random_client_id(), PROBE_TIMEOUT_S):
            raise SessionConflict(
                f"another client uses client id {self.client_id}: the broker closed our connection "
                f"{held:.1f} s after we connected and still answers others"
            )

    async def _run(self) -> None:
        self._set_state(ConnectionState.CONNECTING, f"connecting to {self.settings.url}")
        while True:
            try:
                await self._connect_once()
            except ConnectRefused as error:
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
            except (BrokerError, TimeoutError, OSError) as error:
                self._set_state(ConnectionState.RECONNECTING, f"{self.settings.url}: {describe(error)}")
                await asyncio.sleep(self.backoff.next_delay())

    def _take(self, limit: int) -> list[RawMessage]:
        count = min(limit, len(self._buffer))
        taken = [self._buffer.popleft() for _ in range(count)]
        if self.manual_ack:
            self._unacked.extend((generation, packet_id) for _, packet_id, generation in taken if packet_id)
        return [message for message, _, _ in taken]

    def acknowledge(self) -> int:
        """Acknowledge every message handed out so far (manual-ack mode); returns how many.

        Messages that came over an earlier, broken connection are not acknowledged: their
        packet ids mean nothing on the new connection and the broker redelivers them.
        """
        handed_out, self._unacked = self._unacked, []
        subscription = self._subscription
        if subscription is not None:
            subscription.acknowledge(
                [packet_id for generation, packet_id in handed_out if generation == self._generation]
            )
        return len(handed_out)

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
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            self._set_state(ConnectionState.OFFLINE)
