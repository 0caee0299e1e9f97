"""Data quality: stuck sensors (flatline) and stale sources (methods.md 2.9, L0).

Flatline: a run of identical samples longer than ``log(p_fa) / log(1 - q)`` samples, where q is
the channel's learned rate of change (geometric model), and at least ``min_s``; channels that
legitimately sit still (q below ``min_change_rate``: flags, fixed clocks) are exempt.
Stale: a device silent for ``intervals`` times its usual inter-arrival (and ``min_s``), or one
whose retained status says offline. One stale alert per device, not one per channel.
"""

from __future__ import annotations

import math

import numpy as np

from console.core.channels import as_slice, grow
from console.core.config import FlatlineConfig, StaleConfig

CHANGE_RATE_SAMPLES = 300.0
"""Time constant, in samples, of the learned change rate q."""
LEARN_RUN = 10
"""q is learned only while the current run is short, so a stuck run does not teach 'still'."""


class FlatlineDetector:
    def __init__(self, capacity: int, config: FlatlineConfig) -> None:
        self.config = config
        self.last = np.full(capacity, np.nan, dtype=np.float32)
        self.run_start = np.full(capacity, np.nan)
        self.run_samples = np.zeros(capacity, dtype=np.int32)
        self.change_rate = np.zeros(capacity, dtype=np.float32)
        self.samples = np.zeros(capacity, dtype=np.int32)
        self.interval = np.ones(capacity, dtype=np.float32)

    def resize(self, capacity: int) -> None:
        self.last = grow(self.last, capacity, np.nan)
        self.run_start = grow(self.run_start, capacity, np.nan)
        self.run_samples = grow(self.run_samples, capacity, 0)
        self.change_rate = grow(self.change_rate, capacity, 0.0)
        self.samples = grow(self.samples, capacity, 0)
        self.interval = grow(self.interval, capacity, 1.0)

    def update(self, channels: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
        valid = ~np.isnan(values)
        if not valid.all():
            channels, ts, values = channels[valid], ts[valid], values[valid]
        at = as_slice(channels)
        changed = values != self.last[at]
        run_samples = self.run_samples[at]
        learn = run_samples < LEARN_RUN
        rate = self.change_rate[at]
        alpha = np.float32(1.0 / CHANGE_RATE_SAMPLES)
        self.change_rate[at] = np.where(learn, rate + alpha * (changed - rate), rate)
        self.run_start[at] = np.where(changed, ts, self.run_start[at])
        self.run_samples[at] = np.where(changed, 0, run_samples + 1)
        self.last[at] = values
        self.samples[at] += 1

    def levels(self, now: float, count: int, watched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(channels expected to move, their level 0/1); every other channel is unknown."""
        cfg = self.config
        rate = self.change_rate[:count]
        moving = np.flatnonzero(
            watched & (self.samples[:count] >= CHANGE_RATE_SAMPLES / 2) & (rate >= cfg.min_change_rate)
        )
        rate = rate[moving]
        with np.errstate(divide="ignore", invalid="ignore"):
            needed = math.log(cfg.false_alarm_p) / np.log1p(-np.minimum(rate, 0.999))
        run_s = now - self.run_start[moving]
        return moving, ((run_s >= cfg.min_s) & (self.run_samples[moving] >= needed)).astype(np.int8)


class StaleDetector:
    """Per device: last sample time, learned inter-arrival, online/offline status."""

    def __init__(self, config: StaleConfig) -> None:
        self.config = config
        self.last = np.full(0, np.nan)
        self.interval = np.zeros(0)
        self.offline = np.zeros(0, dtype=bool)
        self.messages = np.zeros(0, dtype=np.int32)

    def _fit(self, devices: int) -> None:
        if self.last.shape[0] < devices:
            capacity = max(devices, 2 * self.last.shape[0], 64)
            self.last = grow(self.last, capacity, np.nan)
            self.interval = grow(self.interval, capacity, 0.0)
            self.offline = grow(self.offline, capacity, False)
            self.messages = grow(self.messages, capacity, 0)

    def seen(self, devices: np.ndarray, ts: np.ndarray, count: int) -> None:
        """Record message times (one batch); learns the inter-arrival by EWMA."""
        self._fit(count)
        gap = ts - self.last[devices]
        learned = self.interval[devices]
        first = np.isnan(gap) | (learned == 0)
        fresh_gap = np.where(np.isnan(gap), 0.0, np.maximum(gap, 0.0))
        self.interval[devices] = np.where(first, fresh_gap, learned + 0.05 * (fresh_gap - learned))
        self.last[devices] = np.fmax(self.last[devices], ts)
        self.offline[devices] = False
        self.messages[devices] += 1

    def set_offline(self, device: int, offline: bool, count: int) -> None:
        self._fit(count)
        self.offline[device] = offline

    def limit(self, count: int) -> np.ndarray:
        self._fit(count)
        return np.maximum(self.config.intervals * self.interval[:count], self.config.min_s)

    def age(self, now: float, count: int) -> np.ndarray:
        self._fit(count)
        return now - self.last[:count]

    def level(self, now: float, count: int) -> np.ndarray:
        age = self.age(now, count)
        with np.errstate(invalid="ignore"):
            level = ((age > self.limit(count)) | self.offline[:count]).astype(np.int8)
        level[(self.messages[:count] < 2) & ~self.offline[:count]] = -1
        return level
