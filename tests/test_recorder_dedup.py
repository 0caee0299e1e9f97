"""De-duplication on (topic, boot, seq), and the log line codec under arbitrary input."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from sensors.logfile import decode_line, encode_line
from sensors.messages import RawMessage
from sensors.recorder import Deduplicator, message_identity


def message(topic: str, seq: int | None, boot: str | None = "b1") -> RawMessage:
    document: dict[str, object] = {"ts": 1.0}
    if seq is not None:
        document["seq"] = seq
    if boot is not None:
        document["boot"] = boot
    return RawMessage(1.0, topic, orjson.dumps(document), 1)


def test_identity_needs_an_integer_seq() -> None:
    assert message_identity(b'{"seq": 3, "boot": "x"}') == ("x", 3)
    assert message_identity(b'{"seq": 3}') == (None, 3)
    assert message_identity(b'{"seq": 3, "boot": 7}') == (None, 3)
    for payload in (b'{"seq": "3"}', b'{"seq": true}', b'{"seq": 1.5}', b"[1]", b'{"seq": ', b"\xff"):
        assert message_identity(payload) is None


def test_same_topic_boot_and_seq_is_a_duplicate_and_counted() -> None:
    dedup = Deduplicator()
    assert not dedup.is_duplicate(message("a", 1))
    assert dedup.is_duplicate(message("a", 1))
    assert not dedup.is_duplicate(message("b", 1))  # other topic
    assert not dedup.is_duplicate(message("a", 1, boot="b2"))  # publisher restarted
    assert not dedup.is_duplicate(message("a", None))  # nothing to go by: kept
    assert not dedup.is_duplicate(message("a", None))
    assert dedup.duplicates == 1


def test_memory_stays_bounded() -> None:
    dedup = Deduplicator(per_topic=8, max_topics=4)
    for topic in range(10):
        for seq in range(100):
            dedup.is_duplicate(message(f"t{topic}", seq))
    assert len(dedup._seen) == 4
    assert all(len(recent) == 8 for recent in dedup._seen.values())
    assert dedup.is_duplicate(message("t9", 99))
    assert not dedup.is_duplicate(message("t9", 0))  # forgotten long ago: kept, never wrongly dropped


@given(
    received=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    topic=st.text(min_size=1, max_size=40),
    payload=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    qos=st.integers(0, 2),
    retain=st.booleans(),
)
def test_any_message_survives_a_log_line(
    received: float, topic: str, payload: bytes, qos: int, retain: bool
) -> None:
    original = RawMessage(received, topic, payload, qos, retain)
    line = encode_line(original)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_line(line[:-1]) == original
