"""Encode and decode every topic and payload of the wire contract (../shared/spec/wire.md).

Decoding is total: whatever bytes arrive, ``decode`` returns a decoded record or a
``Rejected`` with a reason, and never raises into its caller. orjson is strict JSON, so NaN,
Infinity, numbers that overflow a double, lone surrogates, bad UTF-8 and nesting past 1024
levels are refused by the parser itself (the stdlib ``json`` accepts most of these,
../shared/mqtt.md section 5).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson

from sensors.messages import (
    Decoded,
    Event,
    Meta,
    RawMessage,
    RejectCounts,
    Rejected,
    RejectReason,
    Status,
    Telemetry,
)
from sensors.topics import DEFAULT_PREFIX, SEGMENT, Topic, TopicKind, TopicRole, parse_topic

MAX_PAYLOAD_BYTES = 64 * 1024
"""Larger payloads are refused before parsing (application limit, ../shared/mqtt.md table row 7)."""
MAX_METRICS = 512
MAX_GPUS = 64
MAX_XIDS = 64
MAX_TEXT = 4096
THROTTLE_REASONS = frozenset(
    {"sw_power_cap", "hw_slowdown", "hw_thermal", "sw_thermal", "hw_power_brake"}
)
SEVERITIES = frozenset({"info", "warning", "critical"})
GPU_EVENT_FIELDS = ("xid", "throttle")
"""Fields of a GPU object that are lists of events, not metrics."""
PLAIN_NUMBERS = frozenset({float, int})
CACHED_LAYOUTS = 4096
CACHED_TOPICS = 65536
"""Bounds of the decode caches below: emptied when full, so hostile input cannot grow them."""
_GPU_HEADS = tuple(f"gpu{index}/" for index in range(MAX_GPUS))
_NO_OBJECT: dict[str, Any] = {}
_NO_LIST: list[Any] = []
"""Stand-ins for an absent ``metrics`` or ``gpus`` (never mutated)."""

_Layout = tuple[tuple[str, ...], Callable[[dict[str, Any]], Any], int]
_layouts: dict[tuple[str, tuple[str, ...]], _Layout] = {}
"""(head, payload keys) -> (stored names, getter of the metric values, metric count), for key layouts
already decoded without fault. A device sends the same keys every time, so a message's names are
checked once, not once per reading (the per-reading checks were most of the decode time)."""
_Picker = Callable[[tuple[Any, ...]], tuple[Any, ...]]
_Shape = tuple[tuple[str, ...], _Picker | None, _Picker | None, tuple[list[Any], ...]]
_Readings = tuple[tuple[str, ...], tuple[Any, ...], tuple[tuple[int, int], ...], tuple[tuple[int, str], ...]]
"""Names, numbers, (GPU, XID) and (GPU, throttle reason) of one telemetry message."""
_shapes: dict[tuple[tuple[str, ...], ...], _Shape] = {}
"""Key shape of a whole message (its metric keys, then each GPU object's keys) -> (stored names,
picker of the numbers among the message's values in payload order or None for all of them, picker
of its GPU event lists or None, those lists when empty), for shapes the checked path decoded without
fault. One lookup then replaces a layout lookup per GPU object (a node message has nine objects)."""
_topics: dict[tuple[str, str], Topic | None] = {}


class _Refuse(Exception):
    """Internal: unwinds a decode to a single rejection point."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Decoder:
    """Decodes raw messages for one topic prefix and counts what it rejects."""

    def __init__(self, prefix: str = DEFAULT_PREFIX, max_payload: int = MAX_PAYLOAD_BYTES) -> None:
        self.prefix = prefix
        self.max_payload = max_payload
        self.rejects = RejectCounts()

    def decode(self, message: RawMessage) -> Decoded | Rejected:
        """Decode one message; a rejection is counted and returned, never raised."""
        result = decode(message.topic, message.payload, self.prefix, self.max_payload)
        if isinstance(result, Rejected):
            self.rejects.add(result.reason)
        return result


def decode(
    topic: str,
    payload: bytes,
    prefix: str = DEFAULT_PREFIX,
    max_payload: int = MAX_PAYLOAD_BYTES,
) -> Decoded | Rejected:
    """Decode one message of the contract. Never raises."""
    try:
        return _decode(topic, payload, prefix, max_payload)
    except _Refuse as refusal:
        return Rejected(topic=topic, reason=refusal.reason, detail=refusal.detail)
    except Exception as error:  # the decoder must be total: counted, not raised
        return Rejected(topic=topic, reason=RejectReason.BAD_VALUE, detail=repr(error)[:200])


def _decode(topic: str, payload: bytes, prefix: str, max_payload: int) -> Decoded:
    if len(payload) > max_payload:
        raise _Refuse(RejectReason.OVERSIZED, f"{len(payload)} bytes > {max_payload}")
    parsed_topic = _topic(topic, prefix)
    if parsed_topic is None:
        raise _Refuse(RejectReason.UNKNOWN_TOPIC, "not a topic of the wire contract")
    if parsed_topic.role is TopicRole.STATUS:
        return _status(parsed_topic, payload)
    body = _parse_json(payload)
    if parsed_topic.role is TopicRole.META:
        return Meta(topic=parsed_topic, facts=_meta_facts(body))
    if parsed_topic.kind is TopicKind.EVENTS:
        return _event(parsed_topic, body)
    return _telemetry(parsed_topic, body)


def _topic(topic: str, prefix: str) -> Topic | None:
    """``parse_topic``, remembered: a campus has a fixed set of topics."""
    key = (topic, prefix)
    try:
        return _topics[key]
    except KeyError:
        if len(_topics) >= CACHED_TOPICS:
            _topics.clear()
        parsed = _topics[key] = parse_topic(topic, prefix)
        return parsed


def _parse_json(payload: bytes) -> dict[str, Any]:
    if not payload.isascii():  # ASCII is UTF-8; decoding to check the rest makes a copy
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Refuse(RejectReason.BAD_UTF8, str(error)[:200]) from None
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        text = str(error)
        if "infinity" in text or b"NaN" in payload or b"Infinity" in payload:
            raise _Refuse(RejectReason.NON_FINITE, text[:200]) from None
        reason = RejectReason.BAD_UTF8 if "UTF-8" in text or "surrogate" in text else None
        raise _Refuse(reason or RejectReason.NOT_JSON, text[:200]) from None
    if not isinstance(body, dict):
        raise _Refuse(RejectReason.NOT_OBJECT, f"payload is a JSON {type(body).__name__}")
    return body


def _status(topic: Topic, payload: bytes) -> Status:
    text = payload.strip()
    if text == b"online":
        return Status(topic=topic, online=True)
    if text == b"offline":
        return Status(topic=topic, online=False)
    raise _Refuse(RejectReason.BAD_VALUE, "status is neither 'online' nor 'offline'")


def _number(value: Any, where: str) -> float:
    """A finite number, or NaN for JSON null ("not measured this time")."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, int | float):
        raise _Refuse(RejectReason.BAD_TYPE, f"{where} is a {type(value).__name__}, not a number")
    number = float(value)
    if not math.isfinite(number):
        raise _Refuse(RejectReason.NON_FINITE, f"{where} is not finite")
    return number


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not SEGMENT.match(value):
        raise _Refuse(RejectReason.BAD_VALUE, f"{where} name is not [A-Za-z0-9_-]+")
    return value


def _timestamp(body: Mapping[str, Any]) -> float:
    if "ts" not in body:
        raise _Refuse(RejectReason.MISSING_FIELD, "no ts")
    ts = _number(body["ts"], "ts")
    if math.isnan(ts) or ts <= 0:
        raise _Refuse(RejectReason.BAD_VALUE, "ts is not a positive epoch")
    return ts


def _sequence(body: Mapping[str, Any], required: bool = True) -> int | None:
    seq = body.get("seq")
    if seq is None:
        if required:
            raise _Refuse(RejectReason.MISSING_FIELD, "no seq")
        return None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise _Refuse(RejectReason.BAD_TYPE, "seq is not a non-negative integer")
    return seq


def _boot(body: Mapping[str, Any]) -> str | None:
    boot = body.get("boot")
    if boot is None:
        return None
    if not isinstance(boot, str) or len(boot) > 128:
        raise _Refuse(RejectReason.BAD_TYPE, "boot is not a short string")
    return boot


def _metrics(raw: Any, where: str, into: dict[str, float], gpu: int | None = None) -> None:
    """Store the numbers of a metrics (or GPU) object under their names; GPU event lists skipped."""
    if not isinstance(raw, dict):
        raise _Refuse(RejectReason.BAD_TYPE, f"{where} is not an object")
    head = "" if gpu is None else _GPU_HEADS[gpu]
    layout = _layouts.get((head, tuple(raw)))
    if layout is None:
        _metrics_checked(raw, where, into, head)
        return
    names, values_of, count = layout
    if count + len(into) > MAX_METRICS:
        raise _Refuse(RejectReason.TOO_LARGE, f"more than {MAX_METRICS} metrics")
    values = values_of(raw)
    if PLAIN_NUMBERS.issuperset(map(type, values)):
        numbers = list(map(float, values))
        if math.isfinite(sum(numbers)):
            into.update(zip(names, numbers, strict=True))
            return
    for name, value in zip(names, values, strict=True):
        into[name] = _number(value, f"{where}.{name.removeprefix(head)}")


def _metrics_checked(raw: dict[str, Any], where: str, into: dict[str, float], head: str) -> None:
    """The first message of a key layout: every name and value checked in order, then the layout kept."""
    metrics = [name for name in raw if not head or name not in GPU_EVENT_FIELDS]
    if len(metrics) + len(into) > MAX_METRICS:
        raise _Refuse(RejectReason.TOO_LARGE, f"more than {MAX_METRICS} metrics")
    for name in metrics:
        metric = _name(name, "metric")
        into[head + metric] = _number(raw[name], f"{where}.{metric}")
    if len(metrics) == len(raw):
        values_of: Callable[[dict[str, Any]], Any] = dict.values
    elif len(metrics) == 1:
        values_of = lambda body, key=metrics[0]: (body[key],)  # noqa: E731
    else:
        values_of = itemgetter(*metrics) if metrics else lambda _: ()
    if len(_layouts) >= CACHED_LAYOUTS:
        _layouts.clear()
    _layouts[(head, tuple(raw))] = (tuple(head + name for name in metrics), values_of, len(metrics))


def _telemetry(topic: Topic, body: dict[str, Any]) -> Telemetry:
    found = _known_readings(topic.kind, body)
    names, readings, xid, throttle = _checked_readings(topic.kind, body) if found is None else found
    ts, seq, boot = _timestamp(body), _sequence(body) or 0, _boot(body)
    return Telemetry(topic, ts, seq, boot, names, readings, xid, throttle)  # positional: quicker


def _known_readings(kind: TopicKind, body: dict[str, Any]) -> _Readings | None:
    """(names, numbers, XIDs, throttle reasons) of a message whose key shape decoded before, when
    every number is an int, float or null (NaN; a JSON bool counts as 0 or 1, as ``_number`` has
    it); None for anything else, which the checked path then decodes or refuses with its reason.

    The numbers stay as parsed (the store converts them in one numpy call, ``Telemetry.values``
    with ``float``): a double sum checks them all at once, raising for text, a list or an object
    (and for an int past a double, which orjson never gives: it keeps ints within 64 bits). GPU
    event lists, nearly always empty, are compared with empty ones at once; when some are not
    (a GPU capped under load reports ``sw_power_cap`` every time), they are checked GPU by GPU as
    the checked path does, after the numbers, so a refusal names the same first fault."""
    metrics = body.get("indicators" if kind is TopicKind.SECURITY else "metrics", _NO_OBJECT)
    gpus = body.get("gpus", _NO_LIST) if kind is TopicKind.NODE else _NO_LIST
    if type(metrics) is not dict or type(gpus) is not list:
        return None
    try:
        shape = _shapes.get((tuple(metrics), *map(tuple, gpus)))
        if shape is None:
            return None
        values = (*metrics.values(), *chain.from_iterable(map(dict.values, gpus)))
    except TypeError:  # a GPU that is not an object (its keys may still match a known shape)
        return None
    names, numbers_of, events_of, no_events = shape
    numbers = values if numbers_of is None else numbers_of(values)
    try:
        finite = math.isfinite(sum(numbers, 0.0))
    except TypeError:  # a null (an agent's "not measured", often at fixed places), or anything worse
        try:
            finite = math.isfinite(sum([value for value in numbers if value is not None], 0.0))
        except (TypeError, OverflowError):
            return None
        numbers = tuple(math.nan if value is None else value for value in numbers)
    except OverflowError:
        return None
    if not finite:
        return None
    if events_of is None or events_of(values) == no_events:
        return names, numbers, (), ()
    xids: list[tuple[int, int]] = []
    throttles: list[tuple[int, str]] = []
    for index, gpu in enumerate(gpus):
        _gpu_events(index, gpu, xids, throttles)
    return names, numbers, tuple(xids), tuple(throttles)


def _checked_readings(kind: TopicKind, body: dict[str, Any]) -> _Readings:
    """Every object and event list checked in payload order; the message's shape kept when good."""
    values: dict[str, float] = {}
    xids: list[tuple[int, int]] = []
    throttles: list[tuple[int, str]] = []
    metrics = body.get("indicators" if kind is TopicKind.SECURITY else "metrics", {})
    _metrics(metrics, "indicators" if kind is TopicKind.SECURITY else "metrics", values)
    gpus: list[dict[str, Any]] = []
    if kind is TopicKind.NODE:
        gpus = body.get("gpus", [])
        if not isinstance(gpus, list):
            raise _Refuse(RejectReason.BAD_TYPE, "gpus is not a list")
        if len(gpus) > MAX_GPUS:
            raise _Refuse(RejectReason.TOO_LARGE, f"more than {MAX_GPUS} GPUs")
        for index, gpu in enumerate(gpus):
            _gpu(index, gpu, values, xids, throttles)
    _remember_shape(metrics, gpus)
    return tuple(values), tuple(values.values()), tuple(xids), tuple(throttles)


def _remember_shape(metrics: dict[str, Any], gpus: list[dict[str, Any]]) -> None:
    """Keep the shape of a message whose names, counts and object types passed the checks."""
    key = (tuple(metrics), *map(tuple, gpus))
    if key in _shapes:
        return
    names = list(metrics)
    numbers = list(range(len(names)))
    events: list[int] = []
    position = len(names)
    for index, gpu in enumerate(gpus):
        for name in gpu:
            if name in GPU_EVENT_FIELDS:
                events.append(position)
            else:
                names.append(_GPU_HEADS[index] + name)
                numbers.append(position)
            position += 1
    if len(_shapes) >= CACHED_LAYOUTS:
        _shapes.clear()
    _shapes[key] = (
        tuple(names),
        _picker(numbers) if events else None,
        _picker(events) if events else None,
        ([],) * len(events),
    )


def _picker(positions: list[int]) -> _Picker:
    """A getter of the values at ``positions`` that always returns a tuple (``itemgetter`` of one
    position returns the bare value)."""
    if len(positions) == 1:
        return lambda values, position=positions[0]: (values[position],)
    return itemgetter(*positions) if positions else lambda _: ()


def _gpu(
    index: int,
    gpu: Any,
    values: dict[str, float],
    xids: list[tuple[int, int]],
    throttles: list[tuple[int, str]],
) -> None:
    if not isinstance(gpu, dict):
        raise _Refuse(RejectReason.BAD_TYPE, f"gpus[{index}] is not an object")
    _metrics(gpu, f"gpus[{index}]", values, gpu=index)
    _gpu_events(index, gpu, xids, throttles)


def _gpu_events(
    index: int, gpu: dict[str, Any], xids: list[tuple[int, int]], throttles: list[tuple[int, str]]
) -> None:
    xid = gpu.get("xid", [])
    if not isinstance(xid, list) or len(xid) > MAX_XIDS:
        raise _Refuse(RejectReason.BAD_TYPE, f"gpus[{index}].xid is not a short list")
    for code in xid:
        if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < 100_000:
            raise _Refuse(RejectReason.BAD_VALUE, f"gpus[{index}].xid holds a non-XID value")
        xids.append((index, code))
    throttle = gpu.get("throttle", [])
    if not isinstance(throttle, list):
        raise _Refuse(RejectReason.BAD_TYPE, f"gpus[{index}].throttle is not a list")
    for reason in throttle:
        if reason not in THROTTLE_REASONS:
            raise _Refuse(RejectReason.BAD_VALUE, f"gpus[{index}].throttle has an unknown reason")
        throttles.append((index, reason))


def _text(body: Mapping[str, Any], name: str, required: bool) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise _Refuse(RejectReason.MISSING_FIELD, f"no {name}")
        return ""
    if not isinstance(value, str):
        raise _Refuse(RejectReason.BAD_TYPE, f"{name} is not a string")
    if len(value) > MAX_TEXT:
        raise _Refuse(RejectReason.TOO_LARGE, f"{name} longer than {MAX_TEXT}")
    return value


def _event(topic: Topic, body: dict[str, Any]) -> Event:
    severity = _text(body, "severity", required=False) or "info"
    if severity not in SEVERITIES:
        raise _Refuse(RejectReason.BAD_VALUE, "severity is not info, warning or critical")
    return Event(
        topic=topic,
        ts=_timestamp(body),
        kind=_text(body, "kind", required=True)[:64],
        severity=severity,
        where=_text(body, "where", required=False),
        detail=_text(body, "detail", required=False),
        seq=_sequence(body, required=False),
        boot=_boot(body),
    )


def _meta_facts(body: dict[str, Any]) -> dict[str, float | str]:
    facts: dict[str, float | str] = {}
    for name, value in body.items():
        if not isinstance(name, str) or len(facts) >= MAX_METRICS:
            continue
        if isinstance(value, str):
            facts[name] = value[:MAX_TEXT]
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(float(value))
        ):
            facts[name] = float(value)
    return facts


def encode_payload(body: Mapping[str, Any]) -> bytes:
    """Encode one payload object as strict JSON (NaN refused: use None for "not measured")."""
    return orjson.dumps(body)


def encode_event(
    ts: float, kind: str, severity: str, where: str, detail: str, seq: int, boot: str
) -> bytes:
    """Encode an event payload."""
    return encode_payload(
        {"ts": ts, "seq": seq, "boot": boot, "kind": kind, "severity": severity,
         "where": where, "detail": detail}
    )
