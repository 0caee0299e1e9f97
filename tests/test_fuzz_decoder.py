"""Fuzz the decoder with 100,000 hostile messages: nothing raises, every rejection is counted."""

from __future__ import annotations

import math

from sensors.codec import Decoder
from sensors.messages import Event, Rejected, Telemetry
from tests.fuzz_messages import hostile_messages

FUZZ_COUNT = 100_000


def test_decoder_survives_and_counts_100k_hostile_messages() -> None:
    decoder = Decoder()
    rejected = accepted = 0
    for message in hostile_messages(FUZZ_COUNT, seed=7):
        result = decoder.decode(message)
        if isinstance(result, Rejected):
            rejected += 1
            continue
        accepted += 1
        if isinstance(result, Telemetry):
            assert all(math.isnan(v) or math.isfinite(v) for v in result.values.values())
        if isinstance(result, Event):
            assert isinstance(result.detail, str) and len(result.detail) <= 4096
    assert accepted + rejected == FUZZ_COUNT
    assert decoder.rejects.total == rejected
    assert rejected > FUZZ_COUNT / 4 and accepted > FUZZ_COUNT / 20
    assert len(decoder.rejects.by_reason) >= 8, decoder.rejects.by_reason
