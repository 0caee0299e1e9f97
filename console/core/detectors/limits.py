"""Static limits with an exit band: the safety floor that is never suppressed (methods.md 6, L1)."""

from __future__ import annotations

import numpy as np

from console.core.channels import grow
from console.core.hysteresis import UNKNOWN
from console.core.rules import Limits


class LimitDetector:
    """Per-channel warn/crit limits, high and low; NaN means no limit on that side."""

    def __init__(self, capacity: int, band_frac: float) -> None:
        self.band_frac = band_frac
        self.warn_hi = np.full(capacity, np.nan, dtype=np.float32)
        self.crit_hi = np.full(capacity, np.nan, dtype=np.float32)
        self.warn_lo = np.full(capacity, np.nan, dtype=np.float32)
        self.crit_lo = np.full(capacity, np.nan, dtype=np.float32)
        self.version = 0
        """Bumped whenever a limit changes (the snapshot caches its per-key limits on it)."""

    def resize(self, capacity: int) -> None:
        for name in ("warn_hi", "crit_hi", "warn_lo", "crit_lo"):
            setattr(self, name, grow(getattr(self, name), capacity, np.nan))

    def set(self, channel: int, limits: Limits) -> None:
        self.version += 1
        self.warn_hi[channel], self.crit_hi[channel], self.warn_lo[channel], self.crit_lo[channel] = limits

    def limits_of(self, channel: int) -> Limits:
        return (
            float(self.warn_hi[channel]),
            float(self.crit_hi[channel]),
            float(self.warn_lo[channel]),
            float(self.crit_lo[channel]),
        )

    def level(self, values: np.ndarray, known: np.ndarray, active: np.ndarray) -> np.ndarray:
        """0/1/2 per channel; a raised channel must come back inside by ``band_frac`` to read 0."""
        count = values.shape[0]
        frac = np.float32(self.band_frac)
        warn_band = np.where(active >= 1, frac, np.float32(0.0))
        crit_band = np.where(active >= 2, frac, np.float32(0.0))
        warn_hi, crit_hi = self.warn_hi[:count], self.crit_hi[:count]
        warn_lo, crit_lo = self.warn_lo[:count], self.crit_lo[:count]
        with np.errstate(invalid="ignore"):
            crit = (values >= _inside(crit_hi, -crit_band)) | (values <= _inside(crit_lo, crit_band))
            warn = (values >= _inside(warn_hi, -warn_band)) | (values <= _inside(warn_lo, warn_band))
        level = np.where(crit, 2, np.where(warn, 1, 0)).astype(np.int8)
        level[~known | np.isnan(values)] = UNKNOWN
        return level


def _inside(limit: np.ndarray, band: np.ndarray) -> np.ndarray:
    """The limit moved by ``band`` (a signed fraction of its size, at least 1 unit)."""
    return limit + band * np.maximum(np.abs(limit), 1.0)
