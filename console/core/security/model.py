"""The security controls model: what a profile defines, how an indicator is judged, what the UI sees.

A profile (``profile.py``) defines controls; a control holds indicators; an indicator reads one
number, either from a security topic (``dc/<site>/security/<control>``, ../shared/spec/wire.md,
"Security") or derived by the console from the live feed (``derived.py``). Each indicator is
judged OK / WARN / FAIL against two thresholds, or UNKNOWN when its number is missing or older
than its freshness limit. A control is as bad as its worst indicator.

Everything below the definitions is an immutable view record: ``SecurityView`` is what crosses
into the UI inside a ``Snapshot``. Strings from the wire in a view are already sanitised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

DERIVED_PREFIX = "derived:"
DERIVED_SOURCE = "derived"
"""What an evidence's ``source`` says for a number the console computed itself."""


class SecurityStatus(StrEnum):
    """The judgement of an indicator or a control, in rising order of concern.

    UNKNOWN (no data, or data too old) ranks between OK and WARN: not knowing is itself a
    warning sign, but a measured WARN or FAIL is worse.
    """

    OK = "OK"
    UNKNOWN = "UNKNOWN"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {SecurityStatus.OK: 0, SecurityStatus.UNKNOWN: 1, SecurityStatus.WARN: 2, SecurityStatus.FAIL: 3}


def worst(statuses: tuple[SecurityStatus, ...] | list[SecurityStatus]) -> SecurityStatus:
    """The most concerning status; UNKNOWN for none at all (nothing to judge by)."""
    if not statuses:
        return SecurityStatus.UNKNOWN
    return max(statuses, key=_RANK.__getitem__)


class Direction(StrEnum):
    """Which way an indicator gets worse."""

    HIGHER_IS_WORSE = "higher-is-worse"
    LOWER_IS_WORSE = "lower-is-worse"


@dataclass(frozen=True, slots=True)
class IndicatorSource:
    """Where an indicator's number comes from.

    Either a security topic's indicator (``topic_control`` is the ``<control>`` segment of
    ``dc/<site>/security/<control>``, ``name`` the key in its ``indicators`` object), or a number
    the console derives (``topic_control`` is None, ``name`` names the derivation).
    """

    topic_control: str | None
    name: str

    @property
    def derived(self) -> bool:
        return self.topic_control is None

    def __str__(self) -> str:
        if self.topic_control is None:
            return f"{DERIVED_PREFIX}{self.name}"
        return f"{self.topic_control}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> IndicatorSource:
        """Parse ``"<control>/<indicator>"`` or ``"derived:<name>"``; ValueError if neither."""
        if text.startswith(DERIVED_PREFIX):
            name = text[len(DERIVED_PREFIX) :]
            if not _is_segment(name):
                raise ValueError(f"{text!r}: a derived source is 'derived:<name>'")
            return cls(None, name)
        control, slash, name = text.partition("/")
        if not slash or not _is_segment(control) or not _is_segment(name):
            raise ValueError(f"{text!r}: a source is '<control>/<indicator>' or 'derived:<name>'")
        return cls(control, name)


def _is_segment(text: str) -> bool:
    return bool(text) and all((char.isalnum() and char.isascii()) or char in "_-" for char in text)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One measured number of a control, with the thresholds that judge it.

    A threshold is the last acceptable value of the better level: with higher-is-worse a value
    above ``warn`` is WARN and above ``fail`` is FAIL; with lower-is-worse a value below ``warn``
    is WARN and below ``fail`` is FAIL. A number older than ``fresh_s`` seconds is UNKNOWN.
    """

    name: str
    label: str
    source: IndicatorSource
    direction: Direction
    warn: float
    fail: float
    fresh_s: float
    unit: str = ""
    description: str = ""

    def judge(self, value: float) -> SecurityStatus:
        """OK, WARN or FAIL for a measured value; UNKNOWN for NaN (not measured)."""
        if math.isnan(value):
            return SecurityStatus.UNKNOWN
        if self.direction is Direction.HIGHER_IS_WORSE:
            if value > self.fail:
                return SecurityStatus.FAIL
            return SecurityStatus.WARN if value > self.warn else SecurityStatus.OK
        if value < self.fail:
            return SecurityStatus.FAIL
        return SecurityStatus.WARN if value < self.warn else SecurityStatus.OK

    def rule_text(self) -> str:
        """The thresholds in words, e.g. ``WARN > 0, FAIL > 5`` (for the drill-down)."""
        sign = ">" if self.direction is Direction.HIGHER_IS_WORSE else "<"
        return f"WARN {sign} {_number(self.warn)}{self.unit}, FAIL {sign} {_number(self.fail)}{self.unit}"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


@dataclass(frozen=True, slots=True)
class Control:
    """A security control of a profile: a titled group of indicators."""

    id: str
    title: str
    indicators: tuple[Indicator, ...]
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """A named set of controls (the default five, NIST CSF's six, or an operator's own)."""

    name: str
    title: str
    controls: tuple[Control, ...]
    trend_step_s: float = 60.0
    """Stream seconds per trend cell: each cell holds the worst status seen in that step."""
    trend_length: int = 12
    origin: str = ""
    """The file the profile was read from (for messages)."""

    def control_for_source(self, source: IndicatorSource) -> Control | None:
        """The first control holding an indicator that reads ``source``."""
        for control in self.controls:
            if any(indicator.source == source for indicator in control.indicators):
                return control
        return None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why an indicator has its status: the number, when it was measured, where it came from."""

    value: float | None
    """None when no number has been seen yet."""
    when: float | None
    """Sample time (seconds since the epoch) of the number; for derived numbers, the view time."""
    source: str
    """The topic the number came on (``dc/s1/security/coverage``), or ``derived``."""
    age_s: float | None = None

    def value_text(self, unit: str = "") -> str:
        if self.value is None or math.isnan(self.value):
            return "N/A"
        return f"{_number(round(self.value, 2))}{unit}"


@dataclass(frozen=True, slots=True)
class IndicatorView:
    """An indicator as judged at the view time."""

    indicator: Indicator
    status: SecurityStatus
    evidence: Evidence
    reason: str
    """A short why: ``3 > 0 (WARN > 0)``, ``no data for 312 s``, ``no data yet``."""


@dataclass(frozen=True, slots=True)
class ControlView:
    """A control as judged at the view time, worst indicator first in ``indicators`` order kept."""

    control: Control
    status: SecurityStatus
    indicators: tuple[IndicatorView, ...]
    trend: tuple[SecurityStatus, ...]
    """Oldest first, one per trend step, the last being the current step."""
    events: int = 0
    """Timeline events that bear on this control."""

    @property
    def worst_indicator(self) -> IndicatorView | None:
        """The indicator that sets the control's status (the first of the worst)."""
        for view in self.indicators:
            if view.status is self.status:
                return view
        return None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A security event as shown: all strings sanitised, linked to the control it bears on."""

    ts: float
    site: str
    kind: str
    severity: str
    where: str
    detail: str
    control_id: str | None
    alert: bool
    """Whether this event raised an alert (see ``timeline.event_alert``)."""


@dataclass(frozen=True, slots=True)
class SecurityView:
    """Everything the security panel draws, at one instant of stream time."""

    now: float
    profile_name: str
    profile_title: str
    controls: tuple[ControlView, ...]
    timeline: tuple[TimelineEntry, ...]
    """Newest first."""

    @property
    def status(self) -> SecurityStatus:
        return worst([control.status for control in self.controls])

    def control(self, control_id: str) -> ControlView | None:
        for view in self.controls:
            if view.control.id == control_id:
                return view
        return None
