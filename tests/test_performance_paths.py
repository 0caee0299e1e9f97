"""The fast paths added for speed (docs/performance.md) give the same answers as the slow ones."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

import sensors.codec as codec
from console.core.engine import Engine
from console.core.history import COLUMN_BLOCK, History
from sensors.messages import RawMessage
from tests.test_codec import comparable

NODE_TOPIC = "dc/s1/h1/r01/rk01/node/n1"
GPU_KEYS = ("temp_c", "xid", "power_w", "throttle", "util_pct")
NOW = 1767225600.0

values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.lists(st.integers(0, 3), max_size=2),
)


def node_payload(gpu_values: list[list[object]], metrics: list[object]) -> bytes:
    gpus = [dict(zip(GPU_KEYS, row, strict=True)) for row in gpu_values]
    node_metrics = dict(zip(("cpu_temp_c", "fan_pct"), metrics, strict=True))
    body = {"ts": NOW, "seq": 1, "gpus": gpus, "metrics": node_metrics}
    return orjson.dumps(body)


@settings(max_examples=300, deadline=None)
@given(
    gpu_values=st.lists(st.lists(values, min_size=5, max_size=5), min_size=1, max_size=3),
    metrics=st.lists(values, min_size=2, max_size=2),
)
def test_a_remembered_key_layout_decodes_exactly_like_a_new_one(
    gpu_values: list[list[object]], metrics: list[object]
) -> None:
    payload = node_payload(gpu_values, metrics)
    codec._layouts.clear()  # the first decode checks every name and value one by one
    codec._shapes.clear()
    first = codec.decode(NODE_TOPIC, payload)
    second = codec.decode(NODE_TOPIC, payload)  # the second uses the remembered layout, if kept
    assert comparable(first) == comparable(second)
    # And a layout remembered from a valid message does not let a bad value through later.
    codec._layouts.clear()
    codec._shapes.clear()
    valid = node_payload([[60.0, [], 600, [], 99] for _ in gpu_values], [50.0, 40])
    codec.decode(NODE_TOPIC, valid)
    assert codec._layouts and codec._shapes
    assert comparable(codec.decode(NODE_TOPIC, payload)) == comparable(first)


def test_layout_memory_is_bounded() -> None:
    codec._layouts.clear()
    for index in range(codec.CACHED_LAYOUTS + 10):
        payload = orjson.dumps({"ts": NOW, "seq": 1, "metrics": {f"m{index}": 1}})
        codec.decode("dc/s1/h1/r01/rk01/rack", payload)
    assert 0 < len(codec._layouts) <= codec.CACHED_LAYOUTS


def test_history_adds_columns_as_channels_report_and_keeps_what_it_held() -> None:
    history = History(capacity=1024, window_s=10.0, step_s=1.0)
    history.resize(65536)  # the registry doubled: no memory taken for channels not yet seen
    assert history.values.shape[1] == 1024
    history.write(np.array([NOW]), np.array([5]), np.array([21.5], dtype=np.float32))
    history.write(np.full(2, NOW + 1), np.array([5, 49_999]), np.array([22.0, 7.0], dtype=np.float32))
    assert history.values.shape[1] == -(-50_000 // COLUMN_BLOCK) * COLUMN_BLOCK  # not 65,536
    times, kept = history.series(5)
    assert times.tolist() == [NOW, NOW + 1] and kept.tolist() == [21.5, 22.0]
    assert history.series(49_999)[1].tolist() == [7.0]
    assert history.series(60_000)[0].size == 0  # registered, never reported: no history yet


def test_snapshot_after_a_device_that_announced_itself_without_readings() -> None:
    # A retained status registers a device with no channels; the rack layout cached by the
    # previous snapshot must not be reused for the longer device list (it raised IndexError).
    engine = Engine()
    rack = orjson.dumps({"ts": NOW, "seq": 1, "metrics": {"inlet_temp_c": 24.0}})
    engine.ingest([RawMessage(NOW, "dc/s1/h1/r01/rk01/rack", rack, 1, False)])
    engine.evaluate(NOW)
    engine.snapshot()
    engine.ingest([RawMessage(NOW, "dc/s1/h1/r01/rk02/node/n1/status", b"online", 1, True)])
    engine.evaluate(NOW + 1)
    snapshot = engine.snapshot()
    assert "s1/h1/r01/rk01" in snapshot.racks.racks
