"""What an analyzer publishes, and how it reads it back: wire contract v1.2 additions.

docs/wire-additions.md is the reference. Under the output prefix (default ``rackwatch/v1``):

* ``<out>/alerts/transitions/<partition>``: one scan-output object (wire.md) plus ``partition``
  per transition; QoS 1, not retained.
* ``<out>/alerts/state/<key path>/<rule>``: the live alert; QoS 1, retained; an empty retained
  payload deletes it when the alert clears.
* ``<out>/rollup/<site>/<hall>/<row>`` (the row's racks) and ``.../<row>/<rack>``: compact floor-map
  figures; QoS 1, retained, every ``rollup_every_s`` of stream time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import orjson

from console.core.snapshot import Alert, AlertState, AlertTransition, RackView, Severity

DEFAULT_OUT_PREFIX = "rackwatch/v1"
SEGMENT = re.compile(r"[A-Za-z0-9_-]+\Z")
ROLLUP_FIELDS = ("inlet_c", "power_pct", "hottest_gpu_c", "alert_level", "stale")


@dataclass(frozen=True, slots=True)
class Publication:
    """One message for the broker."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 1


def _segments(path: str) -> str:
    """A key path as topic levels: anything outside ``[A-Za-z0-9_-]`` becomes ``_`` (never a wildcard)."""
    return "/".join(part if SEGMENT.match(part) else re.sub(r"[^A-Za-z0-9_-]", "_", part) or "_"
                    for part in path.split("/"))


def check_out_prefix(prefix: str) -> str:
    """The output prefix itself, or ValueError: plain levels only (it is published to)."""
    if not prefix or not all(SEGMENT.match(part) for part in prefix.split("/")):
        raise ValueError(f"output prefix {prefix!r} must be levels of [A-Za-z0-9_-]+, e.g. rackwatch/v1")
    return prefix


def _number(value: float, digits: int = 3) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


class OutTopics:
    """Topic names and payloads under one output prefix."""

    def __init__(self, prefix: str = DEFAULT_OUT_PREFIX) -> None:
        self.prefix = check_out_prefix(prefix)

    # -- topics --------------------------------------------------------------------------
    def transitions(self, partition: str) -> str:
        return f"{self.prefix}/alerts/transitions/{partition}"

    def state(self, key: str, rule: str) -> str:
        return f"{self.prefix}/alerts/state/{_segments(key)}/{_segments(rule)}"

    def state_filter(self) -> str:
        return f"{self.prefix}/alerts/state/#"

    def rollup_filter(self) -> str:
        return f"{self.prefix}/rollup/#"

    def row_rollup(self, row: str) -> str:
        return f"{self.prefix}/rollup/{_segments(row)}"

    def rack_rollup(self, rack: str) -> str:
        return f"{self.prefix}/rollup/{_segments(rack)}"

    # -- payloads ------------------------------------------------------------------------
    def transition(self, transition: AlertTransition, partition: str) -> Publication:
        body = {**transition.as_json(), "partition": partition}
        return Publication(self.transitions(partition), orjson.dumps(body))

    def raised_state(self, alert: Alert, partition: str) -> Publication:
        body = {
            "key": alert.key, "rule": alert.rule, "severity": str(alert.severity),
            "state": str(alert.state), "raised_at": alert.raised_at, "updated_at": alert.updated_at,
            "value": _number(alert.value), "message": alert.message, "partition": partition,
        }
        return Publication(self.state(alert.key, alert.rule), orjson.dumps(body), retain=True)

    def cleared_state(self, key: str, rule: str) -> Publication:
        """The empty retained payload that deletes an alert's state."""
        return Publication(self.state(key, rule), b"", retain=True)

    def rollups(self, ts: float, racks: RackView, partition: str) -> list[Publication]:
        """One retained message per row (all its racks) and one per rack."""
        rows: dict[str, dict[str, dict[str, object]]] = {}
        out: list[Publication] = []
        for index, rack in enumerate(racks.racks):
            figures: dict[str, object] = {
                "inlet_c": _number(float(racks.inlet_c[index]), 1),
                "power_pct": _number(float(racks.power_pct[index]), 1),
                "hottest_gpu_c": _number(float(racks.hottest_gpu_c[index]), 1),
                "alert_level": int(racks.alert_level[index]),
                "stale": bool(racks.stale[index]),
            }
            row, _, name = rack.rpartition("/")
            rows.setdefault(row, {})[name] = figures
            body = {"ts": ts, "partition": partition, **figures}
            out.append(Publication(self.rack_rollup(rack), orjson.dumps(body), retain=True))
        for row, members in rows.items():
            body = {"ts": ts, "partition": partition, "racks": members}
            out.append(Publication(self.row_rollup(row), orjson.dumps(body), retain=True))
        return out


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """A live alert as read back from its retained state topic."""

    key: str
    rule: str
    severity: Severity
    state: AlertState
    raised_at: float
    updated_at: float
    value: float
    message: str
    partition: str

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.key}"


def _text(body: dict, name: str, limit: int = 1024) -> str:
    value = body.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(name)
    return value


def _float(body: dict, name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(name)
    return float(value)


def decode_state(payload: bytes) -> StoredAlert | None:
    """A retained alert state payload; None for a deletion or anything malformed (never raises)."""
    if not payload:
        return None
    try:
        body = orjson.loads(payload)
        if not isinstance(body, dict):
            return None
        key, rule = _text(body, "key"), _text(body, "rule", 64)
        if not all(SEGMENT.match(part) for part in [*key.split("/"), rule]):
            return None
        raised_at = _float(body, "raised_at")
        state = AlertState(_text(body, "state"))
        if state is AlertState.CLEARED:
            return None
        return StoredAlert(
            key=key,
            rule=rule,
            severity=Severity(_text(body, "severity")),
            state=state,
            raised_at=raised_at,
            updated_at=_float(body, "updated_at", raised_at),
            value=_float(body, "value"),
            message=_text(body, "message", 4096),
            partition=_text(body, "partition", 64),
        )
    except (orjson.JSONDecodeError, ValueError):
        return None
