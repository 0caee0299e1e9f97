"""The security event timeline: field events, each linked to the control it bears on, and which raise alerts.

Events arrive on ``dc/<site>/events`` (../shared/spec/wire.md, "Event"). An event kind bears on
one security indicator (a forced cage door on ``safeguards/doors_forced_or_held``); the profile
says which of its controls reads that indicator, so the link holds for any profile that reads
it (the default five, NIST CSF's six, an operator's own).
"""

from __future__ import annotations

import math
from collections import deque

from console.core.security.model import IndicatorSource, Profile, TimelineEntry
from console.core.snapshot import AlertTransition, Severity
from sensors.messages import Event
from sensors.sanitize import sanitize_text

EVENT_SOURCES: dict[str, IndicatorSource] = {
    "door_forced": IndicatorSource("safeguards", "doors_forced_or_held"),
    "door_held": IndicatorSource("safeguards", "doors_forced_or_held"),
    "privileged_session": IndicatorSource("safeguards", "privileged_sessions_open"),
    "weight_store_access": IndicatorSource("safeguards", "weight_store_access_anomalies"),
    "advisory": IndicatorSource("coordination", "advisories_outstanding"),
    "phishing_report": IndicatorSource("people", "phishing_reports_open"),
}
"""The indicator each security event kind bears on."""

KIND_SEVERITY: dict[str, Severity] = {
    "door_forced": Severity.CRITICAL,
    "weight_store_access": Severity.CRITICAL,
    "door_held": Severity.WARNING,
    "privileged_session": Severity.WARNING,
}
"""The least alert severity a kind raises, whatever the sender says: a forced door into a cage
or an access to model weights is physical or frontier-capability exposure, always critical."""

ALERT_RULE = "security_event"
EVENT_ALERT_HOLD_S = 900.0
"""An event alert clears this long after the latest event that raised it (a shift's glance)."""
TIMELINE_LENGTH = 200
_SHOWN_KIND = 40
_SHOWN_WHERE = 80
_SHOWN_DETAIL = 200


def control_of(kind: str, profile: Profile) -> str | None:
    """The id of the profile's control an event kind bears on, or None."""
    source = EVENT_SOURCES.get(kind)
    if source is None:
        return None
    control = profile.control_for_source(source)
    return control.id if control is not None else None


def event_alert(event: Event) -> AlertTransition | None:
    """The alert an event raises, or None.

    Security kinds raise at least their ``KIND_SEVERITY``; any event the sender marks
    ``warning`` or ``critical`` raises at that severity (the higher of the two wins). Events are
    instants: ``SecurityState.evaluate`` clears the alert ``EVENT_ALERT_HOLD_S`` later.
    """
    severity = KIND_SEVERITY.get(event.kind)
    if event.severity == "critical":
        severity = Severity.CRITICAL
    elif event.severity == "warning" and severity is None:
        severity = Severity.WARNING
    if severity is None:
        return None
    kind = sanitize_text(event.kind, _SHOWN_KIND)
    where = sanitize_text(event.where, _SHOWN_WHERE)
    detail = sanitize_text(event.detail, _SHOWN_DETAIL)
    return AlertTransition(
        ts=event.ts,
        key=f"{event.topic.device}/{_key_segment(event.kind)}",
        state="raised",
        severity=severity,
        rule=ALERT_RULE,
        value=math.nan,
        message=f"{kind} at {where or 'unknown place'}" + (f": {detail}" if detail else ""),
    )


def _key_segment(kind: str) -> str:
    """The kind as a channel-key segment: anything outside ``[A-Za-z0-9_-]`` becomes ``_``."""
    segment = "".join(char if char.isascii() and (char.isalnum() or char in "_-") else "_" for char in kind)
    return segment or "event"


class Timeline:
    """The newest events, sanitised and linked, with QoS 1 redeliveries dropped."""

    def __init__(self, profile: Profile, length: int = TIMELINE_LENGTH) -> None:
        self.profile = profile
        self._entries: deque[TimelineEntry] = deque(maxlen=length)
        self._seen: deque[tuple[str, str | None, int]] = deque(maxlen=4 * length)

    def add(self, event: Event) -> AlertTransition | None:
        """Add an event; return the alert it raises (None for a redelivery or a quiet event)."""
        if event.seq is not None:
            identity = (event.topic.device, event.boot, event.seq)
            if identity in self._seen:
                return None
            self._seen.append(identity)
        alert = event_alert(event)
        self._entries.append(
            TimelineEntry(
                ts=event.ts,
                site=sanitize_text(event.topic.site),
                kind=sanitize_text(event.kind, _SHOWN_KIND),
                severity=sanitize_text(event.severity),
                where=sanitize_text(event.where, _SHOWN_WHERE),
                detail=sanitize_text(event.detail, _SHOWN_DETAIL),
                control_id=control_of(event.kind, self.profile),
                alert=alert is not None,
            )
        )
        return alert

    def entries(self) -> tuple[TimelineEntry, ...]:
        """Newest first (by sample time; arrival order breaks ties)."""
        ordered = sorted(enumerate(self._entries), key=lambda pair: (pair[1].ts, pair[0]), reverse=True)
        return tuple(entry for _, entry in ordered)
