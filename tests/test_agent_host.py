"""The psutil host agent's mapping, with psutil and sysfs replaced by recorded values."""

from __future__ import annotations

import math
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sensors.agents.host import HostSampler, cpu_model, cpu_temperature, fan_duty_pct
from sensors.agents.publisher import NodePlace, Stamper, sanitize_segment
from sensors.agents.rapl import RaplMeter, find_zones
from sensors.codec import decode, encode_payload
from sensors.messages import Meta, Telemetry
from sensors.topics import meta_topic

shwtemp = namedtuple("shwtemp", "label current high critical")
sbattery = namedtuple("sbattery", "percent secsleft power_plugged")
TOPIC = NodePlace.of(node="laptop", rack="desk").topic


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def recorded_psutil(**overrides: Any) -> SimpleNamespace:
    """A ThinkPad-like laptop as psutil 5.9 reported it."""
    readings = {
        "cpu_percent": lambda interval=None: 37.5,
        "cpu_count": lambda: 8,
        "virtual_memory": lambda: SimpleNamespace(percent=61.2, total=16 * 2**30),
        "sensors_temperatures": lambda: {
            "acpitz": [shwtemp("", 48.0, None, None)],
            "coretemp": [shwtemp("Core 0", 55.0, 100.0, 100.0), shwtemp("Package id 0", 58.0, 100.0, 100.0)],
        },
        "sensors_battery": lambda: sbattery(83.0, 7200, False),
    }
    readings.update(overrides)
    return SimpleNamespace(**readings)


def rapl_zone(root: Path, zone: str, name: str, energy_uj: int, max_uj: int = 262143328850) -> Path:
    directory = root / zone
    directory.mkdir(parents=True)
    (directory / "name").write_text(f"{name}\n")
    (directory / "max_energy_range_uj").write_text(f"{max_uj}\n")
    (directory / "energy_uj").write_text(f"{energy_uj}\n")
    return directory / "energy_uj"


def decoded(sampler: HostSampler, stamper: Stamper) -> Telemetry:
    message = decode(TOPIC, encode_payload(stamper.stamp(sampler.sample())))
    assert isinstance(message, Telemetry), message
    return message


def test_host_metrics_map_to_the_node_payload(tmp_path: Path) -> None:
    clock = Clock()
    energy = rapl_zone(tmp_path / "powercap", "intel-rapl:0", "package-0", 5_000_000)
    rapl_zone(tmp_path / "powercap", "intel-rapl:0:0", "core", 1)
    (tmp_path / "hwmon" / "hwmon3").mkdir(parents=True)
    (tmp_path / "hwmon" / "hwmon3" / "pwm1").write_text("128\n")
    (tmp_path / "hwmon" / "hwmon3" / "pwm1_enable").write_text("2\n")
    sampler = HostSampler(recorded_psutil(), tmp_path / "powercap", tmp_path / "hwmon", clock)
    clock.now += 2.0
    energy.write_text("35000000\n")
    message = decoded(sampler, Stamper(boot="laptop-1"))
    assert message.values == {
        "cpu_temp_c": 58.0,
        "cpu_util_pct": 37.5,
        "mem_used_pct": 61.2,
        "fan_pct": pytest.approx(128 * 100 / 255),
        "battery_pct": 83.0,
        "psu_power_w": 15.0,
    }
    assert (message.seq, message.boot) == (0, "laptop-1")
    assert decoded(sampler, Stamper()).topic.device == "s1/h1/r00/desk/node/laptop"


def test_a_platform_without_sensors_sends_nulls(tmp_path: Path) -> None:
    bare = recorded_psutil(sensors_battery=lambda: None)
    del bare.sensors_temperatures
    clock = Clock()
    sampler = HostSampler(bare, tmp_path / "no-powercap", tmp_path / "no-hwmon", clock)
    clock.now += 1.0
    values = decoded(sampler, Stamper()).values
    for metric in ("cpu_temp_c", "fan_pct", "battery_pct", "psu_power_w"):
        assert math.isnan(values[metric]), metric
    assert values["cpu_util_pct"] == 37.5
    assert values["mem_used_pct"] == 61.2


def test_cpu_load_over_a_too_short_window_is_null(tmp_path: Path) -> None:
    clock = Clock()
    sampler = HostSampler(recorded_psutil(), tmp_path, tmp_path, clock)
    assert math.isnan(decoded(sampler, Stamper()).values["cpu_util_pct"])


def test_cpu_temperature_prefers_the_package_reading_of_a_cpu_chip() -> None:
    assert cpu_temperature({"k10temp": [shwtemp("Tctl", 71.2, None, None)]}) == 71.2
    assert cpu_temperature({"cpu_thermal": [shwtemp("", 49.0, None, None)]}) == 49.0
    assert cpu_temperature({"acpitz": [shwtemp("", 48.0, None, None)], "nvme": []}) is None


def test_rapl_counter_wrap_and_unreadable_counters(tmp_path: Path) -> None:
    clock = Clock()
    energy = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 999_000_000, max_uj=1_000_000_000)
    meter = RaplMeter(tmp_path, clock)
    assert meter.watts() is None
    clock.now += 1.0
    energy.write_text("41000000\n")
    assert meter.watts() == pytest.approx(42.0)
    energy.write_text("not a number\n")
    clock.now += 1.0
    assert meter.watts() is None


def test_rapl_sums_packages_but_prefers_the_platform_zone(tmp_path: Path) -> None:
    rapl_zone(tmp_path / "a", "intel-rapl:0", "package-0", 0)
    rapl_zone(tmp_path / "a", "intel-rapl:1", "package-1", 0)
    assert [zone.name for zone in find_zones(tmp_path / "a")] == ["package-0", "package-1"]
    rapl_zone(tmp_path / "b", "intel-rapl:0", "package-0", 0)
    rapl_zone(tmp_path / "b", "intel-rapl:1", "psys", 0)
    assert [zone.name for zone in find_zones(tmp_path / "b")] == ["psys"]


def test_fan_duty_reads_only_pwm_channels(tmp_path: Path) -> None:
    assert fan_duty_pct(tmp_path) is None
    (tmp_path / "hwmon0").mkdir()
    (tmp_path / "hwmon0" / "pwm1_enable").write_text("1\n")
    assert fan_duty_pct(tmp_path) is None
    (tmp_path / "hwmon0" / "pwm2").write_text("255\n")
    assert fan_duty_pct(tmp_path) == 100.0


def test_host_meta_decodes(tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: Intel(R) Core(TM) i7-1185G7\n")
    assert cpu_model(tmp_path / "cpuinfo") == "Intel(R) Core(TM) i7-1185G7"
    facts = HostSampler(recorded_psutil(), tmp_path, tmp_path).meta()
    meta = decode(meta_topic(TOPIC), encode_payload(facts))
    assert isinstance(meta, Meta)
    assert meta.facts["cpu_count"] == 8.0
    assert meta.facts["mem_total_gb"] == 16.0


def test_names_become_topic_segments() -> None:
    assert sanitize_segment("gpu node 07.lab") == "gpu-node-07-lab"
    assert sanitize_segment("///") == "node"
    place = NodePlace.of(node="a b", hall="hall 1")
    assert place.topic == "dc/s1/hall-1/r00/a-b/node/a-b"


async def test_run_host_agent_feeds_an_in_process_sink() -> None:
    """The demo's entry point: meta and online, reports, then offline, all decodable."""
    import asyncio

    from sensors.agents.host import run_host_agent

    sent: list[tuple[str, bytes, bool]] = []
    stop = asyncio.Event()

    async def sink(topic: str, payload: bytes, retain: bool) -> None:
        sent.append((topic, payload, retain))
        if sum(not retained for _, _, retained in sent) >= 3:
            stop.set()

    place = NodePlace.of(node="laptop", rack="desk")
    await asyncio.wait_for(run_host_agent(sink, place, interval=0.05, stop=stop), timeout=10)
    kinds = [type(decode(topic, payload)).__name__ for topic, payload, _ in sent]
    assert kinds == ["Meta", "Status", "Telemetry", "Telemetry", "Telemetry", "Status"]
    assert [retain for _, _, retain in sent] == [True, True, False, False, False, True]
    assert sent[-1][1] == b"offline"
    assert [decode(topic, payload).seq for topic, payload, _ in sent[2:5]] == [0, 1, 2]
