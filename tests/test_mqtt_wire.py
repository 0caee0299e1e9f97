"""MQTT 3.1.1 framing of the subscriber's read path: whole buffers split into messages, at any cut."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensors.mqtt_client import refused_credentials
from sensors.mqtt_wire import (
    BrokerError,
    ConnectRefused,
    Control,
    connack,
    connect_packet,
    frame_length,
    packet,
    pubacks,
    split,
    suback_codes,
    subscribe_packet,
)


def publish(topic: str, payload: bytes, qos: int = 0, packet_id: int = 0, retain: bool = False) -> bytes:
    """A PUBLISH as a broker frames it (written out here, independently of the module)."""
    body = struct.pack("!H", len(topic.encode())) + topic.encode()
    if qos:
        body += struct.pack("!H", packet_id)
    return packet(0x30 | (qos << 1) | int(retain), body + payload)


publishes = st.lists(
    st.tuples(
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
        st.binary(max_size=300),
        st.sampled_from([0, 1]),
        st.integers(1, 65535),
        st.booleans(),
    ),
    max_size=12,
)


@given(publishes, st.data())
def test_any_cut_of_a_stream_yields_every_message_once_in_order(items, data) -> None:  # type: ignore[no-untyped-def]
    stream = b"".join(publish(*item) for item in items) + b"\xd0\x00"  # and a PINGRESP
    cut = data.draw(st.integers(0, len(stream)))
    messages, ids, controls = [], [], []
    used = split(stream[:cut], 1.0, messages, ids, controls)
    rest = stream[used:cut] + stream[cut:]
    used_rest = split(rest, 2.0, messages, ids, controls)
    assert used_rest == len(rest)
    assert [(m.topic, m.payload, m.qos, m.retain) for m in messages] == [
        (topic, payload, qos, retain) for topic, payload, qos, _, retain in items
    ]
    assert ids == [packet_id if qos else 0 for _, _, qos, packet_id, _ in items]
    assert controls == [Control(0xD0, b"")]


def test_lengths_of_every_size_class_are_framed() -> None:
    for size in (0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152):
        framed = packet(0x30, b"\x00\x01t" + b"x" * (size - 3 if size >= 3 else 0))
        start, stop = frame_length(framed, 0) or (0, 0)
        assert stop == len(framed) and start == len(framed) - max(size, 3)


def test_incomplete_header_waits_and_bad_length_is_refused() -> None:
    assert frame_length(b"\x30", 0) is None
    assert frame_length(b"\x30\x80", 0) is None
    with pytest.raises(BrokerError, match="remaining length"):
        frame_length(b"\x30\xff\xff\xff\xff\x01", 0)


@pytest.mark.parametrize(
    "bad", [b"\x32\x01\x00", b"\x30\x02\x00\x05", b"\x32\x04\x00\x02ab", b"\x34\x05\x00\x01t\x00\x01"]
)
def test_malformed_or_qos2_publish_is_a_protocol_error(bad: bytes) -> None:
    with pytest.raises(BrokerError):
        split(bad, 0.0, [], [], [])


def test_outgoing_packets_match_the_specification() -> None:
    # MQTT 3.1.1 section 3.1: protocol name, level 4, flags, keepalive, then the payload fields.
    assert connect_packet("c", True, 15) == b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x0f\x00\x01c"
    assert connect_packet("c", False, 60, "u", "p") == (
        b"\x10\x13\x00\x04MQTT\x04\xc0\x00\x3c\x00\x01c\x00\x01u\x00\x01p"
    )
    assert subscribe_packet(1, [("dc/#", 1)]) == b"\x82\x09\x00\x01\x00\x04dc/#\x01"
    assert pubacks([1, 258]) == b"\x40\x02\x00\x01\x40\x02\x01\x02"
    assert connack(b"\x01\x00") == (True, 0)
    assert suback_codes(b"\x00\x01\x01\x80") == (1, [1, 0x80])


def test_refused_credentials_are_told_apart_from_other_refusals() -> None:
    assert refused_credentials(ConnectRefused(4)) and refused_credentials(ConnectRefused(5))
    assert not refused_credentials(ConnectRefused(3))
    assert "bad user name or password" in str(ConnectRefused(4))
