"""The security controls model: thresholds both ways, freshness, worst-of, evidence, trend."""

from __future__ import annotations

import math

import pytest

from console.core.security.model import (
    Control,
    Direction,
    Indicator,
    IndicatorSource,
    Profile,
    SecurityStatus,
    worst,
)
from console.core.security.state import SecurityState
from sensors.codec import decode, encode_payload
from sensors.messages import Telemetry

T0 = 1_767_225_600.0
OK, UNKNOWN, WARN, FAIL = SecurityStatus.OK, SecurityStatus.UNKNOWN, SecurityStatus.WARN, SecurityStatus.FAIL


def indicator(name: str, direction: Direction, warn: float, fail: float, fresh_s: float = 120.0,
              control: str = "safeguards") -> Indicator:
    return Indicator(name=name, label=name, source=IndicatorSource(control, name), direction=direction,
                     warn=warn, fail=fail, fresh_s=fresh_s)


def security(control: str, ts: float, seq: int = 0, site: str = "s1", **values: float | None) -> Telemetry:
    message = decode(f"dc/{site}/security/{control}",
                     encode_payload({"ts": ts, "seq": seq, "boot": "b1", "indicators": values}))
    assert isinstance(message, Telemetry)
    return message


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, OK), (2, OK), (2.5, WARN), (5, WARN), (5.01, FAIL), (400, FAIL), (-1, OK), (math.nan, UNKNOWN)],
)
def test_higher_is_worse_thresholds_are_the_last_acceptable_value(
    value: float, expected: SecurityStatus
) -> None:
    sessions = indicator("privileged_sessions_open", Direction.HIGHER_IS_WORSE, warn=2, fail=5)
    assert sessions.judge(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(100, OK), (99, OK), (98.9, WARN), (95, WARN), (94.99, FAIL), (0, FAIL), (math.nan, UNKNOWN)],
)
def test_lower_is_worse_thresholds(value: float, expected: SecurityStatus) -> None:
    coverage = indicator("agent_coverage_pct", Direction.LOWER_IS_WORSE, warn=99, fail=95)
    assert coverage.judge(value) is expected


def test_equal_thresholds_go_straight_from_ok_to_fail() -> None:
    doors = indicator("doors_forced_or_held", Direction.HIGHER_IS_WORSE, warn=0, fail=0)
    assert [doors.judge(v) for v in (0, 1)] == [OK, FAIL]


def test_worst_ranks_unknown_between_ok_and_warn() -> None:
    assert worst([OK, UNKNOWN]) is UNKNOWN
    assert worst([UNKNOWN, WARN, OK]) is WARN
    assert worst([WARN, FAIL, UNKNOWN]) is FAIL
    assert worst([OK, OK]) is OK
    assert worst([]) is UNKNOWN


def two_indicator_profile(fresh_s: float = 60.0) -> Profile:
    sessions = indicator("privileged_sessions_open", Direction.HIGHER_IS_WORSE, 2, 5, fresh_s)
    doors = indicator("doors_forced_or_held", Direction.HIGHER_IS_WORSE, 0, 0, fresh_s)
    mfa = indicator("mfa_coverage_pct", Direction.LOWER_IS_WORSE, 100, 95, fresh_s, control="people")
    return Profile(
        name="test", title="test",
        controls=(
            Control("safeguards", "Safeguards", (sessions, doors)),
            Control("people", "People", (mfa,)),
        ),
        trend_step_s=10.0, trend_length=4,
    )


def test_control_is_its_worst_indicator_with_that_indicators_evidence() -> None:
    state = SecurityState(two_indicator_profile())
    state.ingest(security("safeguards", T0, privileged_sessions_open=3, doors_forced_or_held=1))
    state.ingest(security("people", T0, mfa_coverage_pct=100))
    view = state.view(T0 + 5)
    safeguards = view.control("safeguards")
    assert safeguards is not None
    assert [i.status for i in safeguards.indicators] == [WARN, FAIL]
    assert safeguards.status is FAIL
    worst_one = safeguards.worst_indicator
    assert worst_one is not None and worst_one.indicator.name == "doors_forced_or_held"
    assert worst_one.evidence.value == 1.0
    assert worst_one.evidence.when == T0
    assert worst_one.evidence.source == "dc/s1/security/safeguards"
    assert worst_one.evidence.age_s == 5.0
    assert view.control("people").status is OK
    assert view.status is FAIL


def test_no_data_yet_is_unknown_and_names_the_topic_it_waits_for() -> None:
    view = SecurityState(two_indicator_profile()).view(T0)
    people = view.control("people")
    assert people.status is UNKNOWN
    only = people.indicators[0]
    assert only.evidence.value is None and only.evidence.when is None
    assert only.evidence.source == "dc/+/security/people"
    assert only.reason == "no data yet"


def test_data_older_than_the_freshness_limit_is_unknown_but_keeps_its_evidence() -> None:
    state = SecurityState(two_indicator_profile(fresh_s=60.0))
    state.ingest(security("people", T0, mfa_coverage_pct=90))
    assert state.view(T0 + 60).control("people").status is FAIL
    stale = state.view(T0 + 61).control("people")
    assert stale.status is UNKNOWN
    assert stale.indicators[0].evidence.value == 90.0
    assert "no data for 61 s" in stale.indicators[0].reason


def test_null_is_not_measured_and_does_not_refresh_the_last_number() -> None:
    state = SecurityState(two_indicator_profile(fresh_s=60.0))
    state.ingest(security("people", T0, mfa_coverage_pct=99))
    state.ingest(security("people", T0 + 50, seq=1, mfa_coverage_pct=None))
    view = state.view(T0 + 70).control("people")
    assert view.status is UNKNOWN
    assert view.indicators[0].evidence.when == T0


def test_a_late_older_reading_does_not_replace_a_newer_one() -> None:
    state = SecurityState(two_indicator_profile())
    state.ingest(security("people", T0 + 10, seq=2, mfa_coverage_pct=100))
    state.ingest(security("people", T0, seq=1, mfa_coverage_pct=50))
    assert state.view(T0 + 11).control("people").status is OK


def test_the_worst_site_sets_the_status_and_its_topic_is_the_evidence() -> None:
    state = SecurityState(two_indicator_profile())
    state.ingest(security("people", T0, site="s1", mfa_coverage_pct=100))
    state.ingest(security("people", T0, site="s2", mfa_coverage_pct=97))
    people = state.view(T0 + 1).control("people")
    assert people.status is WARN
    assert people.indicators[0].evidence.source == "dc/s2/security/people"


def test_the_trend_keeps_the_worst_status_of_each_step_whatever_the_views() -> None:
    state = SecurityState(two_indicator_profile())
    state.ingest(security("safeguards", T0, privileged_sessions_open=0, doors_forced_or_held=0))
    assert state.view(T0).control("safeguards").trend == ()
    state.evaluate(T0 + 1)
    state.ingest(security("safeguards", T0 + 2, seq=1, privileged_sessions_open=0, doors_forced_or_held=1))
    state.evaluate(T0 + 3)
    state.ingest(security("safeguards", T0 + 4, seq=2, privileged_sessions_open=0, doors_forced_or_held=0))
    state.evaluate(T0 + 5)
    assert state.view(T0 + 5).control("safeguards").trend == (FAIL,)
    state.evaluate(T0 + 12)
    assert state.view(T0 + 12).control("safeguards").trend == (FAIL, OK)
    assert state.view(T0 + 12).control("safeguards").trend == (FAIL, OK), "a view records nothing"
    state.evaluate(T0 + 25)
    assert state.view(T0 + 25).control("safeguards").trend == (FAIL, OK, OK)
    for step in range(3, 8):
        state.evaluate(T0 + 10 * step + 5)
    trend = state.view(T0 + 75).control("safeguards").trend
    assert len(trend) == 4
    assert trend[-1] is UNKNOWN, "60 s freshness passed: no data is unknown"


def test_views_are_immutable() -> None:
    view = SecurityState(two_indicator_profile()).view(T0)
    with pytest.raises(AttributeError):
        view.now = 0.0  # type: ignore[misc]
    assert isinstance(view.controls, tuple)


def test_the_rule_text_reads_the_thresholds_in_the_operators_words() -> None:
    source = IndicatorSource("coverage", "agent_coverage_pct")
    coverage = Indicator("agent_coverage_pct", "Agent coverage", source, Direction.LOWER_IS_WORSE, 99, 95,
                         fresh_s=120, unit="%")
    assert coverage.rule_text() == "WARN < 99%, FAIL < 95%"


@pytest.mark.parametrize("text", ["coverage", "coverage/", "/x", "derived:", "derived:a b", "a/b/c"])
def test_a_bad_source_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        IndicatorSource.parse(text)


def test_sources_parse_and_print_back() -> None:
    assert str(IndicatorSource.parse("coverage/agent_coverage_pct")) == "coverage/agent_coverage_pct"
    derived = IndicatorSource.parse("derived:seq_gaps")
    assert derived.derived and derived.name == "seq_gaps" and str(derived) == "derived:seq_gaps"
