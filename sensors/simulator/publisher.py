"""Publish a simulator to an MQTT broker, paced to wall time, through broker outages.

Two tasks share a bounded queue: the clock ticks the simulator every ``interval / speed`` wall
seconds whether or not the broker is up (sim time keeps pace, as real sensors keep measuring),
and the sender publishes while connected. When the broker is gone the oldest ticks are
dropped once the queue is full: subscribers then see a seq gap, which is what a real outage
looks like. While connected a full queue holds the clock back instead (nothing is lost; sim time
falls behind), and unpaced runs (speed 0) always wait for the sender. The sender reconnects
with ``Backoff`` (aiomqtt 2.x has no automatic reconnect); once the run is over it gives up
after ``FINAL_ATTEMPTS`` failed connects and reports what it could not deliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aiomqtt

from sensors.mqtt_client import Backoff, ConnectionSettings, auth_backoff, refused_credentials
from sensors.simulator.simulator import Outgoing, Simulator

QUEUE_TICKS = 120
"""Ticks held while the broker is away before the oldest are dropped."""
BATCH = 256
"""Messages handed to the client at once (paho keeps their order)."""
PROGRESS_EVERY_S = 1.0
FINAL_ATTEMPTS = 5
"""Connects tried after the run is over (duration reached or stop asked) before giving up."""


@dataclass(slots=True)
class PublishStats:
    """What the publisher has done, for the progress line and the final report."""

    ticks: int = 0
    sent: int = 0
    dropped_ticks: int = 0
    connects: int = 0
    connected: bool = False
    last_error: str = ""
    undelivered_ticks: int = 0
    """Ticks still queued when the publisher gave up on an unreachable broker."""


class LabelWriter:
    """Appends each new ground-truth label as one JSON line, flushed at once (a crash keeps them)."""

    def __init__(self, path: Path | None) -> None:
        self.file: IO[bytes] | None = path.open("wb") if path is not None else None
        self.written = 0

    def update(self, simulator: Simulator) -> None:
        labels = simulator.labels
        if self.file is None or len(labels) == self.written:
            return
        for label in labels[self.written :]:
            self.file.write(label.to_json_line())
        self.file.flush()
        self.written = len(labels)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class SimulatorPublisher:
    """Runs one simulator against one broker until its duration is up or ``stop()`` is called."""

    def __init__(
        self,
        simulator: Simulator,
        settings: ConnectionSettings,
        speed: float = 1.0,
        duration: float | None = None,
        labels: Path | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.simulator = simulator
        self.settings = settings
        self.speed = speed
        self.duration = duration
        self.labels = LabelWriter(labels)
        self.progress = progress
        self.stats = PublishStats()
        self.queue: asyncio.Queue[list[Outgoing]] = asyncio.Queue(QUEUE_TICKS)
        self.stopping = asyncio.Event()
        self.giving_up = asyncio.Event()
        self.clock_done = asyncio.Event()

    def stop(self) -> None:
        """Ask for a clean stop: remaining ticks are sent, then every device is marked offline.
        Asked a second time, stop trying to reach a broker that is away."""
        if self.stopping.is_set():
            self.giving_up.set()
        self.stopping.set()

    async def run(self) -> PublishStats:
        clock = asyncio.create_task(self._clock())
        try:
            await self._sender()
        finally:
            clock.cancel()
            await asyncio.gather(clock, return_exceptions=True)
            self.labels.close()
        return self.stats

    async def _clock(self) -> None:
        """Tick the simulator at the paced wall rate; sim time never depends on the wall clock."""
        sim = self.simulator
        wall_step = sim.interval / self.speed if self.speed > 0 else 0.0
        begin = time.monotonic()
        last_progress = 0.0
        try:
            while not self.stopping.is_set():
                if self.duration is not None and sim.now - sim.start >= self.duration:
                    break
                batch = sim.tick()
                self.stats.ticks += 1
                self.labels.update(sim)
                while self.queue.full():
                    if not self.stats.connected and wall_step > 0:
                        self.queue.get_nowait()
                        self.stats.dropped_ticks += 1
                        break
                    await asyncio.sleep(0.01)
                self.queue.put_nowait(batch)
                now = time.monotonic()
                if self.progress is not None and now - last_progress >= PROGRESS_EVERY_S:
                    last_progress = now
                    self.progress(self.status_line())
                delay = begin + self.stats.ticks * wall_step - now
                await asyncio.sleep(max(0.0, delay))
        finally:
            self.clock_done.set()

    def status_line(self) -> str:
        sim, stats = self.simulator, self.stats
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sim.now))
        if stats.connected:
            link = "connected"
        else:
            link = f"reconnecting ({stats.last_error})" if stats.last_error else "connecting"
        active = ", ".join(sim.active_scenarios) or "none"
        dropped = f", {stats.dropped_ticks} ticks dropped" if stats.dropped_ticks else ""
        return (f"sim {stamp}Z  +{sim.now - sim.start:.0f}s  {stats.sent} msgs{dropped}  {link}  "
                f"scenarios: {active}")

    async def _send(self, client: aiomqtt.Client, messages: Sequence[Outgoing]) -> None:
        for first in range(0, len(messages), BATCH):
            chunk = messages[first : first + BATCH]
            await asyncio.gather(
                *(client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain) for m in chunk)
            )
            self.stats.sent += len(chunk)

    async def _sender(self) -> None:
        sim = self.simulator
        will = sim.will()
        client = self.settings.client(
            identifier=f"rackwatch-sim-{sim.boot}",
            will=aiomqtt.Will(will.topic, will.payload, qos=will.qos, retain=will.retain),
        )
        # Batches are concurrent on purpose; aiomqtt's warning is meant for unbounded pile-ups.
        client.pending_calls_threshold = 2 * BATCH
        backoff = Backoff()
        slow_backoff = auth_backoff()
        attempts_after_run = 0
        while True:
            try:
                async with client:
                    self.stats.connected = True
                    self.stats.connects += 1
                    backoff.reset()
                    slow_backoff.reset()
                    await self._send(client, sim.initial_messages())
                    await self._drain(client)
                    await self._send(client, sim.final_messages())
                    return
            except aiomqtt.MqttError as error:
                self.stats.connected = False
                self.stats.last_error = str(error)[:80]
                if self.clock_done.is_set():
                    attempts_after_run += 1
                refused = refused_credentials(error)
                if refused and self.stopping.is_set():
                    attempts_after_run = FINAL_ATTEMPTS  # stopping: credentials will not heal meanwhile
                if attempts_after_run >= FINAL_ATTEMPTS or self.giving_up.is_set():
                    self.stats.undelivered_ticks = self.queue.qsize()
                    return
                delay = slow_backoff.next_delay() if refused else backoff.next_delay()
                # A stop cuts the wait short: one prompt attempt to deliver what is left.
                wake = self.giving_up if self.stopping.is_set() else self.stopping
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Send queued ticks until the clock has finished and the queue is empty."""
        while True:
            if self.clock_done.is_set() and self.queue.empty():
                return
            getter = asyncio.create_task(self.queue.get())
            done_waiter = asyncio.create_task(self.clock_done.wait())
            await asyncio.wait({getter, done_waiter}, return_when=asyncio.FIRST_COMPLETED)
            done_waiter.cancel()
            if getter.done():
                await self._send(client, getter.result())
            else:
                getter.cancel()
                await asyncio.gather(getter, return_exceptions=True)


class StderrProgress:
    """One status line on stderr: rewritten in place on a terminal, a line every 10 s otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = -1e9

    def __call__(self, line: str) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + line[:200])
        elif time.monotonic() - self.last >= 10.0:
            self.last = time.monotonic()
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def finish(self, line: str) -> None:
        sys.stderr.write(("\r\x1b[2K" if self.tty else "") + line + "\n")
        sys.stderr.flush()
