"""Deviation from a channel's own recent behaviour: streaming median/MAD robust z.

Frugal streaming quantiles (Ma, Muthukrishnan, Sandler, SEA 2013; methods.md 2.2): the median
moves one step toward each sample and the MAD scale multiplicatively toward |x - median|, so
state is two floats per channel, a single spike moves them by one step, and the update is a few
whole-array passes. The z of a sample is taken against the state *before* it is learned (causal).
Synchronized job steps are not deviations: the guard (guard.py) re-baselines held channels.
"""

from __future__ import annotations

import numpy as np

from console.core.channels import as_slice, grow
from console.core.config import DeviationConfig

MAD_TO_SIGMA = 1.4826


class RobustBaseline:
    """Streaming median and MAD per channel, and the latest robust z."""

    def __init__(self, capacity: int, config: DeviationConfig) -> None:
        self.config = config
        self.median = np.zeros(capacity, dtype=np.float32)
        self.scale = np.zeros(capacity, dtype=np.float32)
        self.samples = np.zeros(capacity, dtype=np.int32)
        self.z = np.full(capacity, np.nan, dtype=np.float32)

    def resize(self, capacity: int) -> None:
        self.median = grow(self.median, capacity, 0.0)
        self.scale = grow(self.scale, capacity, 0.0)
        self.samples = grow(self.samples, capacity, 0)
        self.z = grow(self.z, capacity, np.nan)

    def update(self, channels: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Score then learn one sample per listed channel; returns their z (NaN for NaN samples)."""
        cfg = self.config
        valid = ~np.isnan(values)
        all_valid = bool(valid.all())
        if not all_valid:
            channels, values = channels[valid], values[valid]
        channels = as_slice(channels)
        first = self.samples[channels] == 0
        median = np.where(first, values, self.median[channels])
        floor = np.maximum(np.float32(cfg.floor_abs), np.float32(cfg.floor_rel) * np.abs(median))
        scale = np.maximum(self.scale[channels], floor)
        deviation = values - median
        z = deviation / (np.float32(MAD_TO_SIGMA) * scale)
        self.median[channels] = median + np.float32(cfg.step) * scale * np.sign(deviation)
        grow_or_shrink = np.sign(np.abs(deviation) - scale)
        self.scale[channels] = scale * (1 + np.float32(cfg.scale_step) * grow_or_shrink)
        self.samples[channels] += 1
        self.z[channels] = z
        if all_valid:
            return z
        out = np.full(valid.shape[0], np.nan, dtype=np.float32)
        out[valid] = z
        return out

    def rebase(self, channels: np.ndarray, values: np.ndarray) -> None:
        """Accept the present value as the new normal (after a recognised load step)."""
        valid = ~np.isnan(values)
        self.median[channels[valid]] = values[valid]


def deviation_level(z: np.ndarray, active: np.ndarray, z_enter: float, z_exit: float) -> np.ndarray:
    """1 where |z| is past the entry threshold (past the exit threshold while raised), else 0."""
    threshold = np.where(active > 0, np.float32(z_exit), np.float32(z_enter))
    with np.errstate(invalid="ignore"):
        return (np.abs(z) >= threshold).astype(np.int8)
