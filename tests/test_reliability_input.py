"""Bad input through the console's ingest path (issue 8, item 2).

100,000 hostile messages (tests/fuzz_messages.py) go through the real pipeline into the real
engine: nothing raises, every message is either used or counted under a reason, and the counts
reach the screen. A sample far from its receive time (a skewed clock) is counted and kept out
of history, so it cannot push the ring buffer's window past every honest sample.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import numpy as np
import orjson

from console.app import RackwatchApp
from console.core.engine import Engine
from console.pipeline import Frame, Pipeline, SourceStatus
from console.settings import Settings
from sensors.messages import RawMessage
from sensors.sanitize import sanitize_text
from tests.fuzz_messages import NOW, hostile_messages
from tests.ui_support import shown_text, wait_for

FUZZ_COUNT = 100_000
RACK = "dc/s1/h1/r01/rk01/rack"
INLET = "s1/h1/r01/rk01/rack/inlet_temp_c"


class ListSource:
    """A finished source: the given batches, then the end of the stream."""

    def __init__(self, batches: list[list[RawMessage]]) -> None:
        self._batches = batches

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        for batch in self._batches:
            yield batch


def _status() -> SourceStatus:
    return SourceStatus("replay", "ended", "hostile input")


def _pipeline(messages: list[RawMessage], batch: int = 1000) -> Pipeline:
    batches = [messages[i : i + batch] for i in range(0, len(messages), batch)]
    return Pipeline(Engine(), ListSource(batches), _status)


def rack_sample(seq: int, ts: float, received: float, inlet: float = 24.0) -> RawMessage:
    body = {"ts": ts, "seq": seq, "boot": "b", "metrics": {"inlet_temp_c": inlet}}
    return RawMessage(received=received, topic=RACK, payload=orjson.dumps(body), qos=1)


async def test_pipeline_survives_and_accounts_for_100k_hostile_messages() -> None:
    messages = list(hostile_messages(FUZZ_COUNT, seed=11))
    pipeline = _pipeline(messages)
    await pipeline.ingest()
    frames: list[Frame] = []
    await pipeline.deliver_frame(frames.append)

    assert pipeline.source_error is None
    engine = pipeline.engine
    ingest = engine.ingestor
    stats = frames[0].snapshot.stats
    assert ingest.received == pipeline.messages == FUZZ_COUNT == stats.received
    # Every message is used, or counted as a duplicate or under a reject reason: none vanish.
    rejected = sum(stats.rejected.values())
    assert stats.decoded + rejected == FUZZ_COUNT
    assert rejected > FUZZ_COUNT / 4 and stats.decoded > FUZZ_COUNT / 20
    assert len(stats.rejected) >= 8, stats.rejected
    assert stats.duplicates > 0
    count = len(engine.registry.keys)
    latest = engine.latest[:count]
    assert np.all(np.isnan(latest) | np.isfinite(latest))
    for event in engine.events:
        for text in (event.kind, event.where, event.detail, event.site):
            assert text == sanitize_text(text) and "\x1b" not in text


async def test_skewed_samples_are_counted_and_kept_out_of_history() -> None:
    start = NOW
    readings = [(start + i, start + i, 24.0) for i in range(20)]  # (ts, received, inlet)
    # A clock a day ahead, one two hours behind; both arrive now.
    readings.insert(10, (start + 10 + 86_400, start + 10, 99.0))
    readings.insert(15, (start + 14 - 7_200, start + 14, 98.0))
    # Within tolerance: a few minutes ahead, half an hour behind (NTP-less but sane devices).
    readings += [(start + 21 + 120, start + 21, 24.0), (start + 22 - 1_800, start + 22, 24.0)]
    messages = [rack_sample(seq, ts, received, inlet) for seq, (ts, received, inlet) in enumerate(readings)]
    pipeline = _pipeline(messages, batch=4)
    await pipeline.ingest()
    frames: list[Frame] = []
    await pipeline.deliver_frame(frames.append)

    assert pipeline.source_error is None
    assert frames[0].snapshot.stats.rejected.get("clock_skew") == 2
    engine = pipeline.engine
    times, values = engine.history.series(engine.registry.index[INLET])
    honest = [start + seq for seq in range(20)]
    assert set(honest) <= set(times.tolist()), "honest samples after the skewed one were lost"
    assert 99.0 not in values.tolist() and 98.0 not in values.tolist()
    assert engine.stream_time < start + 3_600


async def test_duplicates_and_out_of_order_seq_are_stored_once() -> None:
    order = [0, 1, 2, 2, 1, 5, 3, 4, 4, 6, 0]  # redeliveries and a reordered burst
    messages = [rack_sample(seq, NOW + seq, NOW + 10 + i * 0.01, inlet=20.0 + seq)
                for i, seq in enumerate(order)]
    pipeline = _pipeline(messages, batch=3)
    await pipeline.ingest()
    frames: list[Frame] = []
    await pipeline.deliver_frame(frames.append)

    stats = frames[0].snapshot.stats
    assert pipeline.source_error is None
    assert stats.duplicates == 4
    assert stats.decoded == len(order)
    engine = pipeline.engine
    times, values = engine.history.series(engine.registry.index[INLET])
    assert times.tolist() == [NOW + seq for seq in range(7)]
    assert values.tolist() == [20.0 + seq for seq in range(7)]


async def test_console_shows_rejections_by_reason() -> None:
    messages = list(hostile_messages(3000, seed=5))
    messages += [rack_sample(1000 + i, NOW + 3 + 86_400, NOW + 3) for i in range(3)]
    app = RackwatchApp(Settings(bell=False), _pipeline(messages, batch=500))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and app.frame.snapshot.stats.received == 3003,
                       "every message ingested")
        stats = app.frame.snapshot.stats
        total = sum(stats.rejected.values())
        assert f"rej {total:,}" in shown_text(app)
        await pilot.press("i")
        await wait_for(pilot, lambda: "Rejected by reason" in shown_text(app), "the ingest breakdown")
        await pilot.pause(0.6)
        lines = shown_text(app).splitlines()
        assert stats.rejected.get("clock_skew", 0) >= 3  # ours, plus the generator's skewed clocks
        for reason, count in stats.rejected.items():
            assert any(reason in line and f"{count:,}" in line for line in lines), (reason, count)
        assert any("duplicates dropped" in line and f"{stats.duplicates:,}" in line for line in lines)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Rejected by reason" not in shown_text(app), "the breakdown closed")
    assert not math.isnan(app.pipeline.stream_time)


async def test_a_value_too_big_to_store_is_refused_not_stored_as_infinity() -> None:
    # 1e300 is a finite double, but the engine keeps float32: stored, it would read as +inf
    # and trip every limit. It is refused as non-finite instead, and the previous value stays.
    messages = [rack_sample(0, NOW, NOW, inlet=24.0), rack_sample(1, NOW + 1, NOW + 1, inlet=1e300),
                rack_sample(2, NOW + 2, NOW + 2, inlet=-1e39)]
    pipeline = _pipeline(messages, batch=1)
    await pipeline.ingest()
    frames: list[Frame] = []
    await pipeline.deliver_frame(frames.append)

    engine = pipeline.engine
    assert pipeline.source_error is None
    assert frames[0].snapshot.stats.rejected.get("non_finite") == 2
    assert engine.latest[engine.registry.index[INLET]] == 24.0
    assert not any(t.rule == "limit" for t in frames[0].transitions)
