"""Replay: a clock the operator controls, and a log source paced by it (fake time, no sleeping)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from sensors.logfile import LogFormatError, LogWriter
from sensors.messages import RawMessage
from sensors.replay import MAX_SPEED, LogSource, ReplayClock

START = 1_767_225_600.0


class FakeTime:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def make_log(path: Path, count: int = 100, step: float = 1.0) -> list[RawMessage]:
    """``count`` messages, one every ``step`` seconds of receive time."""
    topic = "dc/s1/h1/r01/rk01/rack"
    messages = [RawMessage(START + i * step, topic, b'{"seq": %d}' % i, 1) for i in range(count)]
    with LogWriter(path, "mqtt://127.0.0.1:1883", ["dc/#"]) as writer:
        for message in messages:
            writer.write(message)
    return messages


def seqs(batch: list[RawMessage]) -> list[int]:
    return [int(m.payload[8:-1]) for m in batch]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "replay.jsonl.zst"
    make_log(path)
    return path


def test_clock_runs_at_speed_and_stops_when_paused() -> None:
    fake = FakeTime()
    clock = ReplayClock(speed=2.0, monotonic=fake)
    assert math.isnan(clock.now)
    clock.start(START)
    fake.value += 10
    assert clock.now == START + 20
    clock.pause()
    fake.value += 100
    assert clock.now == START + 20
    assert clock.wall_seconds_until(START + 30) == math.inf
    clock.resume()
    fake.value += 1
    assert clock.now == START + 22
    clock.set_speed(0.5)
    fake.value += 4
    assert clock.now == START + 24
    assert clock.wall_seconds_until(START + 25) == 2.0
    clock.seek(-10)
    assert clock.now == START + 14
    clock.faster()
    assert clock.speed == 1.0
    clock.slower()
    clock.slower()
    assert clock.speed == 0.25
    clock.set_speed(1e9)
    assert clock.speed == MAX_SPEED


def test_source_paces_messages_by_the_clock(log: Path) -> None:
    fake = FakeTime()
    source = LogSource(log, ReplayClock(speed=1.0, monotonic=fake))
    assert seqs(source.due()) == [0]
    assert source.due() == []
    fake.value += 2.5
    assert seqs(source.due()) == [1, 2]


def test_paused_clock_stops_the_stream(log: Path) -> None:
    fake = FakeTime()
    clock = ReplayClock(monotonic=fake)
    source = LogSource(log, clock)
    assert seqs(source.due()) == [0]  # the clock starts with the first message
    fake.value += 3
    assert seqs(source.due()) == [1, 2, 3]
    clock.pause()
    fake.value += 50
    assert source.due() == []
    clock.resume()
    fake.value += 1
    assert seqs(source.due()) == [4]


def test_speed_scales_the_pacing(log: Path) -> None:
    fake = FakeTime()
    slow = LogSource(log, ReplayClock(speed=1.0, monotonic=fake))
    fast = LogSource(log, ReplayClock(speed=10.0, monotonic=fake))
    slow.due(), fast.due()
    fake.value += 2
    assert len(slow.due()) == 2
    assert len(fast.due()) == 20


def test_seek_forward_delivers_the_skipped_span_and_back_rereads_from_the_start(log: Path) -> None:
    fake = FakeTime()
    clock = ReplayClock(monotonic=fake)
    rewound: list[float] = []
    source = LogSource(log, clock, on_rewind=lambda: rewound.append(clock.now))
    source.due()
    clock.seek(30)
    assert seqs(source.due()) == list(range(1, 31))
    clock.seek(-20)
    assert seqs(source.due()) == list(range(11))  # the state up to the target is rebuilt
    assert source.rewinds == 1
    assert rewound == [START + 10]
    fake.value += 1
    assert seqs(source.due()) == [11]


async def test_full_speed_source_yields_every_message_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl.gz"
    messages = make_log(path, count=1200, step=0.01)
    source = LogSource(path, realtime=False, max_batch=500)
    batches = [batch async for batch in source.batches()]
    assert [len(b) for b in batches] == [500, 500, 200]
    assert [m for b in batches for m in b] == messages
    assert source.finished


async def test_realtime_source_at_high_speed_ends_with_the_log(tmp_path: Path) -> None:
    path = tmp_path / "short.jsonl"
    messages = make_log(path, count=20, step=0.5)
    source = LogSource(path, ReplayClock(speed=MAX_SPEED))
    got = [m async for batch in source.batches() for m in batch]
    assert got == messages


def test_rotated_files_replay_as_one_log_and_rewind_to_the_first(tmp_path: Path) -> None:
    first, second = tmp_path / "rec-000.jsonl.zst", tmp_path / "rec-001.jsonl"
    messages = make_log(first, count=10)
    later = [RawMessage(m.received + 10, m.topic, m.payload, m.qos) for m in messages]
    with LogWriter(second, "mqtt://127.0.0.1:1883", ["dc/#"]) as writer:
        for message in later:
            writer.write(message)
    fake = FakeTime()
    clock = ReplayClock(monotonic=fake)
    source = LogSource([first, second], clock)
    source.due()
    fake.value += 19
    assert source.due() == messages[1:] + later
    assert source.finished
    clock.seek(-15)
    assert source.due() == messages[:5]
    assert source.rewinds == 1


def test_a_bad_file_among_several_is_refused_up_front(tmp_path: Path) -> None:
    good, bad = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    make_log(good, count=3)
    bad.write_text("hello\n")
    with pytest.raises(LogFormatError, match=r"b\.jsonl is not a rackwatch log"):
        LogSource([good, bad])


async def test_stay_open_source_waits_at_the_end_for_a_jump_back(tmp_path: Path) -> None:
    path = tmp_path / "open.jsonl"
    messages = make_log(path, count=5, step=0.5)
    clock = ReplayClock(speed=MAX_SPEED)
    source = LogSource(path, clock, stay_open=True)
    batches = source.batches()
    got: list[RawMessage] = []
    while len(got) < 5:
        got += await asyncio.wait_for(anext(batches), 5)
    assert got == messages
    clock.seek(-100)
    again = await asyncio.wait_for(anext(batches), 5)
    assert again[0] == messages[0]
    assert source.rewinds == 1
    await batches.aclose()  # type: ignore[attr-defined]
