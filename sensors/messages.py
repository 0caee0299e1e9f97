"""What the codec decodes a message into. Plain frozen records, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sensors.topics import Topic


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as it came off the wire or out of a log, before decoding."""

    received: float
    """Receive time, seconds since the epoch."""
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Telemetry:
    """A rack, node, CDU or security report: numeric channels of one device at one time.

    ``names`` are the channels' metric parts (``inlet_temp_c``, ``gpu3/temp_c``, a security
    indicator name) in payload order; ``readings`` their numbers in the same order. A reading is
    an int or float as parsed (a JSON bool counts as 0 or 1), or NaN for a ``null`` on the wire
    ("not measured this time"); ``float()`` of it is the value. Left unconverted because the
    store converts a whole batch in one numpy call; ``values`` gives floats.
    """

    topic: Topic
    ts: float
    seq: int
    boot: str | None
    names: tuple[str, ...]
    readings: tuple[float, ...]
    xid: tuple[tuple[int, int], ...] = ()
    """(GPU index, XID code) raised since the previous message."""
    throttle: tuple[tuple[int, str], ...] = ()
    """(GPU index, clock-event reason) active now."""

    @property
    def values(self) -> dict[str, float]:
        """Metric part -> float, for callers that want a mapping (built on each call)."""
        return dict(zip(self.names, map(float, self.readings), strict=True))

    def key(self, metric: str) -> str:
        """The full channel key of one of this message's metrics."""
        return f"{self.topic.device}/{metric}"


@dataclass(frozen=True, slots=True)
class Event:
    """A discrete event from ``<prefix>/<site>/events``. Strings are raw: sanitise to show."""

    topic: Topic
    ts: float
    kind: str
    severity: str
    where: str
    detail: str
    seq: int | None = None
    boot: str | None = None


@dataclass(frozen=True, slots=True)
class Meta:
    """Retained static facts of a device (PDU rating, GPU limits...)."""

    topic: Topic
    facts: dict[str, float | str]


@dataclass(frozen=True, slots=True)
class Status:
    """Retained ``online`` / ``offline`` of a device (also its MQTT will)."""

    topic: Topic
    online: bool


class RejectReason(StrEnum):
    """Why a message was refused. Every rejection is counted under one of these."""

    OVERSIZED = "oversized"
    BAD_UTF8 = "bad_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    UNKNOWN_TOPIC = "unknown_topic"
    MISSING_FIELD = "missing_field"
    BAD_TYPE = "bad_type"
    NON_FINITE = "non_finite"
    BAD_VALUE = "bad_value"
    TOO_LARGE = "too_large"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message the codec refused, with the reason and a short detail for the operator."""

    topic: str
    reason: RejectReason
    detail: str = ""


Decoded = Telemetry | Event | Meta | Status


@dataclass(slots=True)
class RejectCounts:
    """Running count of rejections by reason (shown in the console, printed by scan)."""

    by_reason: dict[RejectReason, int] = field(default_factory=dict)

    def add(self, reason: RejectReason) -> None:
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())
