"""The simulator in process: determinism, the wire contract, topology, jobs and the public API."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import pytest

from sensors.codec import decode
from sensors.messages import Event, Meta, Rejected, Status, Telemetry
from sensors.simulator import (
    SCENARIOS,
    CampusConfig,
    Label,
    Outgoing,
    ScenarioSpec,
    Simulator,
    demo_storyline,
    parse_scenario,
)
from sensors.topics import TopicKind

START = 1_767_225_600.0
SMALL = CampusConfig(rows=3, racks_per_row=3, nodes_per_rack=2, gpus_per_node=4)


def run(simulator: Simulator, ticks: int) -> list[Outgoing]:
    out = simulator.initial_messages()
    for _ in range(ticks):
        out.extend(simulator.tick())
    return out


def decoded(messages: Iterable[Outgoing]) -> list[Telemetry | Event | Meta | Status]:
    result = []
    for message in messages:
        record = decode(message.topic, message.payload)
        assert not isinstance(record, Rejected), (message.topic, record)
        result.append(record)
    return result


def series(messages: Iterable[Outgoing]) -> dict[str, list[tuple[float, float]]]:
    """Channel key -> [(ts, value)] of every telemetry message."""
    channels: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for record in decoded(messages):
        if isinstance(record, Telemetry):
            for metric, value in record.values.items():
                channels[record.key(metric)].append((record.ts, value))
    return channels


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    scenarios = [parse_scenario("xid_storm@5"), parse_scenario("cooling_failure@10")]
    first = run(Simulator(SMALL, seed=7, scenarios=scenarios, start=START), 40)
    second = run(Simulator(SMALL, seed=7, scenarios=scenarios, start=START), 40)
    other = run(Simulator(SMALL, seed=8, scenarios=scenarios, start=START), 40)
    assert first == second
    assert [m.payload for m in first] != [m.payload for m in other]


def test_every_message_decodes_and_follows_the_contract() -> None:
    simulator = Simulator(SMALL, seed=3, scenarios=demo_storyline(), start=START, interval=2.0)
    messages = run(simulator, 200)
    assert len(simulator.labels) == 4, "the storyline's places fall back to seeded picks on a small campus"
    records = decoded(messages)
    kinds = {r.topic.kind for r in records}
    assert kinds == {TopicKind.RACK, TopicKind.NODE, TopicKind.CDU, TopicKind.SECURITY, TopicKind.EVENTS}
    seqs: dict[str, list[int]] = defaultdict(list)
    for record in records:
        if isinstance(record, Telemetry | Event) and record.topic.kind is not TopicKind.EVENTS:
            seqs[record.topic.device].append(record.seq)
            assert record.boot == simulator.boot
        if isinstance(record, Telemetry):
            assert all(math.isfinite(v) for v in record.values.values())
    for device, numbers in seqs.items():
        assert numbers == list(range(len(numbers))), device
    rack = next(r for r in records if isinstance(r, Telemetry) and r.topic.kind is TopicKind.RACK)
    assert set(rack.values) == {
        "inlet_temp_c", "outlet_temp_c", "humidity_pct", "dew_point_c", "power_kw", "pdu_a_kw", "pdu_b_kw",
        "phase_l1_a", "phase_l2_a", "phase_l3_a", "leak", "door_open",
    }
    node = next(r for r in records if isinstance(r, Telemetry) and r.topic.kind is TopicKind.NODE)
    assert {"cpu_temp_c", "psu_power_w", "fan_pct", "gpu3/temp_c", "gpu3/mem_temp_c", "gpu3/power_w",
            "gpu3/util_pct", "gpu3/sm_clock_mhz", "gpu3/ecc_dbe", "gpu3/temp_margin_c"} <= set(node.values)


def test_initial_messages_announce_every_device_with_meta_and_status() -> None:
    simulator = Simulator(SMALL, seed=1, start=START)
    records = decoded(simulator.initial_messages())
    metas = {r.topic.device: r.facts for r in records if isinstance(r, Meta)}
    online = {r.topic.device for r in records if isinstance(r, Status) and r.online}
    assert set(metas) == online
    assert len(metas) == 9 + 18 + 2 + 5  # racks, nodes, CDUs, security controls
    assert metas["s1/h1/r02/rk03/rack"] == {"pdu_rating_kw": 60.0, "nodes": 2.0, "cooling": "liquid"}
    assert metas["s1/h1/r02/rk03/node/n2"] == {
        "gpu_model": "H100-SXM", "gpu_power_limit_w": 700.0, "gpu_slowdown_c": 87.0,
        "gpu_shutdown_c": 92.0, "mem_max_c": 95.0,
    }
    assert all(m.retain and m.qos == 1 for m in simulator.initial_messages())
    will = decode(simulator.will().topic, simulator.will().payload)
    assert isinstance(will, Status) and not will.online and simulator.will().retain
    final = decoded(simulator.final_messages())
    assert {r.topic.device for r in final if isinstance(r, Status) and not r.online} == online


def test_default_campus_layout_and_time() -> None:
    simulator = Simulator(seed=0, start=START)
    campus = simulator.campus
    assert (campus.rack_count, campus.node_count, campus.gpu_count, len(campus.cdus)) == (80, 320, 2560, 4)
    assert campus.racks[0].path == "s1/h1/r01/rk01" and campus.racks[-1].path == "s1/h1/r08/rk10"
    assert [c.path for c in campus.cdus][-1] == "s1/h1/cdu/cdu4"
    out = simulator.tick()
    assert simulator.now == START + 1.0
    assert len(out) == 80 + 320 + 4 + 5  # the security controls report on the first tick
    assert len(simulator.tick()) == 80 + 320 + 4


def test_sites_and_halls_have_their_own_devices_events_and_security() -> None:
    config = CampusConfig(sites=2, halls=2, rows=3, racks_per_row=2, nodes_per_rack=1, gpus_per_node=2)
    specs = [parse_scenario("cage_intrusion@2:s2/h2/r03/rk02"), parse_scenario("leak@2:s2/h1/cdu/cdu2")]
    simulator = Simulator(config, seed=1, scenarios=specs, start=START)
    records = decoded(run(simulator, 5))
    cdus = sorted({r.topic.device for r in records if r.topic.kind is TopicKind.CDU})
    assert cdus == [f"s{s}/h{h}/cdu/cdu{c}" for s in (1, 2) for h in (1, 2) for c in (1, 2)]
    racks = {r.topic.device for r in records if r.topic.kind is TopicKind.RACK}
    assert len(racks) == 2 * 2 * 3 * 2 and "s2/h2/r03/rk02/rack" in racks
    events = [r for r in records if isinstance(r, Event)]
    assert [(e.topic.device, e.kind, e.where) for e in events] == [("s2/events", "door_forced", "h2/cage-w1")]
    security = {r.topic.device for r in records if r.topic.kind is TopicKind.SECURITY}
    assert security == {f"s{s}/security/{c}" for s in (1, 2)
                        for c in ("coverage", "coordination", "safeguards", "visibility", "people")}
    leak = [r for r in records if isinstance(r, Telemetry) and r.topic.device == "s2/h1/cdu/cdu2"]
    assert leak[-1].values["leak"] == 1.0


def test_physics_is_plausible() -> None:
    simulator = Simulator(seed=2, start=START)
    channels = series(simulator.tick())
    gpu_power = np.array([v[0][1] for k, v in channels.items() if k.endswith("/power_w")])
    gpu_temp = np.array([v[0][1] for k, v in channels.items() if k.endswith("gpu0/temp_c")])
    assert 60 < gpu_power.min() < 110 and 600 < gpu_power.max() <= 700
    assert gpu_temp.min() > 25 and gpu_temp.max() < 82
    rack_kw = np.array([v[0][1] for k, v in channels.items() if k.endswith("/rack/power_kw")])
    assert rack_kw.min() > 5 and rack_kw.max() < 0.8 * 60
    for rack in simulator.campus.racks[:5]:
        key = f"{rack.path}/rack/"
        nodes = sum(v[0][1] for k, v in channels.items() if k.startswith(f"{rack.path}/node/")
                    and k.endswith("psu_power_w"))
        assert channels[key + "power_kw"][0][1] == pytest.approx(nodes / 1000 + 1.2, abs=0.3)
        assert channels[key + "pdu_a_kw"][0][1] + channels[key + "pdu_b_kw"][0][1] == pytest.approx(
            channels[key + "power_kw"][0][1], abs=0.02)
        phases = [channels[key + f"phase_l{p}_a"][0][1] for p in (1, 2, 3)]
        assert max(phases) - min(phases) < 0.06 * np.mean(phases) + 1.0
        assert channels[key + "outlet_temp_c"][0][1] > channels[key + "inlet_temp_c"][0][1]
        assert 18 <= channels[key + "inlet_temp_c"][0][1] <= 27
    supply = channels["s1/h1/cdu/cdu1/supply_temp_c"][0][1]
    assert supply + 2 < channels["s1/h1/cdu/cdu1/return_temp_c"][0][1] < supply + 12


def test_training_jobs_step_many_gpus_in_the_same_tick() -> None:
    """A job start, stop or checkpoint moves every GPU of its nodes at once (legitimate, not a fault)."""
    simulator = Simulator(CampusConfig(rows=2, racks_per_row=4), seed=5, start=START, interval=5.0)
    power: list[np.ndarray] = []
    for _ in range(400):
        channels = series(m for m in simulator.tick() if "/node/" in m.topic)
        keys = sorted(k for k in channels if k.endswith("/power_w"))
        power.append(np.array([channels[k][0][1] for k in keys]))
    steps = np.abs(np.diff(np.array(power), axis=0)) > 300.0
    per_tick = steps.sum(axis=1)
    assert per_tick.max() >= 16, "some job of two or more nodes should start, stop or checkpoint"
    assert (per_tick % 8 == 0).all(), "GPUs step together, a whole node at a time"
    rises = (np.diff(np.array(power), axis=0) > 300.0).sum(axis=1)
    falls = (np.diff(np.array(power), axis=0) < -300.0).sum(axis=1)
    assert rises.max() >= 8 and falls.max() >= 8


def test_parse_scenario() -> None:
    assert parse_scenario("cooling_failure@300") == ScenarioSpec("cooling_failure", 300.0)
    assert parse_scenario("gpu_cooling@120:r03/rk04/n2/gpu5") == ScenarioSpec(
        "gpu_cooling", 120.0, target="r03/rk04/n2/gpu5")
    assert parse_scenario("leak@5+60:cdu2") == ScenarioSpec("leak", 5.0, target="cdu2", duration=60.0)
    assert str(parse_scenario("leak@5+60:cdu2")) == "leak@5+60:cdu2"
    for bad in ("nonsense@3", "cooling_failure", "cooling_failure@soon", "leak@-1", "leak@3+0"):
        with pytest.raises(ValueError) as error:
            parse_scenario(bad)
        assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="valid names: cooling_failure, gpu_cooling"):
        parse_scenario("nonsense@3")


def test_a_target_that_is_not_in_the_campus_is_refused_with_examples() -> None:
    with pytest.raises(ValueError, match="r03/rk04/n2/gpu5"):
        Simulator(SMALL, scenarios=[parse_scenario("gpu_cooling@1:r09/rk01/n1/gpu0")], start=START)
    with pytest.raises(ValueError, match="inlet_temp_c"):
        Simulator(SMALL, scenarios=[parse_scenario("stuck_sensor@1:r01/rk01/rack/bogus_c")], start=START)


def test_campus_config_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="rows"):
        CampusConfig(rows=0)
    with pytest.raises(ValueError, match="64"):
        CampusConfig(gpus_per_node=65)
    with pytest.raises(ValueError, match="prefix"):
        Simulator(SMALL, prefix="d/c")


def test_storyline_starts_early_and_tells_the_whole_story_in_five_minutes() -> None:
    story = demo_storyline()
    names = [spec.name for spec in story]
    assert names == ["gpu_cooling", "cooling_failure", "power_excursion", "cage_intrusion"]
    assert story[0].at <= 30 and max(spec.at for spec in story) <= 180
    simulator = Simulator(seed=4, scenarios=story, start=START, interval=2.0)
    events = [r for r in decoded(run(simulator, 150)) if isinstance(r, Event)]
    kinds = [e.kind for e in events if e.severity == "critical"]
    assert kinds[:2] == ["door_forced", "privileged_session"]
    assert {label.scenario for label in simulator.labels} == set(names)


def test_labels_serialise_as_json_lines() -> None:
    label = Label("leak", "leak", ("s1/h1/r01/rk01/rack/leak",), START, START + 300.0)
    assert label.to_json_line() == (
        b'{"scenario":"leak","kind":"leak","keys":["s1/h1/r01/rk01/rack/leak"],'
        b'"start":1767225600.0,"end":1767225900.0}\n'
    )
    assert set(SCENARIOS) >= {
        "cooling_failure", "gpu_cooling", "power_excursion", "phase_imbalance", "leak", "stuck_sensor",
        "sensor_dropout", "xid_storm", "hbm_overtemp", "power_brake", "publisher_restart", "cage_intrusion",
    }
