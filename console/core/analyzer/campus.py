"""Campus mode: a Snapshot made of analyzers' rollups and alert state instead of raw telemetry.

A campus console cannot take every sensor of every hall; it subscribes to ``<out>/rollup/#`` and
``<out>/alerts/state/#`` (retained, so a console that starts late is complete at once) and draws
the same floor map and alert list from them. Channels and history stay empty: drill-down to a
channel's series is the job of a console on that hall's raw topics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import orjson

from console.core.analyzer.wire_out import ROLLUP_FIELDS, SEGMENT, OutTopics, StoredAlert, decode_state
from console.core.channels import device_place
from console.core.incidents import group_incidents, place_of_key
from console.core.snapshot import (
    Alert,
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


def _level(alert: StoredAlert) -> int:
    return 2 if alert.severity is Severity.CRITICAL else 1


class CampusState:
    """Racks and live alerts of a whole campus, as analyzers publish them."""

    def __init__(self, out: OutTopics | None = None, stale_after_s: float = STALE_AFTER_S) -> None:
        self.out = out or OutTopics()
        self.stale_after_s = stale_after_s
        self.received = 0
        self.rejected = 0
        self._racks: dict[str, _Figures] = {}
        self._alerts: dict[str, StoredAlert] = {}
        """Live alerts by their state topic."""
        self._rollup = f"{self.out.prefix}/rollup/"
        self._state = f"{self.out.prefix}/alerts/state/"
        self.now = 0.0

    def filters(self) -> list[str]:
        """What a campus console subscribes to."""
        return [self.out.rollup_filter(), self.out.state_filter()]

    def ingest(self, messages: Iterable[RawMessage]) -> None:
        for message in messages:
            self.received += 1
            topic = message.topic
            if topic.startswith(self._rollup):
                ok = self._rollup_message(topic[len(self._rollup):], message.payload)
            elif topic.startswith(self._state):
                ok = self._state_message(topic, message.payload)
            else:
                ok = True  # transitions and anything else: not part of the picture
            self.rejected += not ok

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
        if not payload:
            self._alerts.pop(topic, None)
            return True
        alert = decode_state(payload)
        if alert is None or self.out.state(alert.key, alert.rule) != topic:
            return False
        self._alerts[topic] = alert
        return True

    # -- the picture -----------------------------------------------------------------------
    def alerts(self) -> tuple[Alert, ...]:
        views = [
            Alert(id=a.id, key=a.key, rule=a.rule, severity=a.severity, state=a.state,
                  raised_at=a.raised_at, updated_at=a.updated_at, value=a.value,
                  message=sanitize_text(a.message))
            for a in self._alerts.values()
        ]
        _, membership = group_incidents(views, place_of_key, 2)
        views = [replace(a, incident=membership.get(a.id)) for a in views]
        views.sort(key=lambda a: (-(2 if a.severity is Severity.CRITICAL else 1), -a.raised_at, a.id))
        return tuple(views)

    def snapshot(self) -> Snapshot:
        """The campus as the existing UI draws it: floor map from rollups, alerts from state."""
        names = tuple(sorted(self._racks))
        rows = [self._racks[name] for name in names]
        level = np.array([f.alert_level for f in rows], dtype=np.int8)
        order = {name: i for i, name in enumerate(names)}
        for alert in self._alerts.values():
            parts = alert.key.split("/")
            rack, _ = device_place(parts[4] if len(parts) > 4 else "", alert.key)
            number = order.get(rack)
            if number is not None:
                level[number] = max(level[number], _level(alert))
        stale = np.array([f.stale or self.now - f.ts > self.stale_after_s for f in rows], dtype=bool)
        alerts = self.alerts()
        incidents, _ = group_incidents(alerts, place_of_key, 2)
        return Snapshot(
            now=self.now,
            channels=ChannelView(keys=(), latest=_frozen(np.zeros(0, dtype=np.float32)),
                                 updated=_frozen(np.zeros(0)), stale=_frozen(np.zeros(0, dtype=bool))),
            racks=RackView(
                racks=names,
                inlet_c=_frozen(np.array([f.inlet_c for f in rows], dtype=np.float32)),
                power_pct=_frozen(np.array([f.power_pct for f in rows], dtype=np.float32)),
                hottest_gpu_c=_frozen(np.array([f.hottest_gpu_c for f in rows], dtype=np.float32)),
                alert_level=_frozen(level),
                stale=_frozen(stale),
            ),
            alerts=alerts,
            incidents=tuple(incidents),
            events=(),
            stats=IngestStats(received=self.received, decoded=self.received - self.rejected,
                              rejected={"campus_rollup": self.rejected} if self.rejected else {},
                              sources_online=int((~stale).sum()), sources_stale=int(stale.sum())),
        )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
