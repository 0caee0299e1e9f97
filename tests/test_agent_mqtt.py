"""Both agents against a real Mosquitto, their messages read by the real ``mosquitto_sub``."""

from __future__ import annotations

import asyncio
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sensors.agents.gpu import GpuSampler
from sensors.agents.publisher import NodeAgent, NodePlace, publish_over_mqtt
from sensors.broker_url import parse_broker_url
from sensors.codec import decode
from sensors.messages import Decoded, Meta, Rejected, Status, Telemetry
from sensors.mqtt_client import Backoff, ConnectionSettings
from sensors.topics import status_topic
from tests.fake_nvml import FakeNvml
from tests.mosquitto import MosquittoBroker

REPO = Path(__file__).resolve().parents[1]
HOST = NodePlace.of(node="laptop", rack="desk", row="r01")
GPU = NodePlace.of(node="gpu-n3", rack="rk12", row="r07")
WAIT_S = 15.0


class Subscriber:
    """``mosquitto_sub -v`` on ``dc/#`` in the background; every line decoded with the wire codec."""

    def __init__(self, broker: MosquittoBroker, *extra: str) -> None:
        self.process = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "dc/#", "-q", "1",
             "-F", "%r %t %p", *extra],
            stdout=subprocess.PIPE,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.seen: list[tuple[bool, Decoded]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, done: Callable[[list[tuple[bool, Decoded]]], bool], timeout: float = WAIT_S) -> None:
        """Decode lines until ``done(seen)``; fails the test on a timeout or a rejected message."""
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"timed out after {len(self.seen)} messages; the last: {self.seen[-3:]}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            retain, topic, payload = line.rstrip(b"\n").split(b" ", 2)
            message = decode(topic.decode(), payload)
            assert not isinstance(message, Rejected), (line, message)
            self.seen.append((retain == b"1", message))

    def stop(self) -> None:
        """End the subscriber; mosquitto_sub can miss a SIGTERM that lands while it disconnects."""
        self.process.terminate()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def subscriber(broker: MosquittoBroker) -> Iterator[Subscriber]:
    sub = Subscriber(broker)
    yield sub
    sub.stop()


def data(seen: list[tuple[bool, Decoded]]) -> list[Telemetry]:
    return [message for _, message in seen if isinstance(message, Telemetry)]


def statuses(seen: list[tuple[bool, Decoded]]) -> list[bool]:
    return [message.online for _, message in seen if isinstance(message, Status)]


def retained(broker: MosquittoBroker, count: int) -> list[Decoded]:
    """The retained messages under ``dc/#`` as a fresh subscriber gets them."""
    sub = Subscriber(broker, "--retained-only", "-C", str(count), "-W", "5")
    sub.wait_for(lambda seen: len(seen) >= count)
    sub.stop()
    return [message for _, message in sub.seen]


def start_host_agent(broker: MosquittoBroker) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "console", "agent", "host", "--broker", broker.url,
         "--interval", "0.2", "--keepalive", "1", "--site", HOST.site, "--hall", HOST.hall,
         "--row", HOST.row, "--rack", HOST.rack, "--node", HOST.node],
        cwd=REPO,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def stop_agent(agent: subprocess.Popen[bytes], sig: int) -> tuple[int, str]:
    """Signal the agent; its exit status and what it wrote on stderr."""
    agent.send_signal(sig)
    _, stderr = agent.communicate(timeout=10)
    return agent.returncode, stderr.decode(errors="replace")


def test_host_agent_publishes_the_wire_contract_and_says_offline_on_ctrl_c(
    broker: MosquittoBroker, subscriber: Subscriber
) -> None:
    agent = start_host_agent(broker)
    subscriber.wait_for(lambda seen: len(data(seen)) >= 2)
    status, stderr = stop_agent(agent, signal.SIGINT)
    assert status == 0, stderr
    subscriber.wait_for(lambda seen: statuses(seen)[-1:] == [False])

    reports = data(subscriber.seen)
    assert {report.topic.device for report in reports} == {HOST.topic.removeprefix("dc/")}
    assert [report.seq for report in reports] == list(range(len(reports)))
    assert len({report.boot for report in reports}) == 1
    assert set(reports[0].values) == {
        "cpu_temp_c", "cpu_util_pct", "mem_used_pct", "fan_pct", "battery_pct", "psu_power_w"
    }
    assert 0 < reports[-1].values["mem_used_pct"] <= 100
    assert statuses(subscriber.seen) == [True, False]

    after = retained(broker, 2)
    assert any(isinstance(message, Meta) and message.facts["agent"] == "rackwatch-host" for message in after)
    assert [message.online for message in after if isinstance(message, Status)] == [False]


def test_the_will_says_offline_when_the_agent_is_killed(
    broker: MosquittoBroker, subscriber: Subscriber
) -> None:
    agent = start_host_agent(broker)
    subscriber.wait_for(lambda seen: statuses(seen) == [True] and len(data(seen)) >= 1)
    assert stop_agent(agent, signal.SIGKILL)[0] == -signal.SIGKILL
    subscriber.wait_for(lambda seen: statuses(seen)[-1:] == [False])
    assert [message.online for message in retained(broker, 2) if isinstance(message, Status)] == [False]


def test_a_silent_agent_goes_offline_after_its_keepalive_and_comes_back(
    broker: MosquittoBroker, subscriber: Subscriber
) -> None:
    """SIGSTOP keeps the socket open but silent: only the 1 s keepalive can reveal it."""
    agent = start_host_agent(broker)
    try:
        subscriber.wait_for(lambda seen: statuses(seen) == [True] and len(data(seen)) >= 1)
        agent.send_signal(signal.SIGSTOP)
        subscriber.wait_for(lambda seen: statuses(seen)[-1:] == [False])
        agent.send_signal(signal.SIGCONT)
        subscriber.wait_for(lambda seen: statuses(seen)[-1:] == [True])
    finally:
        agent.send_signal(signal.SIGCONT)
        status, stderr = stop_agent(agent, signal.SIGINT)
    assert status == 0, stderr
    assert statuses(subscriber.seen) == [True, False, True]
    assert "Traceback" not in stderr


def test_the_agent_reconnects_and_announces_again_after_a_broker_restart(broker: MosquittoBroker) -> None:
    agent = start_host_agent(broker)
    try:
        first = Subscriber(broker)
        first.wait_for(lambda seen: len(data(seen)) >= 1)
        first.stop()
        subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", status_topic(HOST.topic),
                        "-r", "-n", "-q", "1"], check=True)
        broker.restart()
        second = Subscriber(broker)
        second.wait_for(lambda seen: statuses(seen)[-1:] == [True] and len(data(seen)) >= 1)
        second.stop()
        before, after = data(first.seen)[0], data(second.seen)[-1]
        assert after.boot == before.boot and after.seq > before.seq
        assert [message.online for message in retained(broker, 2) if isinstance(message, Status)] == [True]
    finally:
        status, stderr = stop_agent(agent, signal.SIGINT)
    assert status == 0, stderr
    assert "retrying" in stderr


async def test_gpu_agent_with_recorded_nvml_reports_xids_and_a_lost_gpu(
    broker: MosquittoBroker, subscriber: Subscriber
) -> None:
    nvml = FakeNvml()
    agent = NodeAgent(GPU.topic, GpuSampler(nvml), interval=0.2)
    settings = ConnectionSettings(url=parse_broker_url(broker.url), keepalive=2)
    stop = asyncio.Event()
    task = asyncio.create_task(publish_over_mqtt(agent, settings, stop, Backoff(first=0.1)))

    await asyncio.to_thread(subscriber.wait_for, lambda seen: len(data(seen)) >= 1)
    first = data(subscriber.seen)[0]
    assert first.values["gpu0/power_w"] == 655.0 and first.values["gpu1/temp_c"] == 33.0
    nvml.lose(1)
    nvml.raise_xid(1, 79)
    nvml.raise_xid(0, 48)

    def got_xids(seen: list[tuple[bool, Decoded]]) -> bool:
        return any(report.xid for report in data(seen))

    await asyncio.to_thread(subscriber.wait_for, got_xids)
    report = next(report for report in data(subscriber.seen) if report.xid)
    assert report.xid == ((0, 48), (1, 79))
    assert math.isnan(report.values["gpu1/temp_c"]) and math.isnan(report.values["gpu1/power_w"])
    assert report.values["gpu0/temp_c"] == 64.0
    assert not task.done()

    stop.set()
    await asyncio.wait_for(task, timeout=10)
    agent.source.close()
    await asyncio.to_thread(subscriber.wait_for, lambda seen: statuses(seen)[-1:] == [False])
    meta = next(message for _, message in subscriber.seen if isinstance(message, Meta))
    assert meta.facts["gpu_power_limit_w"] == 650.0 and meta.facts["gpu_slowdown_c"] == 89.0
    assert sum(len(report.xid) for report in data(subscriber.seen)) == 2
