"""One subscribed MQTT connection on an asyncio ``Protocol``: messages handed over a receive buffer at a time.

``Subscription.open`` connects (TCP or TLS), sends CONNECT and SUBSCRIBE and waits for their
answers; from then on every receive buffer is split into messages (``sensors.mqtt_wire``) and
given to ``deliver`` in one call. QoS 1 messages are acknowledged when they arrive, with one
write per buffer, unless ``manual_ack``: then the owner calls ``acknowledge`` once the messages
are safe, and the broker's in-flight window holds back the rest (../shared/mqtt.md section 6).
Reconnecting is the owner's job (``MqttSource``): a ``Subscription`` is one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from sensors.messages import RawMessage
from sensors.mqtt_client import ConnectionSettings
from sensors.mqtt_wire import (
    CONNACK,
    DISCONNECT,
    PINGREQ,
    PINGRESP,
    SUBACK,
    BrokerError,
    ClosedByBroker,
    ConnectRefused,
    Control,
    connack,
    connect_packet,
    frame_length,
    pubacks,
    split,
    suback_codes,
    subscribe_packet,
)

Deliver = Callable[[list[RawMessage], list[int]], None]
"""Receives the messages of one receive buffer and their packet ids (0 at QoS 0)."""
SILENCE_FACTOR = 1.5
"""A broker silent for this many keepalive periods is gone (MQTT 3.1.1 section 3.1.2.10)."""


class _Protocol(asyncio.Protocol):
    def __init__(self, deliver: Deliver, manual_ack: bool) -> None:
        self.deliver = deliver
        self.manual_ack = manual_ack
        self.transport: asyncio.Transport | None = None
        self.controls: asyncio.Queue[Control] = asyncio.Queue()
        self.closed: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self.last_heard = time.monotonic()
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._needed = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_heard = time.monotonic()
        if self._partial:
            self._partial.append(data)
            self._partial_size += len(data)
            if self._partial_size < self._needed:
                return  # a large packet still coming: join once, not once per read
            data = b"".join(self._partial)
            self._partial.clear()
        try:
            self._take(data)
        except BrokerError as error:
            self.abort(error)

    def _take(self, data: bytes) -> None:
        messages: list[RawMessage] = []
        packet_ids: list[int] = []
        controls: list[Control] = []
        used = split(data, time.time(), messages, packet_ids, controls)
        if used < len(data):
            rest = data[used:]
            framed = frame_length(rest, 0)
            self._partial = [rest]
            self._partial_size = len(rest)
            self._needed = framed[1] if framed else len(rest) + 1
        for control in controls:
            self.controls.put_nowait(control)
        if messages:
            if not self.manual_ack:
                self.acknowledge([packet_id for packet_id in packet_ids if packet_id])
            self.deliver(messages, packet_ids)

    def acknowledge(self, packet_ids: list[int]) -> None:
        if packet_ids and self.transport is not None and not self.transport.is_closing():
            self.transport.write(pubacks(packet_ids))

    def abort(self, error: BaseException) -> None:
        if not self.closed.done():
            self.closed.set_result(error)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc or ClosedByBroker("broker closed the connection"))
        self.controls.put_nowait(Control(0, b""))  # wakes a waiter for CONNACK/SUBACK


class Subscription:
    """One connection to be opened with ``open``; ``wait_closed`` raises why it ended."""

    def __init__(self, deliver: Deliver, manual_ack: bool = False) -> None:
        self.deliver = deliver
        self.manual_ack = manual_ack
        self.session_present = False
        self._protocol: _Protocol | None = None
        self._pinger: asyncio.Task[None] | None = None

    async def open(
        self, settings: ConnectionSettings, client_id: str, clean_session: bool,
        filters: list[tuple[str, int]],
    ) -> None:
        """Connect and subscribe (no ``filters``: only connect); raises ``ConnectRefused``,
        ``BrokerError`` or ``OSError``.

        A resumed session's messages may arrive (and be acknowledged) before SUBACK does.
        """
        loop = asyncio.get_running_loop()
        context = settings.tls_context()
        url = settings.url
        _, protocol = await loop.create_connection(
            lambda: _Protocol(self.deliver, self.manual_ack), url.host, url.port,
            ssl=context, server_hostname=url.host if context else None,
        )
        self._protocol = protocol
        try:
            password = settings.password.value if settings.password else None
            protocol.transport.write(  # type: ignore[union-attr]
                connect_packet(client_id, clean_session, settings.keepalive, settings.username, password)
            )
            self.session_present, code = connack((await _answer(protocol, CONNACK)).body)
            if code:
                raise ConnectRefused(code)
            if filters:
                protocol.transport.write(subscribe_packet(1, filters))  # type: ignore[union-attr]
                _, granted = suback_codes((await _answer(protocol, SUBACK)).body)
                refused = [topic for (topic, _), code in zip(filters, granted, strict=False) if code >= 0x80]
                if refused:
                    raise BrokerError(f"broker refused the subscription to {', '.join(refused)}")
        except BaseException:
            protocol.abort(BrokerError("connect abandoned"))
            raise
        self._pinger = asyncio.create_task(self._ping(protocol, settings.keepalive), name="mqtt-keepalive")

    def acknowledge(self, packet_ids: list[int]) -> None:
        """PUBACK these QoS 1 messages now (manual-ack mode)."""
        if self._protocol is not None:
            self._protocol.acknowledge(packet_ids)

    async def wait_closed(self) -> None:
        """Until the connection ends; raises the reason (never returns normally)."""
        assert self._protocol is not None, "open() first"
        reason = await asyncio.shield(self._protocol.closed)
        raise reason if isinstance(reason, BaseException) else BrokerError("connection closed")

    async def close(self, timeout: float = 5.0) -> None:
        """DISCONNECT after whatever is queued to send, and wait for the broker to hang up.

        The broker handles a connection's packets in order, so once it has closed the socket
        after our DISCONNECT it has also taken every acknowledgement sent before it: a client
        reconnecting at once with the same id is not sent again what was acknowledged.
        """
        if self._pinger is not None:
            self._pinger.cancel()
        protocol = self._protocol
        if protocol is None:
            return
        transport = protocol.transport
        if transport is not None and not transport.is_closing():
            transport.write(DISCONNECT)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.shield(protocol.closed)
        protocol.abort(BrokerError("closed"))

    @staticmethod
    async def _ping(protocol: _Protocol, keepalive: int) -> None:
        interval = max(1, keepalive)
        while not protocol.closed.done():
            await asyncio.sleep(interval)
            silent = time.monotonic() - protocol.last_heard
            if silent > SILENCE_FACTOR * interval:
                protocol.abort(BrokerError(f"no answer from the broker for {silent:.0f} s"))
                return
            if protocol.transport is not None and not protocol.transport.is_closing():
                protocol.transport.write(PINGREQ)
            while not protocol.controls.empty():
                control = protocol.controls.get_nowait()
                if control.head != PINGRESP:
                    protocol.abort(BrokerError(f"unexpected packet 0x{control.head:02x}"))


async def _answer(protocol: _Protocol, head: int) -> Control:
    """The next control packet, which must be of this type."""
    control = await protocol.controls.get()
    if not control.head:  # the connection ended before the answer came
        reason = protocol.closed.result()
        raise reason if isinstance(reason, BaseException) else BrokerError("connection closed")
    if control.head & 0xF0 != head:
        raise BrokerError(f"expected packet 0x{head:02x}, got 0x{control.head:02x}")
    return control



async def broker_answers(settings: ConnectionSettings, client_id: str, timeout: float) -> bool:
    """Whether the broker takes a new connection (CONNECT, CONNACK accepted) within ``timeout``."""
    probe = Subscription(lambda messages, packet_ids: None)
    try:
        async with asyncio.timeout(timeout):
            await probe.open(settings, client_id, True, [])
    except (BrokerError, OSError, TimeoutError):
        return False
    await probe.close(timeout)
    return True
