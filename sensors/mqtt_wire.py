"""MQTT 3.1.1 packets for a subscriber: what it sends, and every PUBLISH of a receive buffer at once.

The live read path parses packets itself instead of through paho: paho reads one packet per
event-loop callback with several ``recv`` calls and sends one PUBACK per message, which held a
Python consumer to about 0.13 of ``mosquitto_sub``'s rate on the same backlog; splitting whole
receive buffers here took the client alone past the C client (bench/ingest.py,
docs/performance.md). Only what a subscriber needs is here (OASIS MQTT 3.1.1, sections 2-3):
CONNECT, SUBSCRIBE, PUBACK, PINGREQ, DISCONNECT out; CONNACK, SUBACK, PUBLISH, PINGRESP in.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sensors.messages import RawMessage

CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
SUBSCRIBE = 0x82
"""SUBSCRIBE's fixed header, with the reserved flags 0b0010 it must carry (section 3.8.1)."""
SUBACK = 0x90
PINGREQ = b"\xc0\x00"
PINGRESP = 0xD0
DISCONNECT = b"\xe0\x00"
MAX_REMAINING_LENGTH = 268_435_455
"""The largest packet body MQTT can frame (four length bytes, section 2.2.3)."""
CONNACK_REASONS = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}
"""CONNACK return codes (section 3.2.2.3)."""


class BrokerError(Exception):
    """The broker refused a request or broke the protocol; the connection is over."""


class ClosedByBroker(BrokerError):
    """The broker closed a working connection, saying nothing (3.1.1 has no way to say why)."""


class ConnectRefused(BrokerError):
    """CONNACK with a non-zero return code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"CONNACK code {code}: {CONNACK_REASONS.get(code, 'refused')}")
        self.code = code


@dataclass(frozen=True, slots=True)
class Control:
    """A packet other than PUBLISH: its first byte and its body."""

    head: int
    body: bytes


def _string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(data)) + data


def packet(head: int, body: bytes) -> bytes:
    """One packet: fixed header with the remaining length as a variable-length integer."""
    length = len(body)
    if length > MAX_REMAINING_LENGTH:
        raise ValueError(f"packet body of {length} bytes is too large for MQTT")
    header = bytearray([head])
    while True:
        length, digit = divmod(length, 128)
        header.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(header) + body


def connect_packet(
    client_id: str, clean_session: bool, keepalive: int, username: str | None = None,
    password: str | None = None,
) -> bytes:
    """CONNECT for protocol level 4 (3.1.1); no will: a subscriber has nothing to announce."""
    flags = (0x02 if clean_session else 0) | (0x80 if username is not None else 0)
    flags |= 0x40 if password is not None else 0
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + _string(client_id)
    if username is not None:
        body += _string(username)
    if password is not None:
        body += _string(password)
    return packet(CONNECT, body)


def subscribe_packet(packet_id: int, filters: list[tuple[str, int]]) -> bytes:
    body = struct.pack("!H", packet_id) + b"".join(_string(topic) + bytes([qos]) for topic, qos in filters)
    return packet(SUBSCRIBE, body)


def pubacks(packet_ids: list[int]) -> bytes:
    """PUBACKs for these QoS 1 messages, as one write."""
    return b"".join(b"\x40\x02" + packet_id.to_bytes(2, "big") for packet_id in packet_ids)


def connack(body: bytes) -> tuple[bool, int]:
    """(session present, return code) of a CONNACK body."""
    if len(body) != 2:
        raise BrokerError(f"malformed CONNACK of {len(body)} bytes")
    return bool(body[0] & 0x01), body[1]


def suback_codes(body: bytes) -> tuple[int, list[int]]:
    """(packet id, one granted QoS or 0x80 failure per filter) of a SUBACK body."""
    if len(body) < 3:
        raise BrokerError("malformed SUBACK")
    return int.from_bytes(body[:2], "big"), list(body[2:])


def frame_length(data: bytes, start: int) -> tuple[int, int] | None:
    """(body start, body end) of the packet at ``start``; None while its header is incomplete."""
    length = 0
    shift = 0
    index = start + 1
    end = len(data)
    while index < end:
        digit = data[index]
        index += 1
        length |= (digit & 0x7F) << shift
        if not digit & 0x80:
            return index, index + length
        shift += 7
        if shift > 21:
            raise BrokerError("malformed remaining length")
    return None


def split(
    data: bytes, received: float, messages: list[RawMessage], packet_ids: list[int],
    controls: list[Control],
) -> int:
    """Parse every whole packet of ``data``; returns how many bytes they took.

    PUBLISHes go to ``messages`` with their packet id in ``packet_ids`` (0 at QoS 0), other
    packets to ``controls``. A QoS 2 PUBLISH is a protocol error here: the subscription asks
    for at most QoS 1, and the broker sends at most what was granted (section 3.8.4).
    """
    position = 0
    end = len(data)
    while position < end:
        head = data[position]
        framed = frame_length(data, position)
        if framed is None or framed[1] > end:
            break
        start, stop = framed
        if head & 0xF0 == PUBLISH:
            qos = (head >> 1) & 0x03
            if stop - start < 2:
                raise BrokerError("malformed PUBLISH: no topic")
            topic_end = start + 2 + ((data[start] << 8) | data[start + 1])
            if topic_end + (2 if qos else 0) > stop:
                raise BrokerError("malformed PUBLISH: topic runs past the packet")
            topic = data[start + 2 : topic_end].decode("utf-8", "replace")
            if qos == 1:
                packet_ids.append((data[topic_end] << 8) | data[topic_end + 1])
                topic_end += 2
            elif qos == 0:
                packet_ids.append(0)
            else:
                raise BrokerError(f"QoS {qos} PUBLISH on a subscription granted at most QoS 1")
            messages.append(RawMessage(received, topic, data[topic_end:stop], qos, bool(head & 0x01)))
        else:
            controls.append(Control(head, data[start:stop]))
        position = stop
    return position
