"""Preallocated float32 ring buffers of recent values, one column per channel.

Time is cut into slots of ``step_s`` (1 s by default) and the ring holds the last
``window_s / step_s`` slots (15 minutes by default), shape (slots, channels) so that one batch of
readings lands in one or two contiguous rows. A slot nobody wrote is NaN: missing data stays
visible as a gap. Memory is slots x channels x 4 bytes (180 MB for 50,000 channels at 15 min
and 1 s: shorten the window or widen the step for larger fleets). The ring is most of the engine's
memory, so it does not follow the registry's capacity doubling (which left a 50,000-channel hall
with 65,536 columns, 4.7 KB per channel): columns are added as channels first report, in steps of
at least a quarter, rounded to ``COLUMN_BLOCK`` (bench/memory.py).
"""

from __future__ import annotations

import math

import numpy as np

from console.core.channels import grow

COLUMN_BLOCK = 1024
GROWTH = 1.25


class History:
    """Ring buffer of the last ``window_s`` of every channel."""

    def __init__(self, capacity: int, window_s: float = 900.0, step_s: float = 1.0) -> None:
        self.step_s = step_s
        self.slots = max(2, math.ceil(window_s / step_s))
        self.values = np.full((self.slots, capacity), np.nan, dtype=np.float32)
        self.slot_number = np.full(self.slots, -1, dtype=np.int64)
        """Absolute slot number held by each row (-1: never written)."""
        self.newest = -1

    def resize(self, capacity: int) -> None:
        """The registry grew: nothing to do yet, ``write`` adds columns when new channels report."""

    def _widen(self, needed: int) -> None:
        columns = max(needed, int(self.values.shape[1] * GROWTH))
        self.values = grow(self.values, -(-columns // COLUMN_BLOCK) * COLUMN_BLOCK, np.nan)

    def write(self, ts: np.ndarray, channels: np.ndarray, values: np.ndarray) -> None:
        """Store a batch of readings (one vectorized scatter); readings older than the window are dropped."""
        if channels.size == 0:
            return
        needed = int(channels.max()) + 1
        if needed > self.values.shape[1]:
            self._widen(needed)
        slots = np.floor(ts / self.step_s).astype(np.int64)
        newest = int(slots.max())
        if newest > self.newest:
            self._advance(newest)
        if newest == int(slots.min()):
            # The usual batch (one second of a stream): one row, a 1-D scatter into it.
            if newest > self.newest - self.slots:
                self.values[newest % self.slots, channels] = values
            return
        keep = slots > self.newest - self.slots
        if not keep.all():
            slots, channels, values = slots[keep], channels[keep], values[keep]
        self.values[slots % self.slots, channels] = values

    def _advance(self, newest: int) -> None:
        first = max(self.newest + 1, newest - self.slots + 1)
        new_slots = np.arange(first, newest + 1, dtype=np.int64)
        rows = new_slots % self.slots
        self.values[rows] = np.nan
        self.slot_number[rows] = new_slots
        self.newest = newest

    def series(self, channel: int) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps, values) of one channel, oldest first, gaps left out."""
        if self.newest < 0 or channel >= self.values.shape[1]:
            return np.empty(0), np.empty(0, dtype=np.float32)
        numbers = np.arange(self.newest - self.slots + 1, self.newest + 1, dtype=np.int64)
        rows = numbers % self.slots
        values = self.values[rows, channel]
        valid = (self.slot_number[rows] == numbers) & ~np.isnan(values)
        return numbers[valid] * self.step_s, values[valid].copy()
