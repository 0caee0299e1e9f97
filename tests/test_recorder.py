"""``rackwatch record`` against a real Mosquitto, published to with the real mosquitto_pub.

The recorder runs as the operator runs it, a subprocess, so SIGTERM and SIGKILL are real.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import orjson
import pytest

from sensors.logfile import LogFormatError, read_log
from sensors.messages import RawMessage
from sensors.mqtt_source import TAKEOVER_GRACE_S
from tests.mosquitto import MosquittoBroker, free_port
from tests.rackwatch_process import RACKWATCH, Proc

TOPIC = "dc/s1/h1/r01/rk01/rack"


def payload(seq: int, boot: str = "b1") -> bytes:
    document = {"ts": 1_767_225_600.0 + seq, "seq": seq, "boot": boot, "metrics": {"power_kw": 40.0}}
    return orjson.dumps(document)


def publish(broker: MosquittoBroker, payloads: Iterable[bytes], topic: str = TOPIC) -> None:
    """Publish with QoS 1, one message per line, through the real mosquitto_pub."""
    lines = b"".join(p + b"\n" for p in payloads)
    subprocess.run(
        [shutil.which("mosquitto_pub") or "mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port),
         "-q", "1", "-t", topic, "-l"],
        input=lines, check=True, timeout=30,
    )


def seqs(messages: Iterable[RawMessage]) -> list[int]:
    return [orjson.loads(m.payload)["seq"] for m in messages]


class RecorderProcess(Proc):
    """``rackwatch record`` as a subprocess, writing its log to ``out``."""

    def __init__(
        self, broker_url: str, out: Path, client_id: str, *extra: str, file_size_limit: int | None = None
    ) -> None:
        self.out = out

        def limit_file_size() -> None:
            if file_size_limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG

        super().__init__(
            "record", "--broker", broker_url, "--topic", "dc/#", "--out", str(out),
            "--client-id", client_id, "--keepalive", "5", *extra, preexec_fn=limit_file_size,
        )


def wait_for_messages(paths: Iterable[Path], count: int, timeout: float = 30.0) -> list[RawMessage]:
    """Read the logs (still being written) until they hold ``count`` messages."""
    deadline = time.monotonic() + timeout
    while True:
        got: list[RawMessage] = []
        for path in paths:
            with contextlib.suppress(LogFormatError):  # not created yet
                got.extend(read_log(path))
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def wait_for_all(paths: list[Path], count: int, timeout: float = 30.0) -> list[RawMessage]:
    """Read the logs until seq 0..count-1 are all there (duplicates do not count towards it)."""
    deadline = time.monotonic() + timeout
    while True:
        got = wait_for_messages(paths, 0)
        if set(seqs(got)) >= set(range(count)) or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_record_then_read_gives_back_every_published_message(
    broker: MosquittoBroker, tmp_path: Path, procs: list[Proc]
) -> None:
    out = tmp_path / "campus.jsonl.zst"
    recorder = RecorderProcess(broker.url, out, "rec-all")
    procs.append(recorder)
    recorder.wait_line("connected to")
    sent = [payload(seq) for seq in range(500)]
    publish(broker, sent)
    assert len(wait_for_messages([out], 500)) == 500
    assert recorder.stop() == 0
    reader = read_log(out)
    messages = list(reader)
    assert [m.payload for m in messages] == sent
    assert seqs(messages) == list(range(500))
    assert {(m.topic, m.qos, m.retain) for m in messages} == {(TOPIC, 1, False)}
    assert reader.skipped == 0
    assert reader.header["filters"] == ["dc/#"]
    assert reader.header["source"] == broker.url
    assert "stopped; 500 messages written" in recorder.stderr
    assert "Traceback" not in recorder.stderr


def test_broker_restarts_lose_no_qos1_message(
    broker: MosquittoBroker, tmp_path: Path, procs: list[Proc]
) -> None:
    first_log = tmp_path / "first.jsonl"
    first = RecorderProcess(broker.url, first_log, "rec-restart")
    procs.append(first)
    first.wait_line("connected to")
    publish(broker, [payload(seq) for seq in range(100)])
    assert len(wait_for_messages([first_log], 100)) == 100

    # The broker restarts under a running recorder, which reconnects and re-subscribes.
    broker.restart()
    publish(broker, [payload(seq) for seq in range(100, 200)])
    assert len(wait_for_messages([first_log], 200)) == 200
    assert first.stop() == 0
    assert "not connected" in first.stderr
    assert "(resumed its session)" in first.stderr  # the broker kept it over its restart

    # Published while no recorder runs, kept in the persistent session across a restart.
    publish(broker, [payload(seq) for seq in range(200, 300)])
    broker.restart()
    assert (broker.directory / "mosquitto.db").exists()
    second_log = tmp_path / "second.jsonl"
    second = RecorderProcess(broker.url, second_log, "rec-restart")
    procs.append(second)
    got = wait_for_all([first_log, second_log], 300)
    assert second.stop() == 0
    assert seqs(got) == list(range(300))


def test_sigkilled_recorder_leaves_a_readable_log_and_loses_nothing(
    broker: MosquittoBroker, tmp_path: Path, procs: list[Proc]
) -> None:
    first_log = tmp_path / "killed.jsonl.zst"
    first = RecorderProcess(broker.url, first_log, "rec-kill")
    procs.append(first)
    first.wait_line("connected to")
    publisher = subprocess.Popen(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", TOPIC, "-l"],
        stdin=subprocess.PIPE,
    )
    assert publisher.stdin is not None
    for seq in range(600):
        publisher.stdin.write(payload(seq) + b"\n")
        publisher.stdin.flush()
        if seq == 300:
            wait_for_messages([first_log], 200)
            first.process.kill()  # SIGKILL, mid-stream
            first.process.wait()
    publisher.stdin.close()
    assert publisher.wait(timeout=30) == 0

    reader = read_log(first_log)  # readable: no LogFormatError, no exception
    before_kill = list(reader)
    assert len(before_kill) >= 200, f"only {len(before_kill)} before the kill; stderr: {first.stderr}"
    assert seqs(before_kill) == list(range(len(before_kill))), f"gap before the kill: {seqs(before_kill)}"

    second_log = tmp_path / "resumed.jsonl.zst"
    second = RecorderProcess(broker.url, second_log, "rec-kill")
    procs.append(second)
    got = wait_for_all([first_log, second_log], 600)
    assert second.stop() == 0
    after = seqs(read_log(second_log))
    missing = set(range(600)) - set(seqs(before_kill)) - set(after)
    assert not missing, f"lost {sorted(missing)}; second recorder: {second.stderr}"
    # At most a broker in-flight window (20) is written before the kill and resent after it.
    resent = sorted(set(seqs(before_kill)) & set(after))
    assert len(got) - 600 <= 20, f"{len(got) - 600} duplicates, resent {resent}"


def test_redelivered_duplicates_are_written_once(
    broker: MosquittoBroker, tmp_path: Path, procs: list[Proc]
) -> None:
    out = tmp_path / "dups.jsonl"
    recorder = RecorderProcess(broker.url, out, "rec-dups")
    procs.append(recorder)
    recorder.wait_line("connected to")
    publish(broker, [payload(0), payload(1), payload(1), payload(2), payload(0, boot="b2"), payload(2)])
    publish(broker, [payload(0, boot="b2")], topic="dc/s1/h1/r01/rk02/rack")  # another topic: not a dup
    publish(broker, [b"no sequence here", b"no sequence here"])  # nothing to de-duplicate on
    got = wait_for_messages([out], 7)
    time.sleep(0.3)  # nothing more may arrive
    assert recorder.stop() == 0
    got = list(read_log(out))
    assert [(m.topic[-4:], m.payload) for m in got] == [
        ("rack", payload(0)), ("rack", payload(1)), ("rack", payload(2)), ("rack", payload(0, boot="b2")),
        ("rack", payload(0, boot="b2")), ("rack", b"no sequence here"), ("rack", b"no sequence here"),
    ]
    assert got[4].topic == "dc/s1/h1/r01/rk02/rack"
    assert "(2 duplicates dropped)" in recorder.stderr


def test_rotation_splits_the_recording_into_complete_logs(
    broker: MosquittoBroker, tmp_path: Path, procs: list[Proc]
) -> None:
    out = tmp_path / "rot.jsonl.gz"
    recorder = RecorderProcess(broker.url, out, "rec-rot", "--rotate-size", "1K")
    procs.append(recorder)
    recorder.wait_line("connected to")
    for start in range(0, 400, 50):
        publish(broker, [payload(seq) for seq in range(start, start + 50)])
    assert len(wait_for_messages(sorted(tmp_path.glob("rot-*.jsonl.gz")), 400)) == 400
    assert recorder.stop() == 0
    paths = sorted(tmp_path.glob("rot-*.jsonl.gz"))
    assert len(paths) >= 3
    readers = [read_log(p) for p in paths]
    assert seqs(m for r in readers for m in r) == list(range(400))
    assert all(r.skipped == 0 and r.header["rackwatch_log"] == 1 for r in readers)


def test_unreachable_broker_is_reported_and_retried_without_traceback(
    tmp_path: Path, procs: list[Proc]
) -> None:
    recorder = RecorderProcess(f"mqtt://127.0.0.1:{free_port()}", tmp_path / "x.jsonl", "rec-unreach")
    procs.append(recorder)
    recorder.wait_line("not connected")
    assert recorder.stop(signal.SIGINT) == 0
    assert "Connection refused" in recorder.stderr
    assert "Traceback" not in recorder.stderr
    assert read_log(tmp_path / "x.jsonl").header["rackwatch_log"] == 1


@pytest.mark.parametrize(
    ("out", "extra", "words"),
    [
        ("missing-dir/x.jsonl", [], "does not exist"),
        (".", [], "is a directory"),
        ("exists.jsonl", [], "exists; choose a new name"),
        ("x.jsonl", ["--rotate-size", "lots"], "bad --rotate-size"),
        ("x.jsonl", ["--rotate-every=soon"], "bad --rotate-every"),
        ("x.jsonl", ["--topic", "dc/#/rack"], "'#' must be a whole last level"),
        ("x.jsonl", ["--topic", "dc/h+/rack"], "'+' must be a whole level"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, out: str, extra: list[str], words: str) -> None:
    (tmp_path / "exists.jsonl").write_text("keep me")
    result = subprocess.run(
        [RACKWATCH, "record", "--broker", "mqtt://127.0.0.1:1", "--topic", "dc/#", "--out", out, *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, env={**os.environ},
    )
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "exists.jsonl").read_text() == "keep me"
    assert not (tmp_path / "x.jsonl").exists()


def test_disk_full_stops_the_recorder_without_losing_what_was_not_written(
    broker: MosquittoBroker, tmp_path: Path, procs: list[Proc]
) -> None:
    full_log = tmp_path / "full.jsonl"
    full = RecorderProcess(broker.url, full_log, "rec-full", file_size_limit=8000)
    procs.append(full)
    full.wait_line("connected to")
    publish(broker, [payload(seq) for seq in range(300)])
    assert full.exit_code(timeout=30) == 1
    assert "cannot write the log" in full.stderr
    assert "Traceback" not in full.stderr
    written = seqs(read_log(full_log))
    assert 0 < len(written) < 300

    second_log = tmp_path / "after.jsonl"
    second = RecorderProcess(broker.url, second_log, "rec-full")
    procs.append(second)
    wait_for_all([full_log, second_log], 300)
    assert second.stop() == 0
    assert sorted(set(written) | set(seqs(read_log(second_log)))) == list(range(300))


def test_a_second_recorder_with_the_same_client_id_gives_way_after_one_flap(
    broker: MosquittoBroker, tmp_path: Path, procs: list[Proc]
) -> None:
    """../shared/mqtt.md row 19: two recorders on one session must not throw each other off forever."""
    first = RecorderProcess(broker.url, tmp_path / "first.jsonl", "rec-same")
    procs.append(first)
    first.wait_line("connected to")
    publish(broker, [payload(seq) for seq in range(100)])
    assert len(wait_for_messages([first.out], 100)) == 100
    time.sleep(TAKEOVER_GRACE_S + 0.5)  # the first has held its session past a newcomer's grace

    second = RecorderProcess(broker.url, tmp_path / "second.jsonl", "rec-same")
    procs.append(second)
    assert second.exit_code(timeout=30) == 2
    assert "another client uses client id rec-same" in second.stderr
    assert "give each its own" in second.stderr and "Traceback" not in second.stderr

    first.wait_line("connected to", count=2)  # took its session back, once
    publish(broker, [payload(seq) for seq in range(100, 200)])
    assert set(seqs(wait_for_all([first.out, second.out], 200))) == set(range(200))  # nothing lost
    assert set(seqs(wait_for_all([first.out], 200))) >= set(range(100, 200))  # the first kept recording
    assert first.stop() == 0
    assert len(first.seen("not connected")) == 1  # one flap
