"""Replay a recorded log as a source: paced by a clock the operator can pause, speed up and seek.

Another driver of the single pipeline: ``LogSource.batches()`` yields ``list[RawMessage]``
exactly like the live ``MqttSource``, so a detection seen live is reproduced by replay and by
``scan`` (which uses ``realtime=False``: as fast as possible).

Pacing follows the messages' receive times (``t`` in the log), not the sample times inside
payloads, so replay shows what the console saw, in the order it saw it. Jumping back
re-reads the log from its start (compressed logs cannot be entered in the middle) and
tells the consumer through ``on_rewind`` so it can drop the state it built from the future.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

from sensors.logfile import LogReader, read_log
from sensors.messages import RawMessage

MIN_SPEED = 1 / 16
MAX_SPEED = 4096.0


class ReplayClock:
    """Stream time that runs at ``speed`` times wall time, and stops when paused.

    ``monotonic`` is injectable so tests move time by hand instead of sleeping. The clock
    starts at the first message's time unless ``start()`` was called earlier.
    """

    def __init__(self, speed: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"replay speed must be in (0, {MAX_SPEED:g}], not {speed}")
        self._monotonic = monotonic
        self._speed = speed
        self._paused = False
        self._wall_anchor = monotonic()
        self._stream_anchor: float | None = None
        self._changed = asyncio.Event()

    @property
    def started(self) -> bool:
        return self._stream_anchor is not None

    def start(self, stream_time: float) -> None:
        """Put the clock at ``stream_time`` (the first message's receive time)."""
        self._stream_anchor = stream_time
        self._wall_anchor = self._monotonic()
        self._notify()

    @property
    def now(self) -> float:
        """Current stream time, seconds since the epoch; NaN before the clock is started."""
        if self._stream_anchor is None:
            return math.nan
        if self._paused:
            return self._stream_anchor
        return self._stream_anchor + (self._monotonic() - self._wall_anchor) * self._speed

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def _rebase(self) -> None:
        if self._stream_anchor is not None:
            self._stream_anchor = self.now
        self._wall_anchor = self._monotonic()

    def _notify(self) -> None:
        self._changed.set()

    def pause(self) -> None:
        self._rebase()
        self._paused = True
        self._notify()

    def resume(self) -> None:
        self._rebase()
        self._paused = False
        self._notify()

    def toggle_pause(self) -> None:
        if self._paused:
            self.resume()
        else:
            self.pause()

    def set_speed(self, speed: float) -> None:
        self._rebase()
        self._speed = min(MAX_SPEED, max(MIN_SPEED, speed))
        self._notify()

    def faster(self) -> None:
        self.set_speed(self._speed * 2)

    def slower(self) -> None:
        self.set_speed(self._speed / 2)

    def seek(self, offset: float) -> None:
        """Move stream time by ``offset`` seconds (negative: back)."""
        self._rebase()
        if self._stream_anchor is not None:
            self._stream_anchor += offset
        self._notify()

    def wall_seconds_until(self, stream_time: float) -> float:
        """Wall seconds until the clock reaches ``stream_time``; infinite while paused."""
        if self._paused or self._stream_anchor is None:
            return math.inf
        return max(0.0, (stream_time - self.now) / self._speed)

    async def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` wall seconds, waking early when the clock is changed."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), None if math.isinf(timeout) else timeout)


class LogSource:
    """The messages of a log (or of the files of a rotated one, in order), as paced batches.

    ``position`` is the receive time of the last message handed out; ``rewinds`` counts
    jumps back, each announced by ``on_rewind()`` before the log is read again from its start.
    Every file's header is checked up front, so a bad file is a LogFormatError at once.
    """

    def __init__(
        self,
        path: Path | str | Sequence[Path | str],
        clock: ReplayClock | None = None,
        realtime: bool = True,
        max_batch: int = 5000,
        on_rewind: Callable[[], None] | None = None,
        stay_open: bool = False,
    ) -> None:
        self.paths = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
        if not self.paths:
            raise ValueError("no log to replay")
        self.clock = clock or ReplayClock()
        self.realtime = realtime
        self.max_batch = max_batch
        self.on_rewind = on_rewind
        self.stay_open = stay_open
        """At the end of the log keep waiting for a jump back (the console) instead of ending."""
        self.rewinds = 0
        self.position = -math.inf
        headers = []
        for each in self.paths:
            with read_log(each) as reader:
                headers.append(reader.header)
        self.header = headers[0]
        self._readers: list[LogReader] = []
        self._messages: Iterator[RawMessage] = self._read_all()
        self._pending: RawMessage | None = next(self._messages, None)
        self.first_time = self._pending.received if self._pending else math.nan

    def _read_all(self) -> Iterator[RawMessage]:
        for path in self.paths:
            reader = read_log(path)
            self._readers.append(reader)
            yield from reader

    @property
    def skipped(self) -> int:
        """Unreadable lines so far in this pass (a cut last line, for one)."""
        return sum(reader.skipped for reader in self._readers)

    @property
    def finished(self) -> bool:
        return self._pending is None

    def _advance(self) -> None:
        self._pending = next(self._messages, None)

    def _close(self) -> None:
        for reader in self._readers:
            reader.close()
        self._readers = []

    def _rewind(self) -> None:
        self._close()
        self._messages = self._read_all()
        self._advance()
        self.position = -math.inf
        self.rewinds += 1
        if self.on_rewind is not None:
            self.on_rewind()

    def due(self) -> list[RawMessage]:
        """The messages whose receive time the clock has reached (at most ``max_batch``)."""
        if not self.clock.started and self._pending is not None:
            self.clock.start(self._pending.received)
        now = self.clock.now
        if now < self.position:
            self._rewind()
        batch: list[RawMessage] = []
        while self._pending is not None and self._pending.received <= now and len(batch) < self.max_batch:
            batch.append(self._pending)
            self._advance()
        if batch:
            self.position = batch[-1].received
        return batch

    def _all_remaining(self) -> list[RawMessage]:
        batch: list[RawMessage] = []
        while self._pending is not None and len(batch) < self.max_batch:
            batch.append(self._pending)
            self._advance()
        if batch:
            self.position = batch[-1].received
        return batch

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        """Yield the log's messages; ends when the log does (unless ``stay_open``)."""
        try:
            while True:
                batch = self.due() if self.realtime else self._all_remaining()
                if batch:
                    yield batch
                    if not self.realtime:
                        await asyncio.sleep(0)  # let the consumer's other tasks run
                    continue
                if self._pending is None:
                    if not (self.realtime and self.stay_open):
                        return
                    await self.clock.wait(1.0)
                    continue
                await self.clock.wait(min(self.clock.wall_seconds_until(self._pending.received), 1.0))
        finally:
            self._close()
