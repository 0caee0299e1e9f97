"""The wire codec: every topic and payload of the contract, and total decoding of bad input."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sensors.codec as codec
from sensors.codec import MAX_PAYLOAD_BYTES, Decoder, decode, encode_event, encode_payload
from sensors.messages import Event, Meta, RawMessage, Rejected, RejectReason, Status, Telemetry
from sensors.topics import TopicKind, TopicRole

RACK = {
    "ts": 1767225600.0,
    "seq": 17,
    "metrics": {
        "inlet_temp_c": 24.1, "outlet_temp_c": 38.6, "humidity_pct": 41.0, "dew_point_c": 10.2,
        "power_kw": 41.8, "pdu_a_kw": 20.7, "pdu_b_kw": 21.1, "phase_l1_a": 58.1,
        "phase_l2_a": 57.4, "phase_l3_a": 59.0, "leak": 0, "door_open": 0,
    },
}
NODE = {
    "ts": 1767225600.0,
    "seq": 17,
    "boot": "b1",
    "gpus": [
        {"temp_c": 64.0, "mem_temp_c": 71.0, "power_w": 655.0, "util_pct": 99.0,
         "sm_clock_mhz": 1980, "ecc_dbe": 0, "xid": [], "throttle": []},
        {"temp_c": None, "mem_temp_c": 70.0, "power_w": 640.0, "util_pct": 98.0,
         "sm_clock_mhz": 1980, "ecc_dbe": 0, "xid": [79], "throttle": ["hw_slowdown"],
         "temp_margin_c": 12.0},
    ],
    "metrics": {"cpu_temp_c": 58.0, "psu_power_w": 10150.0, "fan_pct": 62.0},
}


def test_rack_payload_decodes_to_channels_keyed_by_device_path() -> None:
    result = decode("dc/s1/h1/r01/rk01/rack", encode_payload(RACK))
    assert isinstance(result, Telemetry)
    assert result.topic.kind is TopicKind.RACK
    assert result.key("inlet_temp_c") == "s1/h1/r01/rk01/rack/inlet_temp_c"
    assert result.values["power_kw"] == pytest.approx(41.8)
    assert result.seq == 17 and result.boot is None


def test_node_payload_flattens_gpus_with_null_as_nan_xid_and_throttle() -> None:
    result = decode("dc/s1/h1/r01/rk01/node/n3", encode_payload(NODE))
    assert isinstance(result, Telemetry)
    assert result.key("gpu1/mem_temp_c") == "s1/h1/r01/rk01/node/n3/gpu1/mem_temp_c"
    assert result.values["gpu0/temp_c"] == 64.0
    assert math.isnan(result.values["gpu1/temp_c"])
    assert result.values["gpu1/temp_margin_c"] == 12.0
    assert result.values["cpu_temp_c"] == 58.0
    assert result.xid == ((1, 79),)
    assert result.throttle == ((1, "hw_slowdown"),)
    assert result.boot == "b1"


def test_cdu_security_event_meta_and_status_topics() -> None:
    cdu = decode("dc/s1/h1/cdu/cdu1", encode_payload(
        {"ts": 1.0, "seq": 0, "metrics": {"supply_temp_c": 30.0, "flow_lpm": 900.0, "leak": 0}}))
    assert isinstance(cdu, Telemetry) and cdu.topic.kind is TopicKind.CDU
    assert cdu.key("supply_temp_c") == "s1/h1/cdu/cdu1/supply_temp_c"
    security = decode("dc/s1/security/coverage", encode_payload(
        {"ts": 1.0, "seq": 3, "indicators": {"agent_coverage_pct": 99.5}}))
    assert isinstance(security, Telemetry) and security.topic.kind is TopicKind.SECURITY
    assert security.values == {"agent_coverage_pct": 99.5}
    event = decode("dc/s1/events", encode_event(
        5.0, "door_forced", "critical", "h1/cage-w1", "[bold]x[/]", seq=0, boot="b"))
    assert isinstance(event, Event)
    assert (event.kind, event.severity, event.where, event.detail) == (
        "door_forced", "critical", "h1/cage-w1", "[bold]x[/]")
    meta = decode("dc/s1/h1/r01/rk01/rack/meta", b'{"pdu_rating_kw": 60.0, "cooling": "liquid"}')
    assert isinstance(meta, Meta) and meta.topic.role is TopicRole.META
    assert meta.facts == {"pdu_rating_kw": 60.0, "cooling": "liquid"}
    status = decode("dc/s1/h1/r01/rk01/node/n1/status", b"offline")
    assert isinstance(status, Status) and status.online is False


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("dc/s1/h1/r01/rk01/rack", b"{not json", RejectReason.NOT_JSON),
        ("dc/s1/h1/r01/rk01/rack", b"[1, 2]", RejectReason.NOT_OBJECT),
        ("dc/s1/h1/r01/rk01/rack", b'{"ts": NaN, "seq": 1}', RejectReason.NON_FINITE),
        ("dc/s1/h1/r01/rk01/rack", b'{"ts": 1, "seq": 1, "metrics": {"a": 1e400}}',
         RejectReason.NON_FINITE),
        ("dc/s1/h1/r01/rk01/rack", b'{"ts": 1, "seq": 1, "metrics": {"a": "hot"}}',
         RejectReason.BAD_TYPE),
        ("dc/s1/h1/r01/rk01/rack", b'{"ts": 1, "seq": "1"}', RejectReason.BAD_TYPE),
        ("dc/s1/h1/r01/rk01/rack", b'{"seq": 1}', RejectReason.MISSING_FIELD),
        ("dc/s1/h1/r01/rk01/rack", b'{"ts": 1, "seq": 1, "metrics": {"\\u001b[2J": 1}}',
         RejectReason.BAD_VALUE),
        ("dc/s1/h1/r01/rk01/rack", b'{"ts": "\xff"}', RejectReason.BAD_UTF8),
        ("dc/s1/h1/r01/rk01/rack", b'{"ts": "\\ud800"}', RejectReason.BAD_UTF8),
        ("dc/s1/h1/r01/rk01/rack", b"[" * 5000, RejectReason.NOT_JSON),
        ("dc/s1/h1/r01/rk01/rack", b" " * (MAX_PAYLOAD_BYTES + 1), RejectReason.OVERSIZED),
        ("dc/s1/h1/r01/rk01/wat", b"{}", RejectReason.UNKNOWN_TOPIC),
        ("dc/s1/h1/r01/[bold]/rack", b"{}", RejectReason.UNKNOWN_TOPIC),
        ("other/s1/h1/r01/rk01/rack", b"{}", RejectReason.UNKNOWN_TOPIC),
        ("dc/s1/events/status", b"online", RejectReason.UNKNOWN_TOPIC),
        ("dc/s1/h1/r01/rk01/node/n1", b'{"ts": 1, "seq": 1, "gpus": [{"xid": ["x"]}]}',
         RejectReason.BAD_VALUE),
        ("dc/s1/h1/r01/rk01/node/n1", b'{"ts": 1, "seq": 1, "gpus": [{"throttle": ["fun"]}]}',
         RejectReason.BAD_VALUE),
        ("dc/s1/h1/r01/rk01/node/n1", b'{"ts": 1, "seq": 1, "gpus": {}}', RejectReason.BAD_TYPE),
        ("dc/s1/events", b'{"ts": 1, "kind": "x", "severity": "apocalyptic"}', RejectReason.BAD_VALUE),
        ("dc/s1/h1/r01/rk01/rack/status", b"maybe", RejectReason.BAD_VALUE),
    ],
)
def test_bad_messages_are_rejected_with_their_reason(
    topic: str, payload: bytes, reason: RejectReason
) -> None:
    result = decode(topic, payload)
    assert isinstance(result, Rejected)
    assert result.reason is reason, result.detail


def test_decoder_counts_rejections_by_reason() -> None:
    decoder = Decoder()
    messages = [
        RawMessage(0.0, "dc/s1/h1/r01/rk01/rack", b"nope"),
        RawMessage(0.0, "dc/s1/h1/r01/rk01/rack", b"nope"),
        RawMessage(0.0, "dc/unknown", b"{}"),
        RawMessage(0.0, "dc/s1/h1/r01/rk01/rack", encode_payload(RACK)),
    ]
    results = [decoder.decode(message) for message in messages]
    assert isinstance(results[-1], Telemetry)
    assert decoder.rejects.by_reason == {RejectReason.NOT_JSON: 2, RejectReason.UNKNOWN_TOPIC: 1}
    assert decoder.rejects.total == 3


def test_unknown_fields_are_ignored() -> None:
    body = dict(RACK, firmware="1.2", extra={"nested": [1, 2]})
    assert isinstance(decode("dc/s1/h1/r01/rk01/rack", encode_payload(body)), Telemetry)


def test_configured_prefix() -> None:
    assert isinstance(decode("lab/s1/h1/r01/rk01/rack", encode_payload(RACK), prefix="lab"), Telemetry)
    assert isinstance(decode("dc/s1/h1/r01/rk01/rack", encode_payload(RACK), prefix="lab"), Rejected)


TOPICS = st.sampled_from([
    "dc/s1/h1/r01/rk01/rack", "dc/s1/h1/r01/rk01/node/n1", "dc/s1/h1/cdu/c1",
    "dc/s1/security/coverage", "dc/s1/events", "dc/s1/h1/r01/rk01/rack/meta",
    "dc/s1/h1/r01/rk01/node/n1/status",
]) | st.text(max_size=40)
JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)


def _structured_payload(body: object) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS) if _finite(body) else b"{}"


def _finite(body: object) -> bool:
    if isinstance(body, float):
        return math.isfinite(body) and abs(body) < 1e300
    if isinstance(body, int) and not isinstance(body, bool):
        return abs(body) < 2**63
    if isinstance(body, list):
        return all(_finite(item) for item in body)
    if isinstance(body, dict):
        return all(_finite(item) for item in body.values())
    return True


@settings(max_examples=600, deadline=None)
@given(topic=TOPICS, payload=st.binary(max_size=300))
def test_decode_never_raises_on_arbitrary_bytes(topic: str, payload: bytes) -> None:
    result = decode(topic, payload)
    assert isinstance(result, Telemetry | Event | Meta | Status | Rejected)


@settings(max_examples=600, deadline=None)
@given(
    topic=TOPICS,
    body=st.fixed_dictionaries(
        {},
        optional={"ts": JSON_VALUES, "seq": JSON_VALUES, "boot": JSON_VALUES, "metrics": JSON_VALUES,
                  "gpus": JSON_VALUES, "indicators": JSON_VALUES, "kind": JSON_VALUES,
                  "detail": JSON_VALUES},
    ),
)
def test_decode_is_total_on_structured_json(topic: str, body: dict[str, object]) -> None:
    result = decode(topic, _structured_payload(body))
    assert isinstance(result, Telemetry | Event | Meta | Status | Rejected)
    if isinstance(result, Telemetry):
        assert all(isinstance(value, float) for value in result.values.values())
        assert all(math.isnan(value) or math.isfinite(value) for value in result.values.values())


@settings(max_examples=300, deadline=None)
@given(
    metrics=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
        st.floats(allow_nan=False, allow_infinity=False, width=32) | st.none(),
        max_size=20,
    ),
    seq=st.integers(0, 2**40),
    ts=st.floats(1.0, 4e9),
)
def test_encode_then_decode_round_trips_rack_metrics(
    metrics: dict[str, float | None], seq: int, ts: float
) -> None:
    result = decode("dc/s1/h1/r01/rk01/rack", encode_payload({"ts": ts, "seq": seq, "metrics": metrics}))
    assert isinstance(result, Telemetry)
    assert result.seq == seq and result.ts == ts
    for name, value in metrics.items():
        decoded = result.values[name]
        assert math.isnan(decoded) if value is None else decoded == value


def comparable(result: object) -> str:
    """A decode result as text with its readings as floats: NaN then equals NaN, and the readings of
    a known shape (kept as parsed, ints included) compare with the checked path's floats."""
    if isinstance(result, Telemetry):
        result = replace(result, readings=tuple(map(float, result.readings)))
    return repr(result)


SHAPE_TOPICS = {
    "node": "dc/s1/h1/r01/rk01/node/n1",
    "rack": "dc/s1/h1/r01/rk01/rack",
    "security": "dc/s1/security/coverage",
}
GPU_KEYS = st.lists(st.sampled_from(["temp_c", "power_w", "xid", "throttle", "t"]), unique=True, max_size=5)
PLAIN = st.floats(-1e300, 1e300) | st.integers(-(2**64), 2**64)
"""Numbers whose sum stays finite in a message of this test's size."""
ODD = (
    st.none() | st.booleans() | st.text(max_size=3) | st.integers(-(2**1100), 2**1100)
    | st.sampled_from([1e308, -1e308, [], {}, [79], [100_000], [True], ["hw_slowdown"], ["fun"], 0, ""])
)
NOT_AN_OBJECT = st.sampled_from(["keys", "t", "text", 5, None, [[1]]])
"""What replaces an object: "keys" is the list of its keys, so that tuple() of it matches the shape."""


def _shaped_body(kind: str, metric_keys: list[str], gpu_keys: list[list[str]], numbers: list[object]) -> dict:
    """A body of that shape: event fields empty, every other value the next of ``numbers``."""
    supply = itertools.cycle(numbers)
    metrics = {key: next(supply) for key in metric_keys}
    gpus = [{key: [] if key in ("xid", "throttle") else next(supply) for key in keys} for keys in gpu_keys]
    return {"ts": 1767225600.0, "seq": 3, "metrics" if kind != "security" else "indicators": metrics,
            "gpus": gpus}


@settings(max_examples=800, deadline=None)
@given(
    kind=st.sampled_from(sorted(SHAPE_TOPICS)),
    metric_keys=st.lists(st.sampled_from(["cpu_temp_c", "fan_pct", "xid", "m"]), unique=True, max_size=3),
    gpu_keys=st.lists(GPU_KEYS, max_size=4),
    numbers=st.lists(PLAIN, min_size=1, max_size=8),
    odd=st.lists(st.tuples(st.integers(0, 40), ODD), max_size=2),
    swap=st.none() | st.tuples(st.sampled_from(["metrics", "gpu"]), NOT_AN_OBJECT),
)
def test_a_known_shape_decodes_exactly_like_the_checked_path(
    kind: str, metric_keys: list[str], gpu_keys: list[list[str]], numbers: list[object],
    odd: list[tuple[int, object]], swap: tuple[str, object] | None,
) -> None:
    topic = SHAPE_TOPICS[kind]
    body = _shaped_body(kind, metric_keys, gpu_keys, numbers)
    metrics_key = "metrics" if kind != "security" else "indicators"
    objects = [body[metrics_key], *body["gpus"]]
    places = [(target, key) for target in objects for key in target]
    for place, value in odd:  # odd values anywhere, event fields included
        if places:
            target, key = places[place % len(places)]
            target[key] = value
    if swap is not None:  # not an object, though tuple() of it may match a known shape's keys
        swapped, value = swap
        if swapped == "metrics":
            body[metrics_key] = list(body[metrics_key]) if value == "keys" else value
        elif body["gpus"]:
            body["gpus"][0] = list(body["gpus"][0]) if value == "keys" else value
    payload = json.dumps(body).encode()  # stdlib: writes ints past 64 bits exactly
    codec._shapes.clear()
    codec._layouts.clear()
    checked = decode(topic, payload)  # no shape known: every name and value checked one by one
    twin = json.dumps(_shaped_body(kind, metric_keys, gpu_keys, [1.5])).encode()
    assert isinstance(decode(topic, twin), Telemetry)  # remembers the shape, and each object's layout
    known = decode(topic, payload)
    assert comparable(known) == comparable(checked)
    if isinstance(checked, Telemetry) and math.isfinite(
        sum((float(v) for v in checked.readings if not math.isnan(v)), 0.0)
    ):  # a good message of a known shape (nulls, events included) takes the one-lookup path
        assert codec._known_readings(checked.topic.kind, orjson.loads(payload)) is not None


def test_a_known_shape_whose_sum_overflows_is_still_decoded() -> None:
    payload = orjson.dumps({"ts": 1.0, "seq": 1, "metrics": {"a": 1e308, "b": 1e308}})
    first = decode("dc/s1/h1/r01/rk01/rack", payload)
    second = decode("dc/s1/h1/r01/rk01/rack", payload)
    assert isinstance(second, Telemetry) and comparable(first) == comparable(second)
    assert second.values == {"a": 1e308, "b": 1e308}


def test_a_known_shape_leaves_non_finite_numbers_to_the_checked_path() -> None:
    # orjson never gives inf or NaN; should a parser ever do so, the checked path refuses them.
    decode("dc/s1/h1/r01/rk01/rack", orjson.dumps({"ts": 1.0, "seq": 1, "metrics": {"a": 1.0}}))
    assert codec._known_readings(TopicKind.RACK, {"metrics": {"a": 2.0}}) is not None
    assert codec._known_readings(TopicKind.RACK, {"metrics": {"a": math.inf}}) is None
    assert codec._known_readings(TopicKind.RACK, {"metrics": {"a": math.nan}}) is None


def test_readings_of_a_known_shape_keep_ints_and_values_gives_floats() -> None:
    payload = encode_payload(dict(NODE, gpus=[dict(NODE["gpus"][0])]))
    decode("dc/s1/h1/r01/rk01/node/n3", payload)
    again = decode("dc/s1/h1/r01/rk01/node/n3", payload)
    assert isinstance(again, Telemetry)
    assert again.names[3:5] == ("gpu0/temp_c", "gpu0/mem_temp_c")
    assert 1980 in again.readings and all(type(v) is float for v in again.values.values())


def test_nulls_of_a_known_shape_take_the_quick_path_as_nan() -> None:
    """A real GPU agent sends null for what its GPU does not report, in the same places every time."""
    body = dict(NODE, gpus=[dict(NODE["gpus"][0], mem_temp_c=None)])
    decode("dc/s1/h1/r01/rk01/node/n3", encode_payload(body))
    assert codec._known_readings(TopicKind.NODE, orjson.loads(encode_payload(body))) is not None
    again = decode("dc/s1/h1/r01/rk01/node/n3", encode_payload(body))
    assert isinstance(again, Telemetry) and math.isnan(again.values["gpu0/mem_temp_c"])
    assert again.values["gpu0/temp_c"] == NODE["gpus"][0]["temp_c"]
