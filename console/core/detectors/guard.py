"""Fleet common-mode guard: a recognised load step holds step-type rules for a while.

Job start/stop and checkpoints move hundreds of channels at once; per-channel temporal rules
must not read that as an anomaly (methods.md 5: raw robust z fired on every channel at job
start). Two signals open a hold (methods.md 6, L6): a load channel of the device (GPU power,
utilisation, rack power) jumps, or a large fraction of a peer group jumps together. While held,
deviation re-baselines and the forecast restarts its fit; static limits are never held.
"""

from __future__ import annotations

import numpy as np

from console.core.channels import grow
from console.core.config import GuardConfig


class CommonModeGuard:
    """Hold-until times per device and per peer group."""

    def __init__(self, config: GuardConfig) -> None:
        self.config = config
        self.device_until = np.zeros(0)
        self.group_until = np.zeros(0)

    def _fit(self, devices: int, groups: int) -> None:
        if self.device_until.shape[0] < devices:
            self.device_until = grow(self.device_until, max(devices, 2 * self.device_until.shape[0]), 0.0)
        if self.group_until.shape[0] != groups:
            self.group_until = np.zeros(groups)

    def update(
        self,
        now: float,
        fresh: np.ndarray,
        z: np.ndarray,
        load: np.ndarray,
        watched: np.ndarray,
        device_of: np.ndarray,
        group_of: np.ndarray,
        group_sizes: np.ndarray,
        devices: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Open holds from this evaluation's z; returns per channel (held by its device or its
        group, held by its device alone)."""
        cfg = self.config
        self._fit(devices, group_sizes.shape[0])
        absz = np.abs(np.nan_to_num(z, nan=0.0))
        stepped = fresh & load & (absz >= cfg.load_z)
        self.device_until[device_of[stepped]] = now + cfg.hold_s
        grouped = fresh & watched & (group_of >= 0)
        if group_sizes.size:
            jumping = np.bincount(
                group_of[grouped], weights=(absz[grouped] >= cfg.group_z), minlength=group_sizes.size
            )
            common = (group_sizes >= 3) & (jumping >= cfg.group_fraction * group_sizes)
            self.group_until[common] = now + cfg.hold_s
        # Compared once per device and group, then spread to channels as booleans; a channel in
        # no group (-1) reads the False appended after the last group.
        device_held = (self.device_until > now)[device_of]
        group_held = np.append(self.group_until > now, False)
        return device_held | group_held[group_of], device_held
