"""The topic grammar of the wire contract."""

from __future__ import annotations

import pytest

from sensors.topics import (
    TopicKind,
    TopicRole,
    cdu_topic,
    device_of_key,
    events_topic,
    meta_topic,
    node_topic,
    parse_topic,
    rack_topic,
    security_topic,
    status_topic,
)


@pytest.mark.parametrize(
    ("topic", "kind", "role", "device"),
    [
        (rack_topic("s1", "h1", "r01", "rk01"), TopicKind.RACK, TopicRole.DATA, "s1/h1/r01/rk01/rack"),
        (node_topic("s1", "h1", "r01", "rk01", "n3"), TopicKind.NODE, TopicRole.DATA,
         "s1/h1/r01/rk01/node/n3"),
        (cdu_topic("s1", "h1", "cdu2"), TopicKind.CDU, TopicRole.DATA, "s1/h1/cdu/cdu2"),
        (security_topic("s1", "people"), TopicKind.SECURITY, TopicRole.DATA, "s1/security/people"),
        (events_topic("s1"), TopicKind.EVENTS, TopicRole.DATA, "s1/events"),
        (meta_topic(node_topic("s1", "h1", "r01", "rk01", "n3")), TopicKind.NODE, TopicRole.META,
         "s1/h1/r01/rk01/node/n3"),
        (status_topic(cdu_topic("s1", "h1", "cdu2")), TopicKind.CDU, TopicRole.STATUS, "s1/h1/cdu/cdu2"),
        ("dc/s1/h1/r01/rk01/node/meta", TopicKind.NODE, TopicRole.DATA, "s1/h1/r01/rk01/node/meta"),
    ],
)
def test_every_topic_kind_parses_to_its_device_path(
    topic: str, kind: TopicKind, role: TopicRole, device: str
) -> None:
    parsed = parse_topic(topic)
    assert parsed is not None
    assert (parsed.kind, parsed.role, parsed.device, parsed.site) == (kind, role, device, "s1")


@pytest.mark.parametrize(
    "topic",
    ["dc", "dc/s1", "dc/s1/h1/r01/rk01", "dc/s1/h1/r01/rk01/rack/extra", "dc/s1/h 1/r01/rk01/rack",
     "dc/s1/h1/r01/rk01/rack/", "dc//h1/r01/rk01/rack", "dc/s1/events/meta", "x/s1/events",
     "dc/s1/h1/r01/rk01/node/n1/gpu0"],
)
def test_topics_outside_the_contract_do_not_parse(topic: str) -> None:
    assert parse_topic(topic) is None


def test_builders_refuse_segments_outside_the_grammar() -> None:
    with pytest.raises(ValueError, match="segment"):
        rack_topic("s1", "h1", "r/01", "rk01")


def test_location_and_device_of_key() -> None:
    parsed = parse_topic("dc/s1/h1/r01/rk01/node/n3")
    assert parsed is not None and parsed.location == ("s1", "h1", "r01", "rk01")
    assert device_of_key("s1/h1/r01/rk01/node/n3/gpu2/temp_c") == "s1/h1/r01/rk01/node/n3"
    assert device_of_key("s1/h1/r01/rk01/rack/inlet_temp_c") == "s1/h1/r01/rk01/rack"
