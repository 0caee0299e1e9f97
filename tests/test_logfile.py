"""The recorded log: round trips, truncation at any byte, bad headers, rotation."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from sensors.logfile import LogFormatError, LogWriter, RotatingLogWriter, read_log
from sensors.messages import RawMessage

SUFFIXES = ["jsonl", "jsonl.gz", "jsonl.zst"]


def sample(count: int) -> list[RawMessage]:
    return [
        RawMessage(
            received=1_767_225_600.0 + i / 10,
            topic=f"dc/s1/h1/r01/rk{i % 3:02d}/rack",
            payload=b'{"ts": 1.0, "seq": %d}' % i if i % 5 else b"\xff\xfe\x00bad" + bytes([i % 256]),
            qos=i % 2,
            retain=i % 7 == 0,
        )
        for i in range(count)
    ]


def write(path: Path, messages: list[RawMessage], flush_every: int = 10) -> None:
    with LogWriter(path, "mqtt://127.0.0.1:1883", ["dc/#"]) as writer:
        for index, message in enumerate(messages):
            writer.write(message)
            if index % flush_every == flush_every - 1:
                writer.flush()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_gives_back_every_message(tmp_path: Path, suffix: str) -> None:
    messages = sample(300)
    path = tmp_path / f"log.{suffix}"
    write(path, messages)
    reader = read_log(path)
    assert list(reader) == messages
    assert reader.skipped == 0
    assert reader.header["rackwatch_log"] == 1
    assert reader.header["filters"] == ["dc/#"]
    assert reader.header["source"] == "mqtt://127.0.0.1:1883"


def test_lines_follow_the_wire_contract(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, [RawMessage(5.5, "a/b", b'{"x":1}', 1, True), RawMessage(6.0, "a/c", b"\xc0\xaf", 0, False)])
    header, good, bad = (orjson.loads(line) for line in path.read_bytes().splitlines())
    assert set(header) == {"rackwatch_log", "started", "source", "filters"}
    assert good == {"t": 5.5, "topic": "a/b", "payload": '{"x":1}', "qos": 1, "retain": True}
    assert "payload" not in bad
    assert base64.b64decode(bad["payload_b64"]) == b"\xc0\xaf"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_log_cut_anywhere_reads_up_to_the_cut(tmp_path: Path, suffix: str) -> None:
    messages = sample(200)
    whole = tmp_path / f"whole.{suffix}"
    write(whole, messages, flush_every=20)
    data = whole.read_bytes()
    cut_path = tmp_path / f"cut.{suffix}"
    previous = -1
    for cut in [*range(len(data) // 3, len(data), max(1, len(data) // 97)), len(data)]:
        cut_path.write_bytes(data[:cut])
        reader = read_log(cut_path)
        got = list(reader)
        assert got == messages[: len(got)]  # a prefix, in order, nothing invented
        assert len(got) >= previous  # more file never gives fewer messages
        previous = len(got)
        if suffix == "jsonl" and not data[:cut].endswith((b"\n", b"}")):
            assert reader.skipped == 1
    assert previous == len(messages)


def test_plain_log_cut_mid_line_counts_one_skipped(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, sample(50))
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 12])
    reader = read_log(path)
    assert len(list(reader)) == 49
    assert reader.skipped == 1


def test_zstd_log_cut_inside_a_frame_reads_every_flushed_frame(tmp_path: Path) -> None:
    """A recorder killed between flushes leaves a frame cut short: all earlier frames read."""
    path = tmp_path / "log.jsonl.zst"
    messages = sample(100)
    writer = LogWriter(path, "mqtt://127.0.0.1:1883", ["dc/#"])
    for message in messages[:60]:
        writer.write(message)
    writer.flush()
    flushed = path.stat().st_size
    for message in messages[60:]:
        writer.write(message)
    writer._stream.flush()  # compressed data reaches the file without ending the frame
    writer._raw.flush()
    data = path.read_bytes()
    assert len(data) > flushed
    path.write_bytes(data[: flushed + (len(data) - flushed) // 2])
    assert list(read_log(path)) == messages[:60]


def test_log_being_written_reads_what_is_flushed(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl.zst"
    messages = sample(30)
    writer = LogWriter(path, "mqtt://127.0.0.1:1883", ["dc/#"])
    for message in messages[:20]:
        writer.write(message)
    writer.flush()
    assert list(read_log(path)) == messages[:20]
    for message in messages[20:]:
        writer.write(message)
    writer.close()
    assert list(read_log(path)) == messages


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"not json at all\n", "not JSON"),
        (b'{"hello": 1}\n', "no rackwatch_log header"),
        (b'{"rackwatch_log": 9, "started": 0, "source": "x", "filters": []}\n', "version 9"),
        (b"[1, 2]\n", "no rackwatch_log header"),
    ],
)
def test_bad_header_is_a_clear_error(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(LogFormatError, match=words):
        read_log(path)


def test_plain_text_named_zst_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl.zst"
    path.write_bytes(b'{"rackwatch_log": 1}\n')
    with pytest.raises(LogFormatError, match="empty or not zstd-compressed"):
        read_log(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="cannot open log"):
        read_log(tmp_path / "nope.jsonl")


def test_broken_lines_in_the_middle_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, sample(3))
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, b'{"t": "noon", "topic": "a", "payload": "x"}\n')
    lines.insert(3, b'{"t": 1.0, "topic": "a", "payload_b64": "***"}\n')
    path.write_bytes(b"".join(lines))
    reader = read_log(path)
    assert len(list(reader)) == 3
    assert reader.skipped == 2


def test_writer_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text("precious")
    with pytest.raises(FileExistsError):
        LogWriter(path, "mqtt://127.0.0.1:1883", ["dc/#"])
    assert path.read_text() == "precious"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_rotation_by_size_gives_complete_logs_whose_union_is_the_stream(tmp_path: Path, suffix: str) -> None:
    messages = sample(400)
    writer = RotatingLogWriter(tmp_path / f"rec.{suffix}", "mqtt://127.0.0.1:1883", ["dc/#"], max_bytes=2000)
    for index, message in enumerate(messages):
        writer.write(message)
        if index % 10 == 9:
            writer.flush()
    writer.close()
    paths = sorted(tmp_path.glob(f"rec-*.{suffix}"))
    assert paths == writer.paths
    assert len(paths) >= 3
    union: list[RawMessage] = []
    for path in paths:
        assert path.name.endswith(f"-{paths.index(path):03d}.{suffix}")
        reader = read_log(path)
        union.extend(reader)
        assert reader.skipped == 0
    assert union == messages


def test_rotation_by_time(tmp_path: Path) -> None:
    writer = RotatingLogWriter(tmp_path / "rec.jsonl", "mqtt://127.0.0.1:1883", ["dc/#"], max_seconds=60)
    messages = sample(6)
    for index, message in enumerate(messages):
        writer.write(message)
        if index == 2:
            writer._current.started -= 61  # the first file is now a minute old
        writer.flush()
    writer.close()
    assert len(writer.paths) == 2
    assert [m for p in writer.paths for m in read_log(p)] == messages


def test_an_endless_line_is_dropped_not_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sensors.logfile.MAX_LINE_BYTES", 1000)
    monkeypatch.setattr("sensors.logfile.CHUNK_SIZE", 256)
    path = tmp_path / "log.jsonl"
    write(path, sample(3))
    header, *lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(header + lines[0] + b"x" * 5000 + b"\n" + b"".join(lines[1:]))
    reader = read_log(path)
    assert list(reader) == sample(3)
    assert reader.skipped == 1
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\x00" * 10_000)
    with pytest.raises(LogFormatError):
        read_log(binary)
