"""CPU package power from the kernel's RAPL energy counters (``/sys/class/powercap``).

Each zone's ``energy_uj`` is a cumulative counter in microjoules that wraps at
``max_energy_range_uj``; watts are the energy difference over the time between two
readings. On a platform that has a ``psys`` zone (Intel, Skylake and later) that zone covers
the whole SoC platform and is used alone; otherwise the ``package-N`` zones are summed.
Since Linux 5.10 ``energy_uj`` is readable by root only (CVE-2020-8694): then there is no
reading, and the metric is null rather than guessed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")


@dataclass(frozen=True, slots=True)
class Zone:
    """One top-level RAPL zone: its name and its energy counter files."""

    name: str
    energy: Path
    max_range_uj: int


def find_zones(root: Path = POWERCAP) -> list[Zone]:
    """The top-level zones (``intel-rapl:0``, not the ``intel-rapl:0:0`` subzones) worth reading."""
    zones: list[Zone] = []
    for directory in sorted(root.glob("intel-rapl:*")):
        if directory.name.count(":") != 1:
            continue
        try:
            name = (directory / "name").read_text().strip()
            max_range = int((directory / "max_energy_range_uj").read_text())
        except (OSError, ValueError):
            continue
        if name == "psys" or name.startswith("package"):
            zones.append(Zone(name, directory / "energy_uj", max_range))
    platform = [zone for zone in zones if zone.name == "psys"]
    return platform or zones


class RaplMeter:
    """Watts over the time since the previous reading; None until two readings exist."""

    def __init__(self, root: Path = POWERCAP, clock: Callable[[], float] = time.monotonic) -> None:
        self.zones = find_zones(root)
        self.clock = clock
        self._last: tuple[float, list[int]] | None = None

    def _read(self) -> list[int] | None:
        try:
            return [int(zone.energy.read_text()) for zone in self.zones]
        except (OSError, ValueError):
            return None

    def watts(self) -> float | None:
        """Average power since the last call, or None (no zones, unreadable, first call)."""
        if not self.zones:
            return None
        now = self.clock()
        energy = self._read()
        last, self._last = self._last, (now, energy) if energy is not None else None
        if energy is None or last is None or now <= last[0]:
            return None
        joules = 0.0
        for zone, before, after in zip(self.zones, last[1], energy, strict=True):
            delta = after - before
            if delta < 0:
                delta += zone.max_range_uj
            joules += delta / 1e6
        return joules / (now - last[0])
