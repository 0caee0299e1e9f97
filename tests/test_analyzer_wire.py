"""Partitions, shared-subscription filters, the published payloads and reading them back."""

from __future__ import annotations

import math

import orjson
import pytest

from console.core.analyzer.core import sample_time
from console.core.analyzer.partition import Partition, default_name, shared_filter, topic_matches
from console.core.analyzer.wire_out import OutTopics, decode_state
from console.core.snapshot import Alert, AlertState, AlertTransition, Severity


def test_topic_filters_match_as_mqtt_does() -> None:
    assert topic_matches("dc/s1/h1/r01/#", "dc/s1/h1/r01/rk01/node/n1")
    assert topic_matches("dc/s1/h1/r01/#", "dc/s1/h1/r01")
    assert not topic_matches("dc/s1/h1/r01/#", "dc/s1/h1/r010/rk01/rack")
    assert topic_matches("dc/+/h1/+/rk01/rack", "dc/s1/h1/r07/rk01/rack")
    assert not topic_matches("dc/+/h1", "dc/s1/h1/r07")
    assert not topic_matches("dc/s1/events", "dc/s1/events/x")


def test_partitions_name_themselves_and_wrap_shared_filters() -> None:
    assert default_name(["dc/s1/h1/r01/#", "dc/s1/h1/r02/#"]) == "s1-h1-r01_s1-h1-r02"
    assert default_name(["dc/#"]) == "all"
    plain = Partition.of(["dc/s1/h1/#"])
    assert plain.subscriptions() == ["dc/s1/h1/#"] and plain.name == "s1-h1"
    shared = Partition.of(["dc/s1/#", "dc/s2/#"], "a1", shared_group="analyzers")
    assert shared.subscriptions() == ["$share/analyzers/dc/s1/#", "$share/analyzers/dc/s2/#"]
    assert shared.covers("dc/s2/h1/cdu/c1") and not shared.covers("dc/s3/h1/cdu/c1")
    assert shared_filter("g", "dc/#") == "$share/g/dc/#"


@pytest.mark.parametrize(
    ("filters", "name", "group", "complaint"),
    [
        (["dc/#/x"], None, None, "'#' must be a whole last level"),
        (["dc/#"], "a/b", None, "partition name"),
        (["dc/#"], None, "g:1", "shared group"),
        (["$share/g/dc/#"], None, None, "--shared-group adds $share"),
        ([], "p", None, "at least one topic filter"),
    ],
)
def test_bad_partitions_say_what_is_wrong(filters: list[str], name: str | None, group: str | None,
                                         complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint.replace("$", r"\$")):
        Partition.of(filters, name, group)


def test_transition_state_and_rollup_payloads() -> None:
    out = OutTopics("rackwatch/v1")
    t = AlertTransition(100.0, "s1/h1/r01/rk01/rack/inlet_temp_c", "raised", Severity.CRITICAL, "limit",
                        math.nan, "inlet 40.0 over critical limit 32")
    published = out.transition(t, "row1")
    assert published.topic == "rackwatch/v1/alerts/transitions/row1"
    assert (published.qos, published.retain) == (1, False)
    assert orjson.loads(published.payload) == {**t.as_json(), "partition": "row1"}
    alert = Alert("limit:" + t.key, t.key, "limit", Severity.CRITICAL, AlertState.ACKNOWLEDGED, 90.0, 100.0,
                  40.04, t.message)
    state = out.raised_state(alert, "row1")
    assert state.topic == "rackwatch/v1/alerts/state/s1/h1/r01/rk01/rack/inlet_temp_c/limit" and state.retain
    stored = decode_state(state.payload)
    assert stored is not None and stored.id == alert.id and stored.state is AlertState.ACKNOWLEDGED
    assert (stored.raised_at, stored.value, stored.partition) == (90.0, 40.04, "row1")
    deleted = out.cleared_state(t.key, "limit")
    assert (deleted.topic, deleted.payload, deleted.retain) == (state.topic, b"", True)


@pytest.mark.parametrize(
    "payload",
    [b"", b"{", b"[]", b'{"key": "s1/#", "rule": "limit", "severity": "critical", "state": "raised",'
     b' "raised_at": 1, "value": 1, "message": "", "partition": "p"}',
     b'{"key": "s1/a", "rule": "limit", "severity": "fatal", "state": "raised", "raised_at": 1,'
     b' "value": 1, "message": "", "partition": "p"}',
     b'{"key": "s1/a", "rule": "limit", "severity": "warning", "state": "cleared", "raised_at": 1,'
     b' "value": 1, "message": "", "partition": "p"}',
     b'{"key": "s1/a", "rule": "limit", "severity": "warning", "state": "raised", "raised_at": "x",'
     b' "value": 1, "message": "", "partition": "p"}'],
)
def test_malformed_retained_state_is_ignored(payload: bytes) -> None:
    assert decode_state(payload) is None


def test_sample_time_is_read_without_a_full_decode() -> None:
    assert sample_time(b'{"ts": 1767225600.5, "seq": 1}') == 1767225600.5
    assert sample_time(b'{"ts":1.5e9,"seq":1}') == 1.5e9
    assert sample_time(b'{"seq": 1, "gpus": [' + b'{"temp_c": 60.0}, ' * 40 + b'{}], "ts": 7.0}') == 7.0
    assert sample_time(b'{"detail": "\\"ts\\": 5", "ts": 8}') == 8.0
    assert sample_time(b"online") is None
    assert sample_time(b'{"ts": "soon"}') is None
