"""The demo's source: the simulator in this process, piped straight into the pipeline (no broker).

Its messages carry the simulator's own time as their receive time, so the demo is stream-time
driven like a replay: a seeded simulator with a fixed start and a fixed number of ticks gives the
same frames every run (the snapshot tests rely on that).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from sensors.agents.publisher import Sink
from sensors.messages import RawMessage
from sensors.simulator import Outgoing, Simulator

Companion = Callable[[Sink], Awaitable[None]]
"""A live publisher run beside the simulator (``demo --with-host``): it sends into a sink."""

SPEEDS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
"""Steps of + and - (times real time)."""


class DemoClock:
    """Paces the simulator: pause, faster/slower, and skipping ahead (a simulation cannot go back)."""

    can_go_back = False

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self.paused = False
        self.skip_seconds = 0.0
        self._due = 0.0
        self._running = asyncio.Event()
        self._running.set()

    def pause(self) -> None:
        self.paused = True
        self._running.clear()

    def faster(self) -> None:
        self.speed = next((s for s in SPEEDS if s > self.speed), self.speed)

    def slower(self) -> None:
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), self.speed)

    def seek(self, seconds: float) -> None:
        """Forward only: the next ticks run without waiting until ``seconds`` of sim time passed."""
        if seconds > 0:
            self.skip_seconds += seconds

    async def wait(self, interval: float) -> None:
        """Wait until the next tick is due at the current speed (not at all while skipping).

        Ticks are paced against a deadline, so the time the engine spends on a tick counts
        toward the wait; when the engine falls behind, the demo runs as fast as it can without
        bursting to catch up.
        """
        await self._running.wait()
        loop = asyncio.get_running_loop()
        if self.skip_seconds > 0:
            self.skip_seconds = max(0.0, self.skip_seconds - interval)
            self._due = loop.time()
            await asyncio.sleep(0)
            return
        self._due = max(self._due + interval / self.speed, loop.time())
        await asyncio.sleep(self._due - loop.time())
        await self._running.wait()

    def resume(self) -> None:
        self.paused = False
        self._due = 0.0
        self._running.set()


def as_raw(message: Outgoing, received: float) -> RawMessage:
    return RawMessage(received=received, topic=message.topic, payload=message.payload, qos=message.qos,
                      retain=message.retain)


class DemoSource:
    """Batches of one simulator tick each; ``ticks`` stops after that many (None: run on).

    ``companions`` publish into the same pipe: what they sent since the last tick joins the
    next batch, received at the simulator's time.
    """

    def __init__(
        self,
        simulator: Simulator,
        clock: DemoClock | None = None,
        ticks: int | None = None,
        companions: tuple[Companion, ...] = (),
    ) -> None:
        self.simulator = simulator
        self.clock = clock
        self.ticks = ticks
        self.companions = companions
        self.done = 0

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        simulator = self.simulator
        joined: list[RawMessage] = []

        async def sink(topic: str, payload: bytes, retain: bool) -> None:
            joined.append(RawMessage(received=simulator.now, topic=topic, payload=payload, retain=retain))

        tasks = [asyncio.create_task(companion(sink)) for companion in self.companions]
        try:
            yield [as_raw(m, simulator.now) for m in simulator.initial_messages()]
            while self.ticks is None or self.done < self.ticks:
                if self.clock is not None:
                    await self.clock.wait(simulator.interval)
                else:
                    await asyncio.sleep(0)
                outgoing = await asyncio.to_thread(simulator.tick)
                self.done += 1
                batch = [as_raw(m, simulator.now) for m in outgoing] + joined
                joined.clear()
                yield batch
        finally:
            for task in tasks:
                task.cancel()
