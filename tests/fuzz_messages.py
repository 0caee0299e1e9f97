"""A seeded generator of hostile MQTT messages for the fuzz tests and the bench soak.

Starts from valid messages of every topic kind and mutates them the ways the field breaks
them (../shared/mqtt.md section 7, rows 6-13): truncation, flipped bytes, invalid UTF-8, NaN
and inf, wrong types, deep nesting, oversize, markup and escapes in topics, clock skew,
duplicates and out-of-order seq.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator

from sensors.messages import RawMessage

NOW = 1767225600.0
VALID: list[tuple[str, dict[str, object]]] = [
    (
        "dc/s1/h1/r01/rk01/rack",
        {
            "ts": NOW,
            "seq": 1,
            "boot": "b",
            "metrics": {"inlet_temp_c": 24.1, "power_kw": 41.8, "phase_l1_a": 58.1, "leak": 0},
        },
    ),
    (
        "dc/s1/h1/r01/rk01/node/n1",
        {
            "ts": NOW,
            "seq": 1,
            "boot": "b",
            "gpus": [{"temp_c": 64.0, "mem_temp_c": 71.0, "power_w": 655.0, "xid": [], "throttle": []}] * 8,
            "metrics": {"cpu_temp_c": 58.0},
        },
    ),
    ("dc/s1/h1/cdu/cdu1", {"ts": NOW, "seq": 1, "metrics": {"supply_temp_c": 30.0, "flow_lpm": 900}}),
    ("dc/s1/security/coverage", {"ts": NOW, "seq": 1, "indicators": {"agent_coverage_pct": 99.0}}),
    (
        "dc/s1/events",
        {"ts": NOW, "kind": "door_forced", "severity": "critical", "where": "h1/cage-w1", "detail": "door 3"},
    ),
]
HOSTILE_TEXT = [
    "[bold red]FAKE[/]",
    "[/]",
    "[link=https://x]y[/link]",
    "\x1b[2J",
    "\x1b]0;t\x07",
    "\x9b31m",
    "\u202e",
    ":skull:",
    "\ud800",
]


def _replace_random_value(body: object, rng: random.Random, value: object) -> object:
    if isinstance(body, dict) and body:
        key = rng.choice(list(body))
        return {**body, key: _replace_random_value(body[key], rng, value) if rng.random() < 0.5 else value}
    if isinstance(body, list) and body:
        index = rng.randrange(len(body))
        return [*body[:index], _replace_random_value(body[index], rng, value), *body[index + 1 :]]
    return value


def _payload(body: object) -> bytes:
    """Stdlib JSON on purpose: it writes lone surrogates as escapes and big ints exactly."""
    return json.dumps(body).encode()


def _mutations(rng: random.Random) -> list[Callable[[str, dict[str, object]], tuple[str, bytes]]]:
    odd_values = [None, True, "hot", [], {}, -1, 2**70, 1e308, -0.0, "NaN", [1, [2, [3]]]]
    return [
        lambda t, b: (t, _payload(b)),
        lambda t, b: (t, _payload(b)[: rng.randrange(len(_payload(b)))]),
        lambda t, b: (
            t,
            bytes(x ^ (1 << rng.randrange(8)) if rng.random() < 0.05 else x for x in _payload(b)),
        ),
        lambda t, b: (t, _payload(b).replace(b"24.1", b"NaN").replace(b"64.0", b"Infinity")),
        lambda t, b: (t, _payload(b).replace(b"0", b"1e400", 1)),
        lambda t, b: (t, _payload(b)[:5] + b"\xff\xfe\xc0\xaf" + _payload(b)[5:]),
        lambda t, b: (t, _payload(_replace_random_value(b, rng, rng.choice(odd_values)))),
        lambda t, b: (t, b"[" * rng.randrange(100, 5000) + b"]" * rng.randrange(0, 50)),
        lambda t, b: (t, b"{" + b'"k":' * 2 + b" " * rng.randrange(60_000, 70_000) + b"1}"),
        lambda t, b: (t.replace("rk01", rng.choice(HOSTILE_TEXT)), _payload(b)),
        lambda t, b: (t + "/" + rng.choice(["x", "meta", "status", "", "#"]), _payload(b)),
        lambda t, b: (
            t,
            _payload({**b, "detail": rng.choice(HOSTILE_TEXT), "where": rng.choice(HOSTILE_TEXT)}),
        ),
        lambda t, b: (t, _payload({**b, "ts": NOW + rng.choice([-1e9, -3600, 600, 1e9, 0, -5])})),
        lambda t, b: (t, _payload({**b, "seq": rng.choice([0, 1, 1, 5, 3, -1, 2**62])})),
        lambda t, b: (
            t,
            _payload({**b, "metrics": {f"m{i}": float(i) for i in range(rng.choice([5, 600]))}}),
        ),
        lambda t, b: (t, rng.randbytes(rng.randrange(0, 200))),
    ]


def hostile_messages(count: int, seed: int = 0) -> Iterator[RawMessage]:
    """``count`` messages, deterministic for ``seed``; roughly one in sixteen is valid."""
    rng = random.Random(seed)
    mutations = _mutations(rng)
    for index in range(count):
        topic, body = rng.choice(VALID)
        mutated_topic, payload = rng.choice(mutations)(topic, body)
        yield RawMessage(received=NOW + index * 0.001, topic=mutated_topic, payload=payload, qos=1)
