"""Each detector on synthetic series with known answers, through the real Engine."""

from __future__ import annotations

import math
import re

import numpy as np

from console.core.config import CoreConfig
from console.core.engine import Engine
from console.core.hysteresis import Tracker
from sensors.codec import encode_payload
from sensors.messages import RawMessage

T0 = 1_767_225_600.0
RACK = "s1/h1/r01/rk01"
NODE = f"{RACK}/node/n1"
CDU = "s1/h1/cdu/c1"


def message(device: str, ts: float, seq: int, body: dict, boot: str = "b1") -> RawMessage:
    return RawMessage(ts, f"dc/{device}", encode_payload({"ts": ts, "seq": seq, "boot": boot, **body}))


def rack_body(inlet: float, power: float = 30.0, leak: int = 0) -> dict:
    return {"metrics": {"inlet_temp_c": inlet, "outlet_temp_c": inlet + 12, "power_kw": power,
                        "phase_l1_a": 40.0, "phase_l2_a": 40.5, "phase_l3_a": 39.5, "leak": leak}}


def node_body(temps, utils=None, power=None, xid=(), throttle=()) -> dict:
    gpus = []
    for i, temp in enumerate(temps):
        gpu = {"temp_c": float(temp), "util_pct": float(utils[i] if utils is not None else 90.0),
               "power_w": float(power[i] if power is not None else 600.0), "xid": [], "throttle": []}
        gpus.append(gpu)
    for gpu, code in xid:
        gpus[gpu]["xid"].append(code)
    for gpu, reason in throttle:
        gpus[gpu]["throttle"].append(reason)
    return {"gpus": gpus, "metrics": {"cpu_temp_c": 50.0}}


def run(engine: Engine, stream):
    """Feed (ts, [messages]) pairs, evaluating after each; returns all transitions."""
    out = []
    for ts, messages in stream:
        engine.ingest(messages)
        out.extend(engine.evaluate(ts))
    return out


def raised(transitions, rule=None, key=None):
    return [t for t in transitions if t.state == "raised" and (rule is None or t.rule == rule)
            and (key is None or t.key == key)]


def test_tracker_needs_the_minimum_duration_to_raise_and_to_clear():
    tracker = Tracker(3, raise_after_s=10.0, clear_after_s=5.0)
    blip = np.array([1, 0, -1], dtype=np.int8)
    assert not tracker.step(0.0, blip)
    assert not tracker.step(1.0, np.array([0, 0, -1], dtype=np.int8))
    for second in range(2, 12):
        changes = tracker.step(float(second), np.array([1, 2, -1], dtype=np.int8))
        if second < 12 and second - 2 < 10:
            assert not changes
    changes = tracker.step(12.0, np.array([1, 2, -1], dtype=np.int8))
    assert changes.raised.tolist() == [0, 1] and changes.raised_level.tolist() == [1, 2]
    assert not tracker.step(13.0, np.array([0, -1, -1], dtype=np.int8))
    assert not tracker.step(17.0, np.array([0, -1, -1], dtype=np.int8))
    changes = tracker.step(18.0, np.array([0, -1, -1], dtype=np.int8))
    assert changes.cleared.tolist() == [0]
    assert tracker.active.tolist() == [0, 2, 0], "unknown keeps a raised alert raised"


def test_static_limit_raises_with_hysteresis_and_escalates():
    engine = Engine()
    rng = np.random.default_rng(1)
    inlet = [24.0] * 60 + [28.0] * 40 + [33.0] * 40 + [26.5] * 20 + [24.0] * 60
    stream = [(T0 + i, [message(f"{RACK}/rack", T0 + i, i, rack_body(v + rng.normal(0, 0.05)))])
              for i, v in enumerate(inlet)]
    transitions = run(engine, stream)
    limit = [t for t in transitions if t.rule == "limit" and t.key.endswith("inlet_temp_c")]
    assert [(t.state, str(t.severity)) for t in limit] == [
        ("raised", "warning"), ("raised", "critical"), ("cleared", "critical")
    ]
    assert limit[0].ts - (T0 + 60) >= 10, "raised only after raise_after_s"
    assert limit[2].ts > T0 + 160, "26.5 C is inside the exit band of 27: not cleared until back to normal"
    assert "over warning limit 27" in limit[0].message


def test_gpu_limits_come_from_node_meta_with_model_defaults():
    engine = Engine()
    engine.ingest([RawMessage(T0, f"dc/{NODE}/meta", encode_payload({"gpu_model": "H100-SXM",
                                                                     "gpu_slowdown_c": 85}))])
    engine.ingest([message(NODE, T0, 0, node_body([60.0] * 8))])
    snapshot = engine.snapshot()
    assert snapshot.channels.limits[f"{NODE}/gpu0/temp_c"] == (80.0, 85.0)
    other = Engine()
    other.ingest([message(NODE, T0, 0, node_body([60.0] * 8))])
    assert other.snapshot().channels.limits[f"{NODE}/gpu0/temp_c"] == (82.0, 89.0)


def test_leak_flag_is_critical():
    engine = Engine()
    stream = [(T0 + i, [message(f"{RACK}/rack", T0 + i, i, rack_body(24.0, leak=int(i >= 20)))])
              for i in range(40)]
    leak = raised(run(engine, stream), "leak")
    assert len(leak) == 1 and str(leak[0].severity) == "critical" and leak[0].key == f"{RACK}/rack/leak"


def test_phase_imbalance_is_derived_and_limited():
    engine = Engine()
    body = rack_body(24.0)
    body["metrics"].update({"phase_l1_a": 60.0, "phase_l2_a": 40.0, "phase_l3_a": 40.0})
    stream = [(T0 + i, [message(f"{RACK}/rack", T0 + i, i, body)]) for i in range(30)]
    found = raised(run(engine, stream), "limit", f"{RACK}/rack/phase_imbalance_pct")
    assert found and str(found[-1].severity) == "critical"
    assert math.isclose(found[-1].value, 28.57, abs_tol=0.01)


def test_rate_of_change_on_inlet():
    engine = Engine()
    rng = np.random.default_rng(2)
    # 0.5 C/min = 30 C/h, above ASHRAE's 20 C/h, while still inside the recommended envelope.
    values = [20.0 + rng.normal(0, 0.05) for _ in range(300)]
    values += [20.0 + 0.5 * (i / 60.0) + rng.normal(0, 0.05) for i in range(480)]
    stream = [(T0 + i, [message(f"{RACK}/rack", T0 + i, i, rack_body(v))]) for i, v in enumerate(values)]
    transitions = run(engine, stream)
    rate = raised(transitions, "rate")
    assert rate and rate[0].ts > T0 + 300 and "per hour" in rate[0].message
    assert not raised(transitions, "limit")


def test_forecast_warns_ahead_of_the_critical_limit():
    engine = Engine()
    rng = np.random.default_rng(3)
    values = [24.0 + rng.normal(0, 0.05) for _ in range(200)]
    values += [24.0 + 0.01 * i + rng.normal(0, 0.05) for i in range(1200)]
    stream = [(T0 + i, [message(f"{RACK}/rack", T0 + i, i, rack_body(v))]) for i, v in enumerate(values)]
    transitions = run(engine, stream)
    forecast = raised(transitions, "forecast", f"{RACK}/rack/inlet_temp_c")
    critical = [t for t in raised(transitions, "limit") if str(t.severity) == "critical"]
    assert forecast and critical
    assert critical[0].ts - forecast[0].ts >= 240, "several minutes of warning before the limit"
    minutes = int(re.search(r"critical in ~(\d+) min", forecast[0].message).group(1))
    assert 3 <= minutes <= 10


def steady_cdu(i: int, rng, pressure: float) -> dict:
    return {"metrics": {"supply_temp_c": 25 + rng.normal(0, 0.1), "return_temp_c": 35 + rng.normal(0, 0.1),
                        "flow_lpm": 300 + rng.normal(0, 1.0), "pressure_kpa": pressure, "leak": 0}}


def test_deviation_from_own_recent_behaviour():
    engine = Engine()
    rng = np.random.default_rng(4)
    stream = []
    for i in range(900):
        pressure = 250 + rng.normal(0, 1.0) + (25.0 if i >= 600 else 0.0)
        stream.append((T0 + i, [message(CDU, T0 + i, i, steady_cdu(i, rng, pressure))]))
    transitions = run(engine, stream)
    deviation = raised(transitions, "deviation")
    assert [t.key for t in deviation] == [f"{CDU}/pressure_kpa"]
    assert T0 + 600 <= deviation[0].ts <= T0 + 660


def test_flatline_on_a_channel_that_normally_moves():
    engine = Engine()
    rng = np.random.default_rng(5)
    stream = []
    for i in range(900):
        body = steady_cdu(i, rng, 250 + rng.normal(0, 1.0))
        if i >= 500:
            body["metrics"]["flow_lpm"] = 301.5
        stream.append((T0 + i, [message(CDU, T0 + i, i, body)]))
    flat = raised(run(engine, stream), "flatline")
    assert [t.key for t in flat] == [f"{CDU}/flow_lpm"]
    assert flat[0].ts >= T0 + 500 + 120


def test_peer_catches_one_gpu_running_hot_among_its_siblings():
    engine = Engine()
    rng = np.random.default_rng(6)
    stream = []
    for i in range(1000):
        temps = 70 + rng.normal(0, 0.3, 8) + np.arange(8) * 0.5
        if i >= 500:
            temps[3] += min(9.0, (i - 500) * 0.05)
        stream.append((T0 + i, [message(NODE, T0 + i, i, node_body(temps))]))
    transitions = run(engine, stream)
    peer = raised(transitions, "peer")
    assert [t.key for t in peer] == [f"{NODE}/gpu3/temp_c"]
    assert not raised(transitions, "limit")


def test_stale_source_and_recovery():
    engine = Engine()
    rng = np.random.default_rng(7)
    stream = []
    for i in range(200):
        messages = [message(CDU, T0 + i, i, steady_cdu(i, rng, 250.0))]
        if not 60 <= i < 120:
            messages.append(message(f"{RACK}/rack", T0 + i, i, rack_body(24.0)))
        stream.append((T0 + i, messages))
    transitions = [t for t in run(engine, stream) if t.rule == "stale"]
    rack = f"{RACK}/rack"
    assert [(t.key, t.state) for t in transitions] == [(rack, "raised"), (rack, "cleared")]
    assert T0 + 65 <= transitions[0].ts <= T0 + 75


def test_seq_gap_and_restart_and_duplicates():
    engine = Engine()
    body = rack_body(24.0)
    first = [message(f"{RACK}/rack", T0 + i, i, body) for i in range(5)]
    engine.ingest(first + first[-2:])
    assert engine.snapshot().stats.duplicates == 2
    transitions = engine.evaluate(T0 + 5)
    assert not raised(transitions, "seq")
    engine.ingest([message(f"{RACK}/rack", T0 + 6, 9, body)])
    gap = raised(engine.evaluate(T0 + 6), "seq")
    assert gap and "4 messages lost" in gap[0].message
    other = Engine()
    other.ingest([message(f"{RACK}/rack", T0 + i, i, body) for i in range(5)])
    other.ingest([message(f"{RACK}/rack", T0 + 6, 0, body, boot="b2")])
    restart = raised(other.evaluate(T0 + 6), "seq")
    assert restart and "restarted" in restart[0].message


def test_xid_and_throttle_severities():
    engine = Engine()
    stream = []
    for i in range(60):
        xid = [(2, 79)] if i == 5 else [(4, 13)] if i == 6 else []
        throttle = [(1, "hw_slowdown")] if 10 <= i < 25 else []
        throttle += [(6, "sw_thermal")] if 10 <= i < 45 else []
        body = node_body([60.0] * 8, xid=xid, throttle=throttle)
        stream.append((T0 + i, [message(NODE, T0 + i, i, body)]))
    transitions = run(engine, stream)
    by_key = {t.key: str(t.severity) for t in raised(transitions)}
    assert by_key[f"{NODE}/gpu2/xid"] == "critical"
    assert by_key[f"{NODE}/gpu4/xid"] == "warning"
    assert by_key[f"{NODE}/gpu1/throttle"] == "critical"
    assert by_key[f"{NODE}/gpu6/throttle"] == "warning"
    throttle_clear = [t for t in transitions if t.rule == "throttle" and t.state == "cleared"]
    assert {t.key for t in throttle_clear} == {f"{NODE}/gpu1/throttle"}, "gpu6 cleared later than 60 s"


def test_config_thresholds_reach_the_detectors():
    config = CoreConfig()
    engine = Engine(config)
    assert engine.trackers["deviation"].raise_after_s == config.deviation.raise_after_s


def test_missing_values_never_alert():
    engine = Engine()
    rng = np.random.default_rng(8)
    stream = []
    for i in range(900):
        body = rack_body(24.0 + rng.normal(0, 0.05))
        if i % 3 == 0 or 400 <= i < 700:
            body["metrics"]["inlet_temp_c"] = None
            body["metrics"]["power_kw"] = None
        stream.append((T0 + i, [message(f"{RACK}/rack", T0 + i, i, body)]))
    assert run(engine, stream) == []


def test_forecast_toward_a_lower_limit():
    engine = Engine()
    engine.ingest([RawMessage(T0, f"dc/{CDU}/meta", encode_payload({"design_flow_lpm": 300.0}))])
    rng = np.random.default_rng(9)
    stream = []
    for i in range(1900):
        flow = 300.0 - max(0, i - 200) * 0.1
        body = steady_cdu(i, rng, 250 + rng.normal(0, 1.0))
        body["metrics"]["flow_lpm"] = flow + rng.normal(0, 1.0)
        stream.append((T0 + i, [message(CDU, T0 + i, i, body)]))
    transitions = run(engine, stream)
    forecast = raised(transitions, "forecast", f"{CDU}/flow_lpm")
    critical = [t for t in raised(transitions, "limit", f"{CDU}/flow_lpm") if str(t.severity) == "critical"]
    assert forecast and critical and critical[0].ts - forecast[0].ts >= 300
    assert "toward 150" in forecast[0].message and "critical in ~" in forecast[0].message
