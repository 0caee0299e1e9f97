"""``SecurityState``: fed decoded messages, evaluated at a stream time into a ``SecurityView``.

The engine calls ``ingest`` for every decoded message (security telemetry sets indicators,
events feed the timeline, fleet telemetry/meta/status feed derived coverage), ``evaluate(now)``
when it evaluates (records trends; returns the alerts events raised, and their clearing), and
``view(now)`` when it builds a snapshot. Judging is where freshness is checked, so a silent
source turns UNKNOWN without any message arriving.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

from console.core.security.derived import Coverage, TelemetryCoverage
from console.core.security.model import (
    DERIVED_SOURCE,
    ControlView,
    Evidence,
    Indicator,
    IndicatorView,
    Profile,
    SecurityStatus,
    SecurityView,
    worst,
)
from console.core.security.timeline import EVENT_ALERT_HOLD_S, Timeline
from console.core.snapshot import AlertTransition
from sensors.messages import Decoded, Event, Telemetry
from sensors.topics import DEFAULT_PREFIX, TopicKind, TopicRole


@dataclass(frozen=True, slots=True)
class _Reading:
    value: float
    ts: float
    topic: str


class SecurityState:
    """The live security picture of one console: latest indicator readings, coverage, timeline."""

    def __init__(
        self, profile: Profile, prefix: str = DEFAULT_PREFIX, coverage: TelemetryCoverage | None = None
    ) -> None:
        self.profile = profile
        self.prefix = prefix
        self.coverage = coverage or TelemetryCoverage()
        self.timeline = Timeline(profile)
        self._readings: dict[tuple[str, str], dict[str, _Reading]] = {}
        """(topic control, indicator name) -> site -> latest finite reading."""
        self._trends: dict[str, deque[SecurityStatus]] = {
            control.id: deque(maxlen=profile.trend_length) for control in profile.controls
        }
        self._trend_step: int | None = None
        self._pending: list[AlertTransition] = []
        self._raised: dict[str, AlertTransition] = {}
        """Event alerts not cleared yet, by key: the latest raise of each."""

    def ingest(self, message: Decoded) -> None:
        """Take one decoded message of any kind (what is not security-relevant is ignored)."""
        if isinstance(message, Event):
            alert = self.timeline.add(message)
            if alert is not None:
                self._pending.append(alert)
                self._raised[alert.key] = alert
            return
        self.coverage.ingest(message)
        if (
            isinstance(message, Telemetry)
            and message.topic.kind is TopicKind.SECURITY
            and message.topic.role is TopicRole.DATA
        ):
            self._security(message)

    def evaluate(self, now: float) -> list[AlertTransition]:
        """Call once per engine evaluation (about every second of stream time).

        Records each control's status in its trend, whatever the frame rate or replay speed, and
        returns the alerts events raised since the last call, then a clear for each event alert
        quiet for ``EVENT_ALERT_HOLD_S`` (an event is an instant: its alert stays up long enough
        to be seen).
        """
        coverage = self.coverage.coverage(now)
        step = self._step(now)
        for control in self.profile.controls:
            status = worst([self._judge(indicator, now, coverage).status for indicator in control.indicators])
            trend = self._trends[control.id]
            if trend and self._trend_step == step:
                trend[-1] = worst([trend[-1], status])
            else:
                trend.append(status)
        self._trend_step = step
        transitions, self._pending = self._pending, []
        for key, raised in list(self._raised.items()):
            if now - raised.ts >= EVENT_ALERT_HOLD_S:
                transitions.append(replace(raised, state="cleared", ts=now))
                del self._raised[key]
        return transitions

    def _security(self, message: Telemetry) -> None:
        control = message.topic.device.rsplit("/", 1)[-1]
        topic = f"{self.prefix}/{message.topic.device}"
        for name, value in message.values.items():
            if math.isnan(value):
                continue
            sites = self._readings.setdefault((control, name), {})
            previous = sites.get(message.topic.site)
            if previous is None or message.ts >= previous.ts:
                sites[message.topic.site] = _Reading(value, message.ts, topic)

    def view(self, now: float) -> SecurityView:
        """Judge every control at stream time ``now``; trends are what ``evaluate`` recorded."""
        coverage = self.coverage.coverage(now)
        timeline = self.timeline.entries()
        controls = []
        for control in self.profile.controls:
            indicators = tuple(self._judge(indicator, now, coverage) for indicator in control.indicators)
            controls.append(
                ControlView(
                    control=control,
                    status=worst([view.status for view in indicators]),
                    indicators=indicators,
                    trend=tuple(self._trends[control.id]),
                    events=sum(1 for entry in timeline if entry.control_id == control.id),
                )
            )
        return SecurityView(
            now=now,
            profile_name=self.profile.name,
            profile_title=self.profile.title,
            controls=tuple(controls),
            timeline=timeline,
        )

    def _step(self, now: float) -> int:
        return math.floor(now / self.profile.trend_step_s)

    def _judge(self, indicator: Indicator, now: float, coverage: Coverage) -> IndicatorView:
        if indicator.source.derived:
            value = coverage.value(indicator.source.name)
            evidence = Evidence(value=value, when=now, source=DERIVED_SOURCE, age_s=0.0)
            status = indicator.judge(value)
            if status is SecurityStatus.UNKNOWN:
                reason = "no fleet sources seen yet"
            else:
                reason = _threshold_reason(indicator, value, status)
            return IndicatorView(indicator, status, evidence, reason)
        assert indicator.source.topic_control is not None
        sites = self._readings.get((indicator.source.topic_control, indicator.source.name), {})
        if not sites:
            topic = f"{self.prefix}/+/security/{indicator.source.topic_control}"
            return IndicatorView(
                indicator, SecurityStatus.UNKNOWN, Evidence(None, None, topic), "no data yet"
            )
        judged = [self._judge_reading(indicator, reading, now) for reading in sites.values()]
        return max(judged, key=lambda view: (view.status.rank, view.evidence.when or 0.0))

    def _judge_reading(self, indicator: Indicator, reading: _Reading, now: float) -> IndicatorView:
        age = max(0.0, now - reading.ts)
        evidence = Evidence(value=reading.value, when=reading.ts, source=reading.topic, age_s=age)
        if age > indicator.fresh_s:
            reason = f"no data for {age:.0f} s (limit {indicator.fresh_s:g} s)"
            return IndicatorView(indicator, SecurityStatus.UNKNOWN, evidence, reason)
        status = indicator.judge(reading.value)
        return IndicatorView(indicator, status, evidence, _threshold_reason(indicator, reading.value, status))


def _threshold_reason(indicator: Indicator, value: float, status: SecurityStatus) -> str:
    shown = Evidence(value, None, "").value_text(indicator.unit)
    if status is SecurityStatus.OK:
        return f"{shown} within limits ({indicator.rule_text()})"
    return f"{shown}: {status} ({indicator.rule_text()})"
