"""``rackwatch simulate`` against a real Mosquitto, read back by the real ``mosquitto_sub``."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.cli import main
from sensors.codec import decode
from sensors.messages import Rejected, Status, Telemetry
from sensors.simulator import CampusConfig, Simulator, parse_scenario
from tests.mosquitto import MosquittoBroker

START = 1_767_225_600.0
CAMPUS_FLAGS = ["--rows", "2", "--racks", "2", "--nodes", "2", "--gpus", "4"]
CAMPUS = CampusConfig(rows=2, racks_per_row=2, nodes_per_rack=2, gpus_per_node=4)


def simulate(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "console", "simulate", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


class Subscriber:
    """``mosquitto_sub -F '%t %p'`` writing to a file, started only once it provably receives."""

    def __init__(self, broker: MosquittoBroker, path: Path, topic: str) -> None:
        self.path = path
        self.file = path.open("wb")
        self.process = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-t", "probe",
             "-F", "%t %p"],
            stdout=self.file,
        )
        for _ in range(100):
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "probe",
                            "-m", "probe"], check=True)
            time.sleep(0.05)
            if b"probe probe" in path.read_bytes():
                return
        raise AssertionError("mosquitto_sub did not start receiving")

    def lines(self, settle: float = 0.5) -> list[str]:
        """Every line but the probes, once the file has stopped growing."""
        size = -1
        while size != self.path.stat().st_size:
            size = self.path.stat().st_size
            time.sleep(settle)
        return [line for line in self.path.read_text().splitlines() if not line.startswith("probe ")]

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=5)
        self.file.close()


def test_help_lists_the_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--scenario" in text and "--storyline" in text and "cage_intrusion" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "meltdown@10"], "unknown scenario 'meltdown'; valid names: cooling_failure"),
        (["--scenario", "leak@soon"], "not a number of seconds"),
        (["--scenario", "leak@5:r09/rk01"], "no 'r09/rk01' in this campus"),
        (["--rows", "0"], "--rows must be >= 1"),
        (["--speed", "fast"], "--speed 'fast' is not a number"),
        (["--interval", "0"], "--interval must be > 0"),
        (["--broker", "http://x"], ""),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    process = simulate(*args)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("rackwatch simulate: ")
    assert message in stderr


def test_an_unreachable_broker_is_reported_and_exit_1(tmp_path: Path) -> None:
    from tests.mosquitto import free_port

    process = simulate("--broker", f"mqtt://127.0.0.1:{free_port()}", "--speed", "0", "--duration", "5",
                       *CAMPUS_FLAGS)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "could not reach the broker; 5 ticks not delivered" in stderr.splitlines()[-1]


def test_an_unwritable_labels_file_is_a_usage_error(tmp_path: Path) -> None:
    process = simulate("--labels", str(tmp_path / "missing" / "labels.jsonl"))
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2 and "--labels: no such directory" in stderr
    (tmp_path / "dir.jsonl").mkdir()
    process = simulate("--labels", str(tmp_path / "dir.jsonl"))
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2 and "--labels: cannot write" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_published_stream_is_what_the_simulator_makes(broker: MosquittoBroker, tmp_path: Path) -> None:
    subscriber = Subscriber(broker, tmp_path / "sub.txt", "dc/#")
    labels = tmp_path / "labels.jsonl"
    # 200 ticks: more than the publisher's queue holds, so an unpaced run must wait, not drop.
    process = simulate("--broker", broker.url, "--speed", "0", "--duration", "200", "--seed", "4",
                       "--start", str(START), "--scenario", "leak@5+10:r01/rk02",
                       "--scenario", "xid_storm@10", "--labels", str(labels), *CAMPUS_FLAGS)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "stopped after 200 ticks" in stderr and "dropped" not in stderr
    received = subscriber.lines()
    subscriber.close()

    specs = [parse_scenario("leak@5+10:r01/rk02"), parse_scenario("xid_storm@10")]
    simulator = Simulator(CAMPUS, seed=4, scenarios=specs, start=START)
    expected = simulator.initial_messages()
    for _ in range(200):
        expected.extend(simulator.tick())
    expected.extend(simulator.final_messages())
    assert len(received) == len(expected)
    assert sorted(received) == sorted(f"{m.topic} {m.payload.decode()}" for m in expected)
    for line in received:
        topic, payload = line.split(" ", 1)
        assert not isinstance(decode(topic, payload.encode()), Rejected), line
    assert labels.read_bytes() == b"".join(label.to_json_line() for label in simulator.labels)


def test_ctrl_c_stops_cleanly_and_marks_every_device_offline(broker: MosquittoBroker, tmp_path: Path) -> None:
    process = simulate("--broker", broker.url, "--speed", "5", "--start", str(START), *CAMPUS_FLAGS)
    subscriber = Subscriber(broker, tmp_path / "live.txt", "dc/s1/h1/r01/rk01/rack")
    deadline = time.monotonic() + 30
    while not subscriber.path.read_bytes().count(b"dc/s1/h1/r01/rk01/rack ") >= 3:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    subscriber.close()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    retained = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "dc/#", "-F", "%t %p",
         "--retained-only", "-W", "2"],
        capture_output=True, text=True,
    ).stdout.splitlines()
    statuses = [decode(t, p.encode()) for t, p in (line.split(" ", 1) for line in retained)]
    statuses = [s for s in statuses if isinstance(s, Status)]
    assert len(statuses) == 4 + 8 + 1 + 5 and not any(s.online for s in statuses)


def test_publisher_reconnects_after_the_broker_restarts(broker: MosquittoBroker, tmp_path: Path) -> None:
    process = simulate("--broker", broker.url, "--speed", "10", "--duration", "600", "--start", str(START),
                       *CAMPUS_FLAGS)
    first = Subscriber(broker, tmp_path / "before.txt", "dc/s1/h1/r01/rk01/rack")
    while first.path.read_bytes().count(b"/rack ") < 3:
        assert process.poll() is None
        time.sleep(0.1)
    first.close()
    broker.restart()
    after = Subscriber(broker, tmp_path / "after.txt", "dc/s1/h1/r01/rk01/#")
    deadline = time.monotonic() + 30
    while after.path.read_bytes().count(b"/rack {") < 3:
        assert time.monotonic() < deadline, "no telemetry after the broker came back"
        assert process.poll() is None
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    lines = after.lines()
    after.close()
    data = [decode(t, p.encode()) for t, p in (line.split(" ", 1) for line in lines if " {" in line)]
    telemetry = [d for d in data if isinstance(d, Telemetry)]
    assert telemetry and all(t.seq > 0 for t in telemetry), "sim time and seq go on across the outage"
    assert process.returncode == 0
