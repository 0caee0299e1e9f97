"""Rules on reported events rather than values: XID errors, clock throttling, seq gaps/restarts.

These arrive inside messages (a GPU's ``xid`` list, its ``throttle`` reasons, the ``seq`` and
``boot`` fields), so they are observed at ingest, one key at a time, and turned into levels
that the same raise/clear tracker handles. A pulse (an XID, a gap) holds its level for
``hold_s`` after the last sighting, then clears.
"""

from __future__ import annotations

import numpy as np

from console.core.channels import grow
from console.core.hysteresis import NO_CHANGES, Changes, Tracker

FATAL_XIDS = frozenset(
    {46, 48, 61, 62, 64, 74, 79, 95, 109, 119, 120, 136, 140, 143, *range(144, 151), 155, 156, 158, 162}
)
"""FATAL in NVIDIA NVSentinel xiderrorsmapping.csv (domain.md 2): critical. Other XIDs: warning."""
CRITICAL_THROTTLE = frozenset({"hw_slowdown", "hw_thermal", "hw_power_brake"})
"""Clock-event reasons that cut clocks >= 2x or come from the power supply (domain.md 1c, 7)."""
WARNING_THROTTLE = frozenset({"sw_thermal"})
"""SW thermal slowdown: the GPU is at its max operating temperature (domain.md 1c)."""


class SparseRule:
    """Levels of event-driven keys, raised and cleared by a Tracker."""

    def __init__(self, raise_after_s: float, clear_after_s: float, hold_s: float) -> None:
        self.hold_s = hold_s
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.level_seen = np.zeros(64, dtype=np.int8)
        self.seen_at = np.full(64, np.nan)
        self.value = np.full(64, np.nan)
        self.messages: list[str] = []
        self.tracker = Tracker(64, raise_after_s, clear_after_s)

    def observe(self, key: str, level: int, value: float, message: str, ts: float) -> None:
        number = self.index.get(key)
        if number is None:
            if level == 0:
                return
            number = len(self.keys)
            if number >= self.seen_at.shape[0]:
                capacity = 2 * number
                self.level_seen = grow(self.level_seen, capacity, 0)
                self.seen_at = grow(self.seen_at, capacity, np.nan)
                self.value = grow(self.value, capacity, np.nan)
                self.tracker.resize(capacity)
            self.keys.append(key)
            self.index[key] = number
            self.messages.append("")
        if level > 0 or self.level_seen[number] > 0:
            if level >= self.level_seen[number] or level == 0 or ts - self.seen_at[number] > self.hold_s:
                self.level_seen[number] = level
                self.messages[number] = message if level else self.messages[number]
            self.seen_at[number] = ts
            if level:
                self.value[number] = value

    def step(self, now: float) -> Changes:
        count = len(self.keys)
        if not count:
            return NO_CHANGES  # most streams never see an XID: skip the tracker's array passes
        levels = self.level_seen[:count].copy()
        with np.errstate(invalid="ignore"):
            expired = now - self.seen_at[:count] > self.hold_s
        levels[expired] = 0
        return self.tracker.step(now, levels)
