"""Shared parts of the analyzer tests: a deterministic campus stream, a QoS 1 publisher, a collector."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from console.core.analyzer.service import Analyzer
from sensors.broker_url import parse_broker_url
from sensors.mqtt_client import ConnectionSettings
from sensors.mqtt_source import ConnectionState
from sensors.simulator import CampusConfig, Simulator, parse_scenario
from sensors.simulator.simulator import Outgoing

START = 1767225600.0
CAMPUS = CampusConfig(rows=2, racks_per_row=2, nodes_per_rack=2, gpus_per_node=2, rows_per_cdu=2)


def simulator(scenarios: Sequence[str], seed: int = 3) -> Simulator:
    return Simulator(CAMPUS, seed=seed, scenarios=[parse_scenario(s) for s in scenarios], start=START)


def stream(sim: Simulator, ticks: int, initial: bool = True) -> list[Outgoing]:
    out = list(sim.initial_messages()) if initial else []
    for _ in range(ticks):
        out.extend(sim.tick())
    return out


def settings_of(url: str) -> ConnectionSettings:
    return ConnectionSettings(url=parse_broker_url(url), keepalive=5)


async def publish(url: str, messages: Sequence[Outgoing]) -> None:
    """Every message with QoS 1, in order (the analyzer must see the whole stream)."""
    async with settings_of(url).client() as client:
        client.pending_calls_threshold = 1000
        for first in range(0, len(messages), 200):
            chunk = messages[first : first + 200]
            await asyncio.gather(*(client.publish(m.topic, m.payload, qos=1, retain=m.retain) for m in chunk))


class Collector:
    """Everything published under some filters, gathered by a task of its own."""

    def __init__(self, url: str, filters: Sequence[str]) -> None:
        self.url = url
        self.filters = filters
        self.messages: list[tuple[str, bytes, bool]] = []
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def __aenter__(self) -> Collector:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        async with settings_of(self.url).client() as client:
            for topic_filter in self.filters:
                await client.subscribe(topic_filter, qos=1)
            self._ready.set()
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                self.messages.append((message.topic.value, payload, message.retain))


async def wait_until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.05)


async def started(analyzer: Analyzer) -> asyncio.Task:
    """Run an analyzer in a task; return once it has restored its state and subscribed."""
    task = asyncio.create_task(analyzer.run())
    await wait_until(lambda: analyzer.source.state is ConnectionState.CONNECTED or task.done(), 20,
                     "the analyzer to subscribe")
    if task.done():
        task.result()
    return task


async def finish(analyzer: Analyzer, task: asyncio.Task) -> None:
    analyzer.stop()
    await asyncio.wait_for(task, 20)
