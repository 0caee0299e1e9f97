"""The security event timeline: links to controls, alerts, sanitised strings, redeliveries dropped."""

from __future__ import annotations

import math

import pytest

from console.core.security.profile import builtin_profile
from console.core.security.state import SecurityState
from console.core.security.timeline import EVENT_ALERT_HOLD_S, EVENT_SOURCES, control_of, event_alert
from console.core.snapshot import Severity
from sensors.codec import decode, encode_event
from sensors.messages import Event
from sensors.simulator.security import EVENT_KINDS

T0 = 1_767_225_600.0
HOSTILE = "[bold red]FAKE[/] [link=https://x]y[/link] \x1b[2J \x1b]0;t\x07 \x9b31m"


def event(kind: str, severity: str = "info", detail: str = "text", where: str = "h1/cage-w1", seq: int = 0,
          ts: float = T0, site: str = "s1") -> Event:
    message = decode(f"dc/{site}/events", encode_event(ts, kind, severity, where, detail, seq, "b1"))
    assert isinstance(message, Event)
    return message


def test_every_security_event_kind_of_the_simulator_bears_on_a_default_control() -> None:
    profile = builtin_profile("default")
    assert set(EVENT_SOURCES) == set(EVENT_KINDS)
    assert {kind: control_of(kind, profile) for kind in EVENT_KINDS} == {
        "door_forced": "safeguards", "door_held": "safeguards", "privileged_session": "safeguards",
        "weight_store_access": "safeguards", "advisory": "coordination", "phishing_report": "people"}
    assert control_of("leak", profile) is None


def test_the_link_follows_the_profile() -> None:
    nist = builtin_profile("nist_csf")
    assert control_of("door_forced", nist) == "detect"
    assert control_of("phishing_report", nist) == "respond"
    assert control_of("privileged_session", nist) == "protect"


@pytest.mark.parametrize(
    ("kind", "severity", "expected"),
    [
        ("door_forced", "info", Severity.CRITICAL),
        ("weight_store_access", "warning", Severity.CRITICAL),
        ("door_held", "info", Severity.WARNING),
        ("privileged_session", "critical", Severity.CRITICAL),
        ("privileged_session", "info", Severity.WARNING),
        ("phishing_report", "warning", Severity.WARNING),
        ("advisory", "info", None),
        ("maintenance", "info", None),
        ("leak", "critical", Severity.CRITICAL),
    ],
)
def test_which_events_raise_alerts(kind: str, severity: str, expected: Severity | None) -> None:
    alert = event_alert(event(kind, severity))
    if expected is None:
        assert alert is None
    else:
        assert alert is not None and alert.severity is expected and alert.state == "raised"


def test_an_alert_names_the_site_kind_and_place_safely() -> None:
    alert = event_alert(event("door_forced", "critical", detail=HOSTILE, where="h1/\x1b[31mcage"))
    assert alert is not None
    assert alert.key == "s1/events/door_forced"
    assert alert.rule == "security_event" and math.isnan(alert.value) and alert.ts == T0
    assert "\x1b" not in alert.message and "\x9b" not in alert.message and "\x07" not in alert.message
    assert alert.message.startswith("door_forced at h1/\\x1b[31mcage: [bold red]FAKE[/]")
    odd = event_alert(event("door forced!", "critical"))
    assert odd is not None and odd.key == "s1/events/door_forced_"


def test_the_timeline_is_newest_first_linked_and_sanitised() -> None:
    state = SecurityState(builtin_profile())
    state.ingest(event("door_forced", "critical", detail=HOSTILE, seq=0, ts=T0))
    state.ingest(event("advisory", "info", seq=1, ts=T0 + 5))
    state.ingest(event("phishing_report", "warning", seq=2, ts=T0 + 2))
    raised = state.evaluate(T0 + 10)
    assert [(t.key, t.severity) for t in raised] == [
        ("s1/events/door_forced", Severity.CRITICAL), ("s1/events/phishing_report", Severity.WARNING)]
    view = state.view(T0 + 10)
    assert [entry.kind for entry in view.timeline] == ["advisory", "phishing_report", "door_forced"]
    forced = view.timeline[-1]
    assert (forced.control_id, forced.alert) == ("safeguards", True)
    assert (forced.site, forced.where) == ("s1", "h1/cage-w1")
    assert forced.detail == "[bold red]FAKE[/] [link=https://x]y[/link] \\x1b[2J \\x1b]0;t\\x07 \\x9b31m"
    assert view.control("safeguards").events == 1
    assert view.control("coordination").events == 1


def test_a_qos1_redelivery_is_dropped_and_raises_nothing() -> None:
    state = SecurityState(builtin_profile())
    state.ingest(event("door_forced", seq=7))
    state.ingest(event("door_forced", seq=7))
    state.ingest(event("door_forced", seq=7, site="s2"))
    assert [t.key for t in state.evaluate(T0)] == ["s1/events/door_forced", "s2/events/door_forced"]
    assert len(state.view(T0).timeline) == 2


def test_an_event_alert_clears_a_hold_time_after_its_latest_event() -> None:
    state = SecurityState(builtin_profile())
    state.ingest(event("door_forced", seq=0, ts=T0))
    assert [t.state for t in state.evaluate(T0 + 1)] == ["raised"]
    state.ingest(event("door_forced", seq=1, ts=T0 + 600))
    assert [t.state for t in state.evaluate(T0 + 601)] == ["raised"]
    assert state.evaluate(T0 + 600 + EVENT_ALERT_HOLD_S - 1) == []
    cleared = state.evaluate(T0 + 600 + EVENT_ALERT_HOLD_S)
    assert [(t.state, t.key, t.ts) for t in cleared] == [
        ("cleared", "s1/events/door_forced", T0 + 600 + EVENT_ALERT_HOLD_S)]
    assert state.evaluate(T0 + 10_000) == []


def test_the_timeline_keeps_the_newest_events_only() -> None:
    state = SecurityState(builtin_profile())
    for seq in range(250):
        state.ingest(event("advisory", seq=seq, ts=T0 + seq))
    timeline = state.view(T0 + 300).timeline
    assert len(timeline) == 200
    assert timeline[0].ts == T0 + 249 and timeline[-1].ts == T0 + 50
