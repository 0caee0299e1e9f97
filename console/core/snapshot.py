"""The only thing that crosses from the core into the UI: frozen, read-only snapshots.

The core builds a ``Snapshot`` a few times a second; widgets read it and never mutate it.
Missing data is explicit (NaN values, a ``stale`` mask) so widgets show "N/A" rather than
raise. numpy arrays here are copies with ``setflags(write=False)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from console.core.security.model import SecurityView


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class AlertTransition:
    """One line of scan output (../shared/spec/wire.md, "Scan output")."""

    ts: float
    key: str
    state: str
    """``raised`` or ``cleared``."""
    severity: Severity
    rule: str
    value: float
    message: str

    def as_json(self) -> dict[str, object]:
        return {
            "ts": self.ts,
            "key": self.key,
            "state": self.state,
            "severity": str(self.severity),
            "rule": self.rule,
            "value": None if np.isnan(self.value) else round(float(self.value), 3),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert of the book as the UI shows it."""

    id: str
    """Stable identity: ``rule`` + ``key``."""
    key: str
    rule: str
    severity: Severity
    state: AlertState
    raised_at: float
    updated_at: float
    value: float
    message: str
    incident: str | None = None
    """Id of the incident grouping this alert with others (same row, same CDU), if any."""
    silenced_until: float | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """Alerts grouped by place (a row, a CDU) and shown as one."""

    id: str
    title: str
    severity: Severity
    alert_ids: tuple[str, ...]
    started_at: float


@dataclass(frozen=True, slots=True)
class RackView:
    """Per-rack rollups for the floor map, one entry per rack, in ``racks`` order.

    ``racks`` are rack paths ``site/hall/row/rack``. Arrays are float32/int8, read-only.
    """

    racks: tuple[str, ...]
    inlet_c: np.ndarray
    power_pct: np.ndarray
    """Rack power as % of its PDU rating (NaN where unknown)."""
    hottest_gpu_c: np.ndarray
    alert_level: np.ndarray
    """0 ok, 1 warning, 2 critical (worst active, unsilenced alert in the rack)."""
    stale: np.ndarray


@dataclass(frozen=True, slots=True)
class ChannelView:
    """Every known channel: key, latest value, time of the latest sample, stale flag."""

    keys: tuple[str, ...]
    latest: np.ndarray
    updated: np.ndarray
    stale: np.ndarray
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Warning and critical limit per key where a static rule applies."""

    def index(self, key: str) -> int | None:
        try:
            return self.keys.index(key)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class IngestStats:
    """What the pipeline has seen: for the connection bar and the Reliability view."""

    received: int = 0
    decoded: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    duplicates: int = 0
    messages_per_second: float = 0.0
    sources_online: int = 0
    sources_stale: int = 0
    sources_offline: int = 0


@dataclass(frozen=True, slots=True)
class EventView:
    """A field event as shown: strings already sanitised."""

    ts: float
    site: str
    kind: str
    severity: str
    where: str
    detail: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the UI draws, at one instant of stream time."""

    now: float
    channels: ChannelView
    racks: RackView
    alerts: tuple[Alert, ...]
    incidents: tuple[Incident, ...]
    events: tuple[EventView, ...]
    stats: IngestStats
    history: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """(timestamps, values) of the channels the UI asked history for (sparklines)."""
    device_meta: dict[str, dict[str, float | str]] = field(default_factory=dict)
    security: SecurityView | None = None
    """The security panel's controls and event timeline (console.core.security), if the engine has one."""
