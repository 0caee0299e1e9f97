"""Each scenario's ground-truth label against what the message stream shows."""

from __future__ import annotations

import numpy as np

from sensors.codec import decode
from sensors.messages import Event, Status, Telemetry
from sensors.simulator import CampusConfig, Label, Outgoing, Simulator, parse_scenario
from tests.test_simulator import START, decoded, series

SMALL = CampusConfig(rows=3, racks_per_row=3, nodes_per_rack=2, gpus_per_node=4)


def scenario_run(
    text: str, ticks: int, interval: float = 1.0, seed: int = 11
) -> tuple[Label, list[Outgoing]]:
    scenarios = [parse_scenario(text)]
    simulator = Simulator(SMALL, seed=seed, scenarios=scenarios, start=START, interval=interval)
    out = simulator.initial_messages()
    for _ in range(ticks):
        out.extend(simulator.tick())
    (label,) = simulator.labels
    return label, out


def values(points: list[tuple[float, float]], start: float, end: float) -> np.ndarray:
    return np.array([v for t, v in points if start <= t < end])


def test_cooling_failure_raises_the_inlets_of_its_row_only() -> None:
    label, out = scenario_run("cooling_failure@60+400:r02", 200, interval=2.0)
    channels = series(out)
    assert label.kind == "cooling" and label.start == START + 60 and label.end == START + 460
    inlets = [k for k in label.keys if k.endswith("inlet_temp_c")]
    assert len(inlets) == 3 and all("/r02/" in k for k in inlets)
    for key in inlets:
        before = values(channels[key], START, label.start).mean()
        after = values(channels[key], label.start + 240, label.start + 300).mean()
        assert after - before > 5.0, key
    for key in (k for k in channels if k.endswith("inlet_temp_c") and "/r02/" not in k):
        before = values(channels[key], START, label.start).mean()
        after = values(channels[key], label.start + 240, label.start + 300).mean()
        assert abs(after - before) < 1.5, key


def test_cooling_failure_of_a_cdu_warms_its_coolant() -> None:
    label, out = scenario_run("cooling_failure@20+300:cdu2", 150, interval=2.0)
    channels = series(out)
    supply = channels["s1/h1/cdu/cdu2/supply_temp_c"]
    assert "s1/h1/cdu/cdu2/supply_temp_c" in label.keys
    before = values(supply, START, label.start).mean()
    assert values(supply, label.start + 200, label.start + 280).mean() - before > 8
    other = channels["s1/h1/cdu/cdu1/supply_temp_c"]
    assert np.ptp(values(other, START, START + 300)) < 1.0


def test_gpu_cooling_makes_one_gpu_creep_hot_against_its_siblings() -> None:
    label, out = scenario_run("gpu_cooling@30+400", 400)
    channels = series(out)
    key = label.keys[0]
    assert key.endswith("/temp_c") and label.kind == "thermal"
    node, gpu = key.rsplit("/", 2)[0], key.rsplit("/", 2)[1]
    siblings = [f"{node}/gpu{i}/temp_c" for i in range(4) if f"gpu{i}" != gpu]

    def lead(start: float, end: float) -> float:
        own = values(channels[key], start, end).mean()
        return own - np.mean([values(channels[s], start, end).mean() for s in siblings])

    before = lead(START, label.start)
    assert lead(label.start + 60, label.start + 90) - before < 8, "a slow creep, not a jump"
    assert lead(label.start + 330, label.start + 370) - before > 6
    assert lead(label.start + 330, label.start + 370) > lead(label.start + 150, label.start + 190) + 2


def test_gpu_cooling_shows_against_its_siblings_minutes_before_a_static_threshold() -> None:
    """The point of the scenario: a per-GPU baseline catches it long before 82 C (domain.md 7)."""
    label, out = scenario_run("gpu_cooling@20", 700, interval=2.0, seed=4)
    channels = series(out)
    key = label.keys[0]
    node, gpu = key.rsplit("/", 2)[0], key.rsplit("/", 2)[1]
    own = np.array([v for _, v in channels[key]])
    times = np.array([t for t, _ in channels[key]])
    siblings = np.array([[v for _, v in channels[f"{node}/gpu{i}/temp_c"]] for i in range(4)
                         if f"gpu{i}" != gpu])
    lead = own - np.median(siblings, axis=0)
    baseline = lead[times < label.start].mean()
    smoothed = np.convolve(lead - baseline, np.ones(5) / 5, mode="same")
    noticed = times[(times > label.start) & (smoothed > 4.0)][0]
    crossed = times[own >= 82.0][0]
    assert crossed - noticed >= 120, (noticed - label.start, crossed - label.start)


def test_power_excursion_takes_the_rack_past_80_percent_of_its_pdu_rating() -> None:
    label, out = scenario_run("power_excursion@20+120:r02/rk02", 200)
    power = series(out)["s1/h1/r02/rk02/rack/power_kw"]
    assert label.keys[0] == "s1/h1/r02/rk02/rack/power_kw" and label.kind == "power"
    assert values(power, START, label.start).max() < 0.8 * 60
    assert values(power, label.start + 35, label.end).min() > 0.8 * 60
    assert values(power, label.end + 1, label.end + 60).max() < 0.8 * 60


def test_phase_imbalance_skews_the_three_phases() -> None:
    label, out = scenario_run("phase_imbalance@20+100:r03/rk01", 150)
    channels = series(out)
    phases = np.array([[v for _, v in channels[k]] for k in label.keys])
    times = np.array([t for t, _ in channels[label.keys[0]]])
    imbalance = np.abs(phases - phases.mean(axis=0)).max(axis=0) / phases.mean(axis=0)
    assert imbalance[times < label.start].max() < 0.07
    assert imbalance[(times > label.start + 25) & (times < label.end)].min() > 0.20


def test_leak_flags_exactly_the_window() -> None:
    label, out = scenario_run("leak@10+30:r01/rk03", 60)
    leak = series(out)["s1/h1/r01/rk03/rack/leak"]
    assert label.keys == ("s1/h1/r01/rk03/rack/leak",)
    assert all((v == 1.0) == (label.start <= t < label.end) for t, v in leak)
    label, out = scenario_run("leak@10+30:cdu1", 60)
    assert series(out)["s1/h1/cdu/cdu1/leak"][15][1] == 1.0 and "s1/h1/cdu/cdu1/leak" in label.keys


def test_stuck_sensor_flatlines_then_lives_again() -> None:
    label, out = scenario_run("stuck_sensor@20+60:r01/rk01/rack/inlet_temp_c", 120)
    inlet = series(out)["s1/h1/r01/rk01/rack/inlet_temp_c"]
    assert label.keys == ("s1/h1/r01/rk01/rack/inlet_temp_c",) and label.kind == "stuck"
    assert len(set(values(inlet, label.start, label.end))) == 1
    assert len(set(values(inlet, START, label.start))) > 1
    assert len(set(values(inlet, label.end, label.end + 40))) > 1
    label, out = scenario_run("stuck_sensor@20+60", 100)
    (key,) = label.keys
    assert key.endswith("/temp_c") and len(set(values(series(out)[key], label.start, label.end))) == 1


def test_sensor_dropout_silences_the_node_for_the_window() -> None:
    label, out = scenario_run("sensor_dropout@20+30:r02/rk01/n2", 80)
    topic = "dc/s1/h1/r02/rk01/node/n2"
    times = [decode(m.topic, m.payload).ts for m in out if m.topic == topic]
    assert label.kind == "stale" and f"{topic[3:]}/gpu0/temp_c" in label.keys
    assert not [t for t in times if label.start <= t < label.end]
    assert [t for t in times if t < label.start] and [t for t in times if t >= label.end]


def test_publisher_restart_starts_seq_again_under_a_new_boot() -> None:
    label, out = scenario_run("publisher_restart@20:r01/rk02/n1", 60)
    device = "s1/h1/r01/rk02/node/n1"
    records = [r for r in decoded(out) if r.topic.device == device]
    data = [r for r in records if isinstance(r, Telemetry)]
    boots = [r.boot for r in data]
    assert len(set(boots)) == 2
    restart = boots.index(boots[-1])
    assert data[restart].seq == 0 and data[restart - 1].seq == restart - 1
    assert label.start <= data[restart].ts and data[restart - 1].ts < label.start + 1
    statuses = [r.online for r in records if isinstance(r, Status)]
    assert statuses == [True, False, True]


def test_xid_storm_repeats_xids_on_the_labelled_gpu_only() -> None:
    label, out = scenario_run("xid_storm@10+120", 150, seed=3)
    records = [r for r in decoded(out) if isinstance(r, Telemetry) and r.xid]
    xid_key, dbe_key = label.keys
    device, gpu = xid_key.rsplit("/", 2)[0], int(xid_key.rsplit("/", 2)[1][3:])
    assert {r.topic.device for r in records} == {device}
    codes = [code for r in records for index, code in r.xid if index == gpu]
    assert len(codes) >= 6 and set(codes) <= {94, 48, 13, 79}
    assert all(label.start <= r.ts < label.end for r in records)
    dbe = [v for _, v in series(out)[dbe_key]]
    assert dbe == sorted(dbe) and dbe[-1] == codes.count(48)


def test_hbm_overtemp_passes_the_memory_limit_and_throttles() -> None:
    label, out = scenario_run("hbm_overtemp@10+300", 300)
    (key,) = label.keys
    mem = series(out)[key]
    assert values(mem, START, label.start).max() < 90
    assert values(mem, label.start + 200, label.end).max() > 95
    gpu = int(key.rsplit("/", 2)[1][3:])
    throttled = [r for r in decoded(out) if isinstance(r, Telemetry) and (gpu, "sw_thermal") in r.throttle]
    assert throttled and all(r.topic.device == key.rsplit("/", 2)[0] for r in throttled)


def test_power_brake_throttles_every_gpu_of_the_node() -> None:
    label, out = scenario_run("power_brake@20+40:r03/rk03/n1", 90)
    device = "s1/h1/r03/rk03/node/n1"
    data = [r for r in decoded(out) if isinstance(r, Telemetry) and r.topic.device == device]
    for record in data:
        braked = {index for index, reason in record.throttle if reason == "hw_power_brake"}
        inside = label.start <= record.ts < label.end
        assert braked == ({0, 1, 2, 3} if inside else set()), record.ts
        if inside:
            assert max(record.values[f"gpu{i}/sm_clock_mhz"] for i in range(4)) <= 800


def test_cage_intrusion_forced_door_then_a_privileged_session_and_bad_safeguards() -> None:
    label, out = scenario_run("cage_intrusion@30+600:r02/rk02", 400, interval=2.0)
    records = decoded(out)
    routine = ("advisory", "phishing_report")
    events = [r for r in records if isinstance(r, Event) and r.kind not in routine]
    assert [e.kind for e in events] == [
        "door_forced", "door_held", "privileged_session", "weight_store_access", "weight_store_access"]
    forced, session = events[0], events[2]
    assert forced.ts == label.start and forced.where == "h1/cage-w1" and forced.severity == "critical"
    assert session.ts - forced.ts >= 60 and session.where == "h1/weight-store-02"
    safeguards = series(m for m in out if m.topic == "dc/s1/security/safeguards")
    before = values(safeguards["s1/security/safeguards/doors_forced_or_held"], START, label.start)
    assert before.max() == 0
    doors = values(safeguards["s1/security/safeguards/doors_forced_or_held"], label.start, label.start + 200)
    assert doors.min() == 1
    sessions = safeguards["s1/security/safeguards/privileged_sessions_open"]
    sessions = values(sessions, session.ts + 15, label.end)
    assert sessions.min() >= 1
    anomalies = safeguards["s1/security/safeguards/weight_store_access_anomalies"]
    assert max(v for _, v in anomalies) == 2
    door = values(series(out)["s1/h1/r02/rk02/rack/door_open"], label.start, label.start + 60)
    assert door.min() == 1 and "s1/h1/r02/rk02/rack/door_open" in label.keys


def test_healthy_security_indicators_and_period() -> None:
    simulator = Simulator(SMALL, seed=5, scenarios=[parse_scenario("leak@1000")], start=START)
    out = [m for _ in range(120) for m in simulator.tick()]
    assert simulator.labels == [], "a label is written when its scenario starts"
    security = [r for r in decoded(out) if isinstance(r, Telemetry) and r.topic.kind == "security"]
    controls = {r.topic.device.split("/")[-1]: r for r in security}
    assert set(controls) == {"coverage", "coordination", "safeguards", "visibility", "people"}
    assert len(security) == 5 * 8  # every 15 s of 120 s
    assert controls["coverage"].values["agent_coverage_pct"] >= 99
    assert controls["coverage"].values["open_critical_vulns"] == 0
    assert 1 <= controls["coordination"].values["threat_intel_age_h"] <= 3
    assert controls["safeguards"].values["weight_store_access_anomalies"] == 0
    assert controls["people"].values["mfa_coverage_pct"] == 100


def test_label_keys_name_channels_of_the_stream() -> None:
    specs = ["cooling_failure@5:r01", "gpu_cooling@5", "power_excursion@5", "phase_imbalance@5", "leak@5",
             "stuck_sensor@5", "hbm_overtemp@5", "power_brake@5", "cage_intrusion@5"]
    simulator = Simulator(SMALL, seed=2, scenarios=[parse_scenario(s) for s in specs], start=START)
    out = simulator.initial_messages()
    for _ in range(40):
        out.extend(simulator.tick())
    channels = series(out)
    for label in simulator.labels:
        for key in label.keys:
            if not key.endswith(("/xid", "/throttle")):
                assert key in channels, (label.scenario, key)
