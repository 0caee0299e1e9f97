"""Static limits with an exit band: the safety floor that is never suppressed (methods.md 6, L1)."""

from __future__ import annotations

import numpy as np

from console.core.channels import grow
from console.core.hysteresis import UNKNOWN
from console.core.rules import Limits


class LimitDetector:
    """Per-channel warn/crit limits, high and low; NaN means no limit on that side."""

    SIDES = ("warn_hi", "crit_hi", "warn_lo", "crit_lo")

    def __init__(self, capacity: int, band_frac: float) -> None:
        self.band_frac = band_frac
        self.warn_hi = np.full(capacity, np.nan, dtype=np.float32)
        self.crit_hi = np.full(capacity, np.nan, dtype=np.float32)
        self.warn_lo = np.full(capacity, np.nan, dtype=np.float32)
        self.crit_lo = np.full(capacity, np.nan, dtype=np.float32)
        self.at_rest = {side: np.full(capacity, np.nan, dtype=np.float32) for side in self.SIDES}
        """Each side's threshold with no exit band (a channel not raised), ``_inside(limit, ±0)``:
        the limit itself, NaN for an infinite one. Kept per channel so that ``level`` moves
        thresholds only for the few raised channels."""
        self._unsettled: list[int] = []
        """Channels whose limits were set since ``at_rest`` was last brought up to date (in one
        vectorized pass: 50,000 channels register in the first second of a hall)."""
        self.version = 0
        """Bumped whenever a limit changes (the snapshot caches its per-key limits on it)."""

    def resize(self, capacity: int) -> None:
        for name in self.SIDES:
            setattr(self, name, grow(getattr(self, name), capacity, np.nan))
        self.at_rest = {side: grow(values, capacity, np.nan) for side, values in self.at_rest.items()}

    def set(self, channel: int, limits: Limits) -> None:
        self.version += 1
        self.warn_hi[channel], self.crit_hi[channel], self.warn_lo[channel], self.crit_lo[channel] = limits
        self._unsettled.append(channel)

    def _settle(self) -> None:
        channels = np.unique(np.array(self._unsettled, dtype=np.intp))
        self._unsettled = []
        with np.errstate(invalid="ignore"):  # an infinite limit: 0 x inf, NaN as in ``level``
            for side in self.SIDES:
                no_band = np.float32(-0.0 if side.endswith("_hi") else 0.0)
                limit = getattr(self, side)[channels]
                self.at_rest[side][channels] = _inside(limit, np.full(channels.size, no_band))

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
        if self._unsettled:
            self._settle()
        rest = {side: threshold[:count] for side, threshold in self.at_rest.items()}
        with np.errstate(invalid="ignore"):
            crit = (values >= rest["crit_hi"]) | (values <= rest["crit_lo"])
            warn = (values >= rest["warn_hi"]) | (values <= rest["warn_lo"])
            raised = np.flatnonzero(active)
            if raised.size:
                crit[raised], warn[raised] = self._banded(values[raised], raised, active[raised])
        level = warn.astype(np.int8)
        level[crit] = 2
        level[~known | np.isnan(values)] = UNKNOWN
        return level

    def _banded(self, values: np.ndarray, channels: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, ...]:
        """(crit, warn) of raised channels, their thresholds moved inside by the exit band."""
        frac = np.float32(self.band_frac)
        warn_band = np.where(active >= 1, frac, np.float32(0.0))
        crit_band = np.where(active >= 2, frac, np.float32(0.0))
        warn_hi, crit_hi = self.warn_hi[channels], self.crit_hi[channels]
        warn_lo, crit_lo = self.warn_lo[channels], self.crit_lo[channels]
        crit = (values >= _inside(crit_hi, -crit_band)) | (values <= _inside(crit_lo, crit_band))
        warn = (values >= _inside(warn_hi, -warn_band)) | (values <= _inside(warn_lo, warn_band))
        return crit, warn


def _inside(limit: np.ndarray, band: np.ndarray) -> np.ndarray:
    """The limit moved by ``band`` (a signed fraction of its size, at least 1 unit)."""
    return limit + band * np.maximum(np.abs(limit), 1.0)
