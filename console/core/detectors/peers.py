"""Peer-group deviation: a GPU against its node siblings, a rack against its row.

``r = x - median(peers) - offset`` with a slowly learned per-member offset (position effects:
GPU 0 always runs warmer), scaled by the peers' MAD with a floor (methods.md 2.6, Bolton & Hand
2001). A job that starts on every sibling is common-mode: the residual stays flat. GPU groups
whose utilisations spread wider than ``load_spread_pct`` (partial-node jobs) are not compared.
Groups are padded into (groups, size) matrices per size so the median is one ``np.sort``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from console.core.channels import ChannelRegistry, grow
from console.core.config import PeerConfig
from console.core.detectors.robust import MAD_TO_SIGMA
from console.core.groups import Groups
from console.core.rules import matches, split_metric


@dataclass(slots=True)
class _Block:
    members: np.ndarray
    """(groups, size) channel indices."""
    load: np.ndarray | None
    """(groups, size) utilisation channel of each member, -1 where none; None: no load gate."""


def _nan_median(sorted_rows: np.ndarray) -> np.ndarray:
    """Row medians of NaN-last sorted rows, ignoring NaN."""
    count = (~np.isnan(sorted_rows)).sum(axis=1)
    low = np.clip((count - 1) // 2, 0, None)
    high = np.clip(count // 2, 0, sorted_rows.shape[1] - 1)
    rows = np.arange(sorted_rows.shape[0])
    median = 0.5 * (sorted_rows[rows, low] + sorted_rows[rows, high])
    median[count == 0] = np.nan
    return median


class PeerDetector:
    """Peer residual z per channel (NaN where the channel has no comparable peers)."""

    def __init__(self, capacity: int, config: PeerConfig) -> None:
        self.config = config
        self.offset = np.zeros(capacity, dtype=np.float32)
        self.samples = np.zeros(capacity, dtype=np.int32)
        self.z = np.full(capacity, np.nan, dtype=np.float32)
        self.blocks: list[_Block] = []
        self.last_now = math.nan

    def resize(self, capacity: int) -> None:
        self.offset = grow(self.offset, capacity, 0.0)
        self.samples = grow(self.samples, capacity, 0)
        self.z = grow(self.z, capacity, np.nan)

    def rebuild(self, registry: ChannelRegistry, groups: Groups) -> None:
        by_size: dict[int, list[list[int]]] = {}
        loads: dict[int, list[list[int]]] = {}
        for name, members in zip(groups.names, groups.members, strict=True):
            metric = name.rpartition("|")[2]
            if len(members) < self.config.min_group or not matches(metric, self.config.metrics):
                continue
            by_size.setdefault(len(members), []).append(members)
            load_row = []
            for channel in members:
                gpu, _ = split_metric(registry.metrics[channel])
                key = f"{registry.device_path(channel)}/gpu{gpu}/util_pct" if gpu is not None else ""
                load_row.append(registry.index.get(key, -1))
            loads.setdefault(len(members), []).append(load_row)
        self.blocks = []
        for size, rows in by_size.items():
            load = np.array(loads[size], dtype=np.intp)
            self.blocks.append(_Block(np.array(rows, dtype=np.intp), None if (load < 0).all() else load))

    def evaluate(self, now: float, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Update offsets and return z for every channel (NaN: not compared)."""
        cfg = self.config
        dt = 1.0 if math.isnan(self.last_now) else max(now - self.last_now, 0.0)
        self.last_now = now
        alpha = np.float32(1.0 - math.exp(-dt / cfg.offset_tau_s))
        z_all = self.z
        z_all[:] = np.nan
        for block in self.blocks:
            members = block.members
            current = np.where(valid[members], values[members], np.nan).astype(np.float32)
            median = _nan_median(np.sort(current, axis=1))
            residual = current - median[:, None]
            offset = self.offset[members]
            samples = self.samples[members]
            known_residual = np.nan_to_num(residual)
            offset = np.where(samples == 0, known_residual, offset)
            adjusted = residual - offset
            mad = _nan_median(np.sort(np.abs(adjusted), axis=1))
            scale = np.maximum(np.float32(MAD_TO_SIGMA) * mad, np.float32(cfg.floor))
            if block.load is not None:
                util = np.where(block.load >= 0, values[np.maximum(block.load, 0)], np.nan)
                with np.errstate(invalid="ignore"):
                    spread = np.fmax.reduce(util, axis=1) - np.fmin.reduce(util, axis=1)  # NaN-skipping
                scale[~(spread <= cfg.load_spread_pct) & ~np.isnan(spread)] = np.nan
            have = ~np.isnan(residual)
            z = adjusted / scale[:, None]
            learn = have & ~(np.abs(np.nan_to_num(z)) >= cfg.z_exit)
            rate = np.maximum(alpha, 1.0 / (samples + 1).astype(np.float32))
            offset = np.where(learn, offset + rate * (known_residual - offset), offset)
            self.offset[members] = offset
            self.samples[members] = samples + have
            warm = samples * max(dt, 1e-3) >= cfg.warmup_s
            z_all[members] = np.where(warm, z, np.nan)
        return z_all[: values.shape[0]]


def peer_level(z: np.ndarray, active: np.ndarray, z_enter: float, z_exit: float) -> np.ndarray:
    """1 where a member runs hotter than its peers by the entry z (exit z while raised)."""
    threshold = np.where(active > 0, np.float32(z_exit), np.float32(z_enter))
    with np.errstate(invalid="ignore"):
        level = (z >= threshold).astype(np.int8)
    level[np.isnan(z)] = -1
    return level
