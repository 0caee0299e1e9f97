"""Engine behaviour on whole streams: job steps are not anomalies, causality, snapshots, growth."""

from __future__ import annotations

import numpy as np

from console.core.engine import Engine
from sensors.codec import encode_event, encode_payload
from sensors.messages import RawMessage
from tests.test_core_detectors import NODE, RACK, T0, message, node_body, rack_body, raised

NODES = [f"{RACK}/node/n{i}" for i in range(1, 5)]


def fleet_stream(seconds: int, hot_gpu: bool = False, seed: int = 0):
    """A rack of 4 nodes x 8 GPUs: first-order thermal response (tau 20 s) to power.

    All nodes start a job together at 600 s and stop at 1500 s; node 2 runs a half-node job
    (GPUs 0-3) from 1700 s to 2000 s; checkpoints drop power for 40 s at 1000 s. With
    ``hot_gpu`` one GPU's cooling degrades from 1100 s.
    """
    rng = np.random.default_rng(seed)
    temps = np.full((4, 8), 31.0)
    position = np.linspace(0.0, 1.4, 8)
    out = []
    for i in range(seconds):
        busy = np.zeros((4, 8), dtype=bool)
        if 600 <= i < 1500 and not 1000 <= i < 1040:
            busy[:] = True
        if 1700 <= i < 2000:
            busy[1, :4] = True
        power = np.where(busy, 600.0, 80.0) + rng.normal(0, 5, (4, 8))
        resistance = np.full((4, 8), 0.08)
        if hot_gpu and i >= 1100:
            resistance[2, 5] += min(0.03, (i - 1100) * 0.0001)
        target = 25.0 + resistance * power + position
        temps += (target - temps) * (1 - np.exp(-1 / 20.0))
        shown = temps + rng.normal(0, 0.3, (4, 8))
        util = np.where(busy, 98.0, 0.0)
        ts = T0 + i
        messages = [message(f"{RACK}/rack", ts, i, rack_body(24.0 + rng.normal(0, 0.05),
                                                            power=float(power.sum() / 1000 + 4)))]
        for n, node in enumerate(NODES):
            messages.append(message(node, ts, i, node_body(shown[n], util[n], power[n])))
        out.append((ts, messages))
    return out


def feed(engine: Engine, stream):
    transitions = []
    for ts, messages in stream:
        engine.ingest(messages)
        transitions.extend(engine.evaluate(ts))
    return transitions


def test_synchronized_job_start_stop_checkpoint_and_partial_jobs_raise_nothing():
    transitions = feed(Engine(), fleet_stream(2400))
    assert transitions == []


def test_a_degrading_gpu_is_still_found_in_the_same_busy_fleet():
    transitions = feed(Engine(), fleet_stream(1500, hot_gpu=True))
    keys = {t.key for t in raised(transitions)}
    assert keys and all(key.startswith(f"{NODES[2]}/gpu5/") for key in keys)


def test_alerts_up_to_t_do_not_depend_on_data_after_t():
    stream = fleet_stream(1500, hot_gpu=True, seed=3)
    full = Engine()
    everything = feed(full, stream)
    cut_at = T0 + 1300
    truncated = Engine()
    part = feed(truncated, [(ts, m) for ts, m in stream if ts <= cut_at])
    assert [t for t in everything if t.ts <= cut_at] == part
    assert part, "the cut must fall after the first alert for the check to mean something"


def test_snapshot_rollups_history_and_read_only_arrays():
    engine = Engine()
    engine.ingest([RawMessage(T0, f"dc/{RACK}/rack/meta", encode_payload({"pdu_rating_kw": 60.0}))])
    for i in range(30):
        engine.ingest([message(f"{RACK}/rack", T0 + i, i, rack_body(24.0, power=30.0, leak=int(i > 5))),
                       message(NODE, T0 + i, i, node_body([60.0 + g for g in range(8)]))])
        engine.evaluate(T0 + i)
    detail = "door \x1b[31mforced\x1b[0m"
    engine.ingest([RawMessage(T0 + 30, "dc/s1/events", encode_event(T0 + 30, "door_forced", "critical",
                                                                     "h1/r01/rk01", detail, 0, "b"))])
    snapshot = engine.snapshot(history_keys=[f"{RACK}/rack/inlet_temp_c", "no/such/key"])
    racks = snapshot.racks
    assert racks.racks == (RACK,)
    assert racks.inlet_c[0] == np.float32(24.0)
    assert racks.power_pct[0] == np.float32(50.0)
    assert racks.hottest_gpu_c[0] == np.float32(67.0)
    assert racks.alert_level[0] == 2, "the leak is critical"
    assert not racks.stale[0]
    times, values = snapshot.history[f"{RACK}/rack/inlet_temp_c"]
    assert len(times) == 30 and np.all(values == np.float32(24.0))
    assert "no/such/key" not in snapshot.history
    assert "\x1b" not in snapshot.events[0].detail and "\\x1b" in snapshot.events[0].detail
    assert not snapshot.channels.latest.flags.writeable
    assert snapshot.alerts[0].rule == "leak"
    assert snapshot.stats.decoded == 62 and snapshot.stats.rejected == {}
    engine.ingest([RawMessage(T0 + 31, "dc/s1/h1/r01/rk01/rack", b"{not json")])
    assert engine.snapshot().stats.rejected == {"not_json": 1}


def test_registry_grows_past_its_initial_capacity():
    engine = Engine()
    for n in range(200):
        engine.ingest([message(f"{RACK}/node/x{n}", T0, 0, node_body([60.0] * 8))])
    engine.evaluate(T0)
    count = len(engine.registry)
    assert count == 200 * (8 * 3 + 1) > engine.registry.__class__().capacity
    assert engine.latest[engine.registry.index[f"{RACK}/node/x199/gpu7/temp_c"]] == 60.0


def test_ingest_values_keys_columns_by_name():
    engine = Engine()
    for i in range(20):
        engine.ingest_values(T0 + i, {"inlet_temp_c": 35.0, "pump": float(i)})
        engine.evaluate(T0 + i)
    assert set(engine.registry.keys) == {"inlet_temp_c", "pump"}
    assert any(a.key == "inlet_temp_c" and a.rule == "limit" for a in engine.alerts.alerts())


def test_offline_status_is_stale_and_rack_alerts_group_behind_their_cdu():
    engine = Engine()
    racks = [f"s1/h1/r0{row}/rk01" for row in (1, 2)]
    for rack in racks:
        meta = encode_payload({"pdu_rating_kw": 60.0, "cdu": "c1"})
        engine.ingest([RawMessage(T0, f"dc/{rack}/rack/meta", meta)])
    for i in range(40):
        engine.ingest([message(f"{rack}/rack", T0 + i, i, rack_body(29.0)) for rack in racks])
        engine.evaluate(T0 + i)
    incidents = engine.alerts.incidents()
    assert [x.id for x in incidents] == ["cdu:s1/h1/cdu/c1"] and len(incidents[0].alert_ids) == 2
    engine.ingest([RawMessage(T0 + 40, f"dc/{racks[0]}/rack/status", b"offline", retain=True)])
    stale = [t for t in engine.evaluate(T0 + 40) if t.rule == "stale"]
    assert [(t.key, t.message) for t in stale] == [(f"{racks[0]}/rack", "source offline (status)")]
    snapshot = engine.snapshot()
    assert snapshot.stats.sources_offline == 1
    assert snapshot.racks.stale.tolist() == [True, False], "an offline rack's numbers are not current"


def test_a_device_inventing_metrics_is_capped_and_counted():
    from console.core.channels import MAX_CHANNELS_PER_DEVICE

    engine = Engine()
    for batch in range(6):
        metrics = {f"m{batch}_{i}": 1.0 for i in range(500)}
        engine.ingest([message(f"{RACK}/rack", T0 + batch, batch, {"metrics": metrics})])
    engine.evaluate(T0 + 6)
    assert len(engine.registry) == MAX_CHANNELS_PER_DEVICE
    assert engine.snapshot().stats.dropped == 6 * 500 - MAX_CHANNELS_PER_DEVICE


def test_wrong_clocks_and_float32_overflow_are_refused_and_counted():
    engine = Engine()
    rack = f"{RACK}/rack"
    good = [message(rack, T0 + i, i, rack_body(24.0)) for i in range(5)]
    ahead = RawMessage(T0 + 5, f"dc/{rack}",
                       encode_payload({"ts": T0 + 5 + 86_400, "seq": 5, "boot": "b1", **rack_body(50.0)}))
    huge = message(rack, T0 + 6, 6, rack_body(1e300))
    engine.ingest([*good, ahead, huge])
    engine.evaluate(T0 + 6)
    stats = engine.snapshot().stats
    assert stats.rejected == {"clock_skew": 1, "non_finite": 1}
    assert stats.decoded == 5 and engine.stream_time == T0 + 4
    assert engine.latest[engine.registry.index[f"{rack}/inlet_temp_c"]] == 24.0


def test_a_consistent_past_epoch_is_not_skew():
    engine = Engine()
    later = 5_000_000.0
    engine.ingest([RawMessage(T0 + later + i, f"dc/{RACK}/rack",
                              encode_payload({"ts": T0 + i, "seq": i, "boot": "b", **rack_body(24.0)}))
                   for i in range(10)])
    assert engine.snapshot().stats.rejected == {} and engine.stream_time == T0 + 9
