"""One pipeline for every source: batches -> engine -> throttled snapshots for the UI.

Live MQTT, a replayed log and the in-process demo all hand over lists of ``RawMessage``;
this module feeds them to the engine, evaluates the rules once per second of *stream* time
and takes a snapshot a few times per wall-clock second (never once per message,
../shared/style.md "Coalesce high-rate messages"). Engine work runs in a thread under one
lock, so a full hall's ingest never stalls the event loop that draws.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from console.core.snapshot import Alert, AlertTransition, Snapshot
from sensors.messages import RawMessage

EVALUATE_EVERY = 1.0
"""Seconds of stream time between rule evaluations."""
UI_SHARE = 0.5
"""After a batch that took t seconds of engine work, the pipeline pauses t * UI_SHARE seconds (at
most a third of the time goes to the UI; a 1 Hz full hall costs the engine about 80 ms a second,
so only a backlog, such as an unpaced demo, is slowed by this)."""


class BatchSource(Protocol):
    """Anything that yields lists of raw messages: MQTT, a log, the simulator."""

    def batches(self) -> AsyncIterator[list[RawMessage]]: ...


class Engine(Protocol):
    """What the pipeline needs of ``console.core.engine.Engine``."""

    def ingest(self, messages: list[RawMessage]) -> Any: ...

    def evaluate(self, now: float) -> list[AlertTransition]: ...

    def snapshot(self, history_keys: Iterable[str] = ()) -> Snapshot: ...


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """How the source is doing, for the connection bar."""

    mode: str
    """``live``, ``replay`` or ``demo``."""
    state: str
    """``connected``, ``reconnecting``, ``offline``, ``playing``, ``paused``, ``ended``..."""
    detail: str = ""
    """Where from: the broker URL or the log file."""
    speed: float | None = None
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class Frame:
    """What the UI draws next: the latest snapshot and how the source is doing."""

    snapshot: Snapshot
    status: SourceStatus
    stream_time: float
    transitions: tuple[AlertTransition, ...] = field(default=())
    """Alert transitions since the previous frame (the UI rings the bell on new criticals)."""
    cleared: tuple[Alert, ...] = field(default=())
    """Recently cleared alerts, newest first, from the alert book (kept across restarts)."""


class StreamEvaluator:
    """Splits batches at whole seconds of stream time and evaluates at each boundary.

    Evaluation times then depend only on the data, not on how the source cut its batches, so a
    replayed log gives the same alerts every time.
    """

    def __init__(self, engine: Engine, every: float = EVALUATE_EVERY) -> None:
        self.engine = engine
        self.every = every
        self.next_at = math.nan
        self.latest = math.nan

    def feed(self, batch: list[RawMessage]) -> list[AlertTransition]:
        """Ingest one batch in order, evaluating at every boundary it crosses."""
        transitions: list[AlertTransition] = []
        start = 0
        for position, message in enumerate(batch):
            if math.isnan(self.next_at):
                self.next_at = (math.floor(message.received / self.every) + 1) * self.every
            if message.received >= self.next_at:
                if position > start:
                    self.engine.ingest(batch[start:position])
                start = position
                transitions += self.advance_to(message.received)
            self.latest = message.received if math.isnan(self.latest) else max(self.latest, message.received)
        if start < len(batch):
            self.engine.ingest(batch[start:])
        return transitions

    def advance_to(self, now: float) -> list[AlertTransition]:
        """Evaluate at every boundary up to ``now`` (idle live sources still age and go stale)."""
        transitions: list[AlertTransition] = []
        if math.isnan(self.next_at):
            return transitions
        while self.next_at <= now:
            transitions += self.engine.evaluate(self.next_at)
            self.next_at += self.every
        return transitions


class Pipeline:
    """Drives one source into one engine and hands frames to the UI."""

    def __init__(
        self,
        engine: Engine,
        source: BatchSource,
        status: Callable[[], SourceStatus],
        *,
        frame_rate: float = 4.0,
        clock: Callable[[], float] | None = None,
        live: bool = False,
        new_engine: Callable[[], Engine] | None = None,
    ) -> None:
        self.engine = engine
        self.source = source
        self.status = status
        self.frame_interval = 1.0 / max(0.5, frame_rate)
        self.clock = clock
        """Stream time to show (the replay clock, the wall clock); default: the latest message."""
        self.live = live
        """Live sources also evaluate while silent, so a dead feed still goes stale."""
        self.new_engine = new_engine
        """Makes a fresh engine when a replay jumps back (its state came from the future)."""
        self._history_keys: tuple[str, ...] = ()
        self._focus: str | None = None
        self._focus_due = False
        self.evaluator = StreamEvaluator(engine)
        self.messages = 0
        self.source_error: str | None = None
        self._lock = asyncio.Lock()
        self._pending: list[AlertTransition] = []
        self._dirty = True
        self._rewound = False
        self._snapshot: Snapshot | None = None
        self._cleared: tuple[Alert, ...] = ()

    @property
    def history_keys(self) -> tuple[str, ...]:
        """Channels the UI wants sparklines for (set by the drill-down screen)."""
        return self._history_keys

    @history_keys.setter
    def history_keys(self, keys: tuple[str, ...]) -> None:
        if keys != self._history_keys:
            self._history_keys = keys
            self._dirty = True

    @property
    def focus(self) -> str | None:
        """The rack the operator drilled into (``site/hall/row/rack``), set by the drill-down.

        An engine or a source with a ``focus(rack)`` method is told (campus mode fetches and
        keeps that rack's raw telemetry only); the engine between batches, under the lock.
        """
        return self._focus

    @focus.setter
    def focus(self, rack: str | None) -> None:
        if rack == self._focus:
            return
        self._focus = rack
        self._focus_due = True
        self._dirty = True
        follow = getattr(self.source, "focus", None)
        if follow is not None:
            follow(rack)

    def _refocus(self) -> None:
        """Hand a new focus to the engine (engine thread, under the lock)."""
        if self._focus_due:
            self._focus_due = False
            focus = getattr(self.engine, "focus", None)
            if focus is not None:
                focus(self._focus)

    def rewind(self) -> None:
        """The source starts over (a replay jumped back): start the next batch on a fresh engine."""
        self._rewound = True

    @property
    def stream_time(self) -> float:
        """The time the data has reached (the wall clock for a live source)."""
        if self.clock is not None:
            return self.clock()
        return self.evaluator.latest

    async def engine_call(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(engine)`` between batches (acknowledge, silence), then redraw soon."""
        async with self._lock:
            result = await asyncio.to_thread(work, self.engine)
            self._dirty = True
            return result

    async def ingest(self) -> None:
        """Consume the source until it ends; ``source_error`` says why if it failed."""
        try:
            async for batch in self.source.batches():
                if not batch:
                    continue
                async with self._lock:
                    if self._rewound and self.new_engine is not None:
                        self.engine = self.new_engine()
                        self.evaluator = StreamEvaluator(self.engine)
                        self._pending.clear()
                        self._focus_due = True
                    self._rewound = False
                    began = time.perf_counter()
                    transitions = await asyncio.to_thread(self._feed, batch)
                    spent = time.perf_counter() - began
                self.messages += len(batch)
                self._pending += transitions
                self._dirty = True
                # The engine's thread holds the GIL while it works: leave the event loop a share
                # of the time so keys and frames keep flowing even when batches queue up.
                await asyncio.sleep(spent * UI_SHARE)
        except Exception as error:  # shown on screen: the console keeps running on what it has
            self.source_error = f"{type(error).__name__}: {error}"

    def _feed(self, batch: list[RawMessage]) -> list[AlertTransition]:
        self._refocus()
        return self.evaluator.feed(batch)

    async def frames(self, deliver: Callable[[Frame], None]) -> None:
        """Every frame interval, evaluate idle time (live) and deliver a fresh frame."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due = max(due + self.frame_interval, loop.time())
            await asyncio.sleep(due - loop.time())
            await self.deliver_frame(deliver)

    async def deliver_frame(self, deliver: Callable[[Frame], None]) -> None:
        """Take a snapshot if anything changed and hand the frame over."""
        async with self._lock:
            if self.live:
                idle = await asyncio.to_thread(self.evaluator.advance_to, self.stream_time)
                if idle:
                    self._pending += idle
                self._dirty = True
            if self._dirty or self._snapshot is None:
                self._snapshot, self._cleared = await asyncio.to_thread(self._freeze)
                self._dirty = False
        transitions, self._pending = tuple(self._pending), []
        status = self.status()
        if self.source_error is not None:
            status = replace(status, state="failed", detail=self.source_error)
        deliver(Frame(self._snapshot, status, self.stream_time, transitions, self._cleared))

    def _freeze(self) -> tuple[Snapshot, tuple[Alert, ...]]:
        """The snapshot and the alert book's cleared alerts, taken together (engine thread)."""
        self._refocus()
        book = getattr(self.engine, "alerts", None)
        cleared = tuple(book.cleared()) if book is not None and hasattr(book, "cleared") else ()
        return self.engine.snapshot(self.history_keys), cleared

    async def run(self, deliver: Callable[[Frame], None]) -> None:
        """Ingest and draw until cancelled; after the source ends, keep drawing what it gave."""
        ingest = asyncio.create_task(self.ingest())
        try:
            await self.frames(deliver)
        finally:
            ingest.cancel()


def wall_time() -> float:
    """The wall clock of a live source."""
    return time.time()
