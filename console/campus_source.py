"""The campus console's source: analyzers' rollups always, one rack's raw telemetry on demand.

A campus console cannot take every sensor of every hall (docs/scale-out.md, "Campus consoles"),
so it subscribes to the analyzers' retained rollups and alert state, and fetches raw channels
only for the rack the operator drills into: ``focus(rack)`` opens a second MQTT connection
subscribed to ``<prefix>/<rack>/#`` (the rack, its nodes and their retained meta and status)
and closes it when the focus moves or is dropped. Both connections feed one stream of batches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from sensors.messages import RawMessage
from sensors.mqtt_client import ConnectionSettings
from sensors.mqtt_source import ConnectionState, MqttSource
from sensors.topics import SEGMENT

_Item = list[RawMessage] | BaseException


def rack_filter(prefix: str, rack: str) -> str:
    """The topic filter of one rack's raw telemetry: ``dc/s1/h1/r03/rk04/#``."""
    parts = [prefix, *rack.split("/")]
    if len(parts) != 5 or not all(SEGMENT.match(part) for part in parts):
        raise ValueError(f"not a rack path site/hall/row/rack under prefix {prefix!r}: {rack!r}")
    return "/".join(parts) + "/#"


class CampusSource:
    """Batches of the rollup subscription merged with those of the focused rack's subscription.

    ``state`` is the rollup connection's (what the connection bar shows); ``dropped`` counts
    messages both connections had to drop because the console fell behind.
    """

    def __init__(self, settings: ConnectionSettings, filters: Sequence[str], prefix: str = "dc",
                 qos: int = 1) -> None:
        if not SEGMENT.match(prefix):
            raise ValueError(f"the topic prefix must be one segment of [A-Za-z0-9_-], not {prefix!r}")
        self.settings = settings
        self.prefix = prefix
        self.qos = qos
        self.rollups = MqttSource(settings, filters, qos=qos)
        self.raw: MqttSource | None = None
        """The focused rack's connection, while there is a focus."""
        self.focused: str | None = None
        self._dropped_before = 0
        """Messages dropped by raw connections already closed."""
        self._queue: asyncio.Queue[_Item] | None = None
        self._raw_task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def state(self) -> ConnectionState:
        return self.rollups.state

    @property
    def dropped(self) -> int:
        raw = self.raw.dropped if self.raw is not None else 0
        return self.rollups.dropped + self._dropped_before + raw

    def focus(self, rack: str | None) -> None:
        """Fetch the raw telemetry of ``rack`` (``site/hall/row/rack``) instead of the previous
        one's, or of none (None). Takes effect at once while ``batches()`` runs, else when it starts."""
        topic_filter = rack_filter(self.prefix, rack) if rack is not None else None
        if rack == self.focused:
            return
        self.focused = rack
        self._stop_raw()
        if topic_filter is not None and self._queue is not None:
            self._start_raw(topic_filter)

    def _start_raw(self, topic_filter: str) -> None:
        assert self._queue is not None
        self.raw = MqttSource(self.settings, [topic_filter], qos=self.qos)
        self._raw_task = asyncio.create_task(self._pump(self.raw, self._queue), name="campus-raw")

    def _stop_raw(self) -> None:
        """Cancel the raw connection's task; its client disconnects as the task unwinds."""
        task, self._raw_task = self._raw_task, None
        if self.raw is not None:
            self._dropped_before += self.raw.dropped
            self.raw = None
        if task is not None and not task.done():
            task.cancel()
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _pump(source: MqttSource, queue: asyncio.Queue[_Item]) -> None:
        try:
            async for batch in source.batches():
                await queue.put(batch)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # handed to the consumer: the pipeline shows why the source stopped
            await queue.put(error)

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        """Rollup batches and the focused rack's raw batches, in the order they arrive."""
        # A short queue: when the console falls behind, the MqttSources' own bounded buffers
        # drop (and count) the oldest messages, not an unbounded list here.
        queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=4)
        self._queue = queue
        rollups = asyncio.create_task(self._pump(self.rollups, queue), name="campus-rollups")
        if self.focused is not None:
            self._start_raw(rack_filter(self.prefix, self.focused))
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._queue = None
            self._stop_raw()
            rollups.cancel()
            pending = [rollups, *self._closing]
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)
