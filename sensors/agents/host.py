"""This machine as a GPU node of the wire contract, read through psutil, RAPL and hwmon.

Every metric is always sent; one the platform does not expose is null ("not measured this
time", wire.md "Payloads"), never a guess. psutil reports fans in rpm, not percent, so
``fan_pct`` comes only from a hwmon PWM duty cycle where the kernel exposes one.
``psu_power_w`` is what RAPL measures (the CPU packages, or the whole platform where a
``psys`` zone exists): the part of the machine's draw the OS can see, not a wall-socket reading.
"""

from __future__ import annotations

import asyncio
import platform
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

from sensors.agents.publisher import NodeAgent, NodePlace, Sink
from sensors.agents.rapl import POWERCAP, RaplMeter

HWMON = Path("/sys/class/hwmon")
CPU_CHIPS = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "cpu-thermal", "soc_thermal")
"""psutil temperature chips that measure the CPU, best first (acpitz is a board zone: not used)."""
CPU_LABELS = ("Package", "Tctl", "Tdie")
PWM_FULL = 255
MIN_CPU_WINDOW_S = 0.05
"""psutil's cpu_percent over a shorter window than this is noise, so the sample is null."""


def cpu_temperature(temperatures: dict[str, list[Any]]) -> float | None:
    """The CPU package temperature from psutil's readings, or None if no CPU chip is listed."""
    for chip in CPU_CHIPS:
        readings = temperatures.get(chip) or []
        for reading in readings:
            if any(reading.label.startswith(label) for label in CPU_LABELS):
                return float(reading.current)
        if readings:
            return float(max(reading.current for reading in readings))
    return None


def fan_duty_pct(root: Path = HWMON) -> float | None:
    """The highest fan PWM duty cycle in percent (``pwmN`` is 0-255), or None if none is readable."""
    duties: list[float] = []
    for pwm in root.glob("hwmon*/pwm[0-9]*"):
        if not pwm.name[3:].isdigit():
            continue
        try:
            duties.append(int(pwm.read_text()) * 100.0 / PWM_FULL)
        except (OSError, ValueError):
            continue
    return max(duties) if duties else None


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's marketing name where Linux gives it, else what the platform module knows."""
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class HostSampler:
    """A ``NodeSource`` for this machine: ``gpus`` is empty, ``metrics`` come from the OS.

    ``psutil_module``, ``powercap`` and ``hwmon`` are the boundaries a test replaces with
    recorded values.
    """

    def __init__(
        self,
        psutil_module: ModuleType | Any = psutil,
        powercap: Path = POWERCAP,
        hwmon: Path = HWMON,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.psutil = psutil_module
        self.hwmon = hwmon
        self.clock = clock
        self.rapl = RaplMeter(powercap, clock)
        self.psutil.cpu_percent(interval=None)
        self._cpu_since = clock()
        self.rapl.watts()

    def meta(self) -> dict[str, Any]:
        """Static facts: what this host is, since it has no GPU limits to announce."""
        return {
            "agent": "rackwatch-host",
            "cpu_model": cpu_model(),
            "cpu_count": self.psutil.cpu_count(),
            "mem_total_gb": round(self.psutil.virtual_memory().total / 2**30, 1),
        }

    def sample(self) -> dict[str, Any]:
        """One node body with every host metric, null where this platform does not expose it."""
        return {"gpus": [], "metrics": self.metrics()}

    def metrics(self) -> dict[str, float | None]:
        now = self.clock()
        cpu = self.psutil.cpu_percent(interval=None)
        cpu_ok = now - self._cpu_since >= MIN_CPU_WINDOW_S
        self._cpu_since = now
        return {
            "cpu_temp_c": self._cpu_temp(),
            "cpu_util_pct": float(cpu) if cpu_ok else None,
            "mem_used_pct": float(self.psutil.virtual_memory().percent),
            "fan_pct": fan_duty_pct(self.hwmon),
            "battery_pct": self._battery(),
            "psu_power_w": self.rapl.watts(),
        }

    def _cpu_temp(self) -> float | None:
        read = getattr(self.psutil, "sensors_temperatures", None)
        if read is None:
            return None
        try:
            return cpu_temperature(read())
        except OSError:
            return None

    def _battery(self) -> float | None:
        read = getattr(self.psutil, "sensors_battery", None)
        battery = read() if read is not None else None
        return float(battery.percent) if battery is not None else None

    def close(self) -> None:
        """Nothing to release: psutil and sysfs hold no handles between samples."""


async def run_host_agent(
    sink: Sink,
    place: NodePlace | None = None,
    interval: float = 1.0,
    stop: asyncio.Event | None = None,
    sampler: HostSampler | None = None,
) -> None:
    """Publish this machine into ``sink`` until ``stop`` (the demo's in-process pipe uses this).

    Sends retained meta and ``online`` first, a node report every ``interval`` seconds, and a
    retained ``offline`` when ``stop`` is set. Without ``stop`` it runs until cancelled.
    """
    place = place or NodePlace.of()
    agent = NodeAgent(place.topic, sampler or HostSampler(), interval)
    await agent.run(sink, stop or asyncio.Event())
