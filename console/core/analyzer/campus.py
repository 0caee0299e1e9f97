"""Campus mode: a Snapshot made of analyzers' rollups and alert state instead of raw telemetry.

A campus console cannot take every sensor of every hall; it subscribes to ``<out>/rollup/#`` and
``<out>/alerts/state/#`` (retained, so a console that starts late is complete at once) and draws
the same floor map and alert list from them. Channels and history come only from the one rack
the operator drills into (``focus``): its raw topics feed an engine of its own, which is dropped
when the operator leaves the rack.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import orjson

from console.core.alert_book import AlertBook
from console.core.analyzer.wire_out import ROLLUP_FIELDS, SEGMENT, OutTopics, StoredAlert, decode_state
from console.core.channels import device_place
from console.core.engine import Engine
from console.core.snapshot import (
    AlertState,
    AlertTransition,
    ChannelView,
    IngestStats,
    RackView,
    Severity,
    Snapshot,
)
from sensors.messages import RawMessage
from sensors.sanitize import sanitize_text

STALE_AFTER_S = 30.0
"""A rack whose rollup is this much older than the newest one is shown stale (its analyzer is
silent); six missed rollups at the default 5 s cadence."""


@dataclass(slots=True)
class _Figures:
    ts: float
    inlet_c: float
    power_pct: float
    hottest_gpu_c: float
    alert_level: int
    stale: bool


def _float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return math.nan
    return float(value)


def _figures(ts: float, body: dict) -> _Figures | None:
    if not all(name in body for name in ROLLUP_FIELDS):
        return None
    level = body["alert_level"]
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 2:
        return None
    return _Figures(ts, _float(body["inlet_c"]), _float(body["power_pct"]), _float(body["hottest_gpu_c"]),
                    level, body["stale"] is True)


class CampusState:
    """Racks and live alerts of a whole campus, as analyzers publish them.

    It stands in for the engine in the console's pipeline (``ingest``, ``evaluate``,
    ``snapshot``, ``alerts``): the live alerts go through an ``AlertBook`` of its own, so
    acknowledging and silencing work in campus mode as they do on raw telemetry (locally to
    this console: nothing is published back).

    ``focus(rack)`` names the rack the operator drilled into: raw messages under
    ``<prefix>/<rack>/`` then go to an engine of its own, whose channels, history and meta fill
    the snapshot's drill-down parts (its alerts are not shown: the analyzers own the alerts).
    """

    def __init__(self, out: OutTopics | None = None, stale_after_s: float = STALE_AFTER_S,
                 prefix: str = "dc") -> None:
        self.out = out or OutTopics()
        self.prefix = prefix
        self.focused: str | None = None
        """The rack drilled into, ``site/hall/row/rack``, or None."""
        self.raw: Engine | None = None
        """The focused rack's own engine, on its raw telemetry."""
        self._raw_topics = ""
        self.stale_after_s = stale_after_s
        self.received = 0
        self.rejected = 0
        self._racks: dict[str, _Figures] = {}
        self._alerts: dict[str, StoredAlert] = {}
        """Live alerts by their state topic."""
        self.alerts = AlertBook()
        self._state_seen = False
        self._rollup = f"{self.out.prefix}/rollup/"
        self._state = f"{self.out.prefix}/alerts/state/"
        self.now = 0.0

    def filters(self) -> list[str]:
        """What a campus console subscribes to."""
        return [self.out.rollup_filter(), self.out.state_filter()]

    def focus(self, rack: str | None) -> None:
        """Drill into ``rack`` (``site/hall/row/rack``) with a fresh engine, or leave it (None).

        Raw messages of any other rack, late ones of the rack left included, are ignored.
        """
        parts = rack.split("/") if rack is not None else []
        if rack is not None and (len(parts) != 4 or not all(SEGMENT.match(part) for part in parts)):
            raise ValueError(f"not a rack path site/hall/row/rack: {rack!r}")
        if rack == self.focused:
            return
        self.focused = rack
        self.raw = Engine(prefix=self.prefix) if rack is not None else None
        self._raw_topics = f"{self.prefix}/{rack}/" if rack is not None else ""

    def ingest(self, messages: Iterable[RawMessage]) -> None:
        raw: list[RawMessage] = []
        for message in messages:
            self.received += 1
            topic = message.topic
            if topic.startswith(self._rollup):
                ok = self._rollup_message(topic[len(self._rollup):], message.payload)
            elif topic.startswith(self._state):
                ok = self._state_message(topic, message.payload)
            else:
                if self._raw_topics and topic.startswith(self._raw_topics):
                    raw.append(message)
                ok = True  # transitions and anything else: not part of the picture
            self.rejected += not ok
        if raw and self.raw is not None:
            self.raw.ingest(raw)

    def _rollup_message(self, path: str, payload: bytes) -> bool:
        parts = path.split("/")
        if len(parts) not in (3, 4) or not all(SEGMENT.match(part) for part in parts):
            return False
        if not payload:
            return True  # a deleted rollup: nothing to draw
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return False
        ts = _float(body.get("ts")) if isinstance(body, dict) else math.nan
        if math.isnan(ts):
            return False
        if len(parts) == 4:
            figures = _figures(ts, body)
            return figures is not None and self._keep(path, figures)
        racks = body.get("racks")
        if not isinstance(racks, dict):
            return False
        ok = True
        for name, rack_body in racks.items():
            figures = _figures(ts, rack_body) if isinstance(rack_body, dict) else None
            if figures is None or not SEGMENT.match(name):
                ok = False
                continue
            self._keep(f"{path}/{name}", figures)
        return ok

    def _keep(self, rack: str, figures: _Figures) -> bool:
        held = self._racks.get(rack)
        if held is None or figures.ts >= held.ts:
            self._racks[rack] = figures
        self.now = max(self.now, figures.ts)
        return True

    def _state_message(self, topic: str, payload: bytes) -> bool:
        self._state_seen = True
        if not payload:
            gone = self._alerts.pop(topic, None)
            if gone is not None:
                self.alerts.apply([AlertTransition(max(self.now, gone.updated_at), gone.key, "cleared",
                                                   gone.severity, gone.rule, math.nan, "cleared")])
            return True
        alert = decode_state(payload)
        if alert is None or self.out.state(alert.key, alert.rule) != topic:
            return False
        self._alerts[topic] = alert
        self.alerts.apply([AlertTransition(alert.updated_at, alert.key, "raised", alert.severity, alert.rule,
                                           alert.value, sanitize_text(alert.message))])
        if alert.state is AlertState.ACKNOWLEDGED:
            self.alerts.acknowledge(alert.id, now=alert.updated_at)
        return True

    # -- the engine's part in the console pipeline -------------------------------------------
    def evaluate(self, now: float) -> list[AlertTransition]:
        """The analyzers evaluated the campus; only the focused rack's engine ages here (stale
        channels, limits from meta). Its transitions are dropped: the analyzers' alerts are the
        ones shown. (The pipeline calls this once a second.)"""
        if self.raw is not None:
            self.raw.evaluate(now)
        return []

    def snapshot(self, history_keys: Iterable[str] = ()) -> Snapshot:
        """The campus as the existing UI draws it: floor map from rollups, alerts from state."""
        names = tuple(sorted(self._racks))
        rows = [self._racks[name] for name in names]
        # The live alert state is the truth (and honours this console's silences); the rollups'
        # own alert_level, up to one rollup period behind, stands in where no state is subscribed.
        level = np.array([0 if self._state_seen else f.alert_level for f in rows], dtype=np.int8)
        order = {name: i for i, name in enumerate(names)}
        alerts = self.alerts.alerts(self.now or None)
        for alert in alerts:
            parts = alert.key.split("/")
            rack, _ = device_place(parts[4] if len(parts) > 4 else "", alert.key)
            number = order.get(rack)
            if number is not None and alert.silenced_until is None:
                level[number] = max(level[number], 2 if alert.severity is Severity.CRITICAL else 1)
        stale = np.array([f.stale or self.now - f.ts > self.stale_after_s for f in rows], dtype=bool)
        incidents = self.alerts.incidents(self.now or None)
        channels = ChannelView(keys=(), latest=_frozen(np.zeros(0, dtype=np.float32)),
                               updated=_frozen(np.zeros(0)), stale=_frozen(np.zeros(0, dtype=bool)))
        history: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        meta: dict[str, dict[str, float | str]] = {}
        if self.raw is not None:
            drilled = self.raw.snapshot(history_keys)
            channels, history, meta = drilled.channels, drilled.history, drilled.device_meta
        return Snapshot(
            now=self.now,
            channels=channels,
            racks=RackView(
                racks=names,
                inlet_c=_frozen(np.array([f.inlet_c for f in rows], dtype=np.float32)),
                power_pct=_frozen(np.array([f.power_pct for f in rows], dtype=np.float32)),
                hottest_gpu_c=_frozen(np.array([f.hottest_gpu_c for f in rows], dtype=np.float32)),
                alert_level=_frozen(level),
                stale=_frozen(stale),
            ),
            alerts=alerts,
            incidents=incidents,
            events=(),
            stats=IngestStats(received=self.received, decoded=self.received - self.rejected,
                              rejected={"campus_rollup": self.rejected} if self.rejected else {},
                              sources_online=int((~stale).sum()), sources_stale=int(stale.sum())),
            history=history,
            device_meta=meta,
        )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
