"""Channel registry: channel key -> array index, and the device/rack/row each channel belongs to.

Every per-channel state in the core is a numpy array indexed by the registry's index. A
node's payload always carries the same metrics in the same order, so the (device, metric
tuple) layout is mapped to an index array once and cached: ingesting a message is then one
dict lookup, not one per reading. Capacity grows by doubling; components that hold
per-channel arrays subscribe to ``on_resize``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from console.core.rules import split_metric

INITIAL_CAPACITY = 1024
MAX_CHANNELS_PER_DEVICE = 2048
"""A device announcing more metrics than this is hostile or broken: further ones are refused."""
MAX_LAYOUTS = 100_000
"""The layout cache is dropped and rebuilt past this many layouts (bounded memory)."""


def grow(array: np.ndarray, capacity: int, fill: float | int) -> np.ndarray:
    """A copy of ``array`` extended to ``capacity`` along axis 0 (or -1 for 2-D), padded with fill."""
    if array.ndim == 1:
        out = np.full(capacity, fill, dtype=array.dtype)
        out[: array.shape[0]] = array
        return out
    out = np.full((array.shape[0], capacity), fill, dtype=array.dtype)
    out[:, : array.shape[1]] = array
    return out


def as_slice(channels: np.ndarray) -> np.ndarray | slice:
    """A sorted, unique index array as a slice when it is one contiguous run (the usual case
    when every channel reported this tick): slicing makes views, fancy indexing makes copies."""
    if channels.size and int(channels[-1]) - int(channels[0]) + 1 == channels.size:
        return slice(int(channels[0]), int(channels[-1]) + 1)
    return channels


def device_place(kind: str, device: str) -> tuple[str, str]:
    """(rack path, row path) of a device; empty where it has none (CDU, security, CSV column)."""
    parts = device.split("/")
    if kind in ("rack", "node") and len(parts) >= 4:
        return "/".join(parts[:4]), "/".join(parts[:3])
    return "", ""


class ChannelRegistry:
    """Keys, devices and their indices; grows as new channels appear."""

    def __init__(self, capacity: int = INITIAL_CAPACITY) -> None:
        self.capacity = capacity
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.metrics: list[str] = []
        self.device_of = np.zeros(capacity, dtype=np.int32)
        self.gpu_of = np.full(capacity, -1, dtype=np.int16)
        self.devices: list[str] = []
        self.device_index: dict[str, int] = {}
        self.device_kind: list[str] = []
        self.device_rack: list[str] = []
        self.device_row: list[str] = []
        self.device_channels: list[list[int]] = []
        self.version = 0
        """Bumped whenever channels are added: group structures rebuild when it changes."""
        self._layouts: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        self._kept: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        self._resize_listeners: list[Callable[[int], None]] = []
        self._add_listeners: list[Callable[[np.ndarray], None]] = []

    def __len__(self) -> int:
        return len(self.keys)

    def on_resize(self, listener: Callable[[int], None]) -> None:
        self._resize_listeners.append(listener)

    def on_add(self, listener: Callable[[np.ndarray], None]) -> None:
        """Called with the indices of newly added channels (after any resize)."""
        self._add_listeners.append(listener)

    def device(self, path: str, kind: str) -> int:
        """Index of a device, registering it on first sight."""
        found = self.device_index.get(path)
        if found is not None:
            return found
        number = len(self.devices)
        self.devices.append(path)
        self.device_index[path] = number
        self.device_kind.append(kind)
        rack, row = device_place(kind, path)
        self.device_rack.append(rack)
        self.device_row.append(row)
        self.device_channels.append([])
        return number

    def layout(self, device: str, kind: str, metrics: Sequence[str]) -> np.ndarray:
        """Indices of a device's metrics in payload order (cached per layout).

        Metrics refused by the per-device cap are left out: then the result is shorter than
        ``metrics`` and ``kept(device, metrics)`` says which readings it keeps.
        """
        names = tuple(metrics)
        found = self._layouts.get((device, names))
        if found is not None:
            return found
        if len(self._layouts) >= MAX_LAYOUTS:
            self._layouts.clear()
            self._kept.clear()
        number = self.device(device, kind)
        found_channels = []
        keep = []
        for metric in names:
            key = f"{device}/{metric}" if device else metric
            channel = self.index.get(key)
            if channel is None and len(self.device_channels[number]) < MAX_CHANNELS_PER_DEVICE:
                channel = self._add(key, number, metric)
            keep.append(channel is not None)
            if channel is not None:
                found_channels.append(channel)
        indices = np.array(found_channels, dtype=np.intp)
        self._layouts[(device, names)] = indices
        if not all(keep):
            self._kept[(device, names)] = np.array(keep, dtype=bool)
        return indices

    def kept(self, device: str, metrics: Sequence[str]) -> np.ndarray:
        """Which readings of a layout have a channel (all, unless the device hit its cap)."""
        return self._kept[(device, tuple(metrics))]

    def channel(self, device: str, kind: str, metric: str) -> int:
        """Index of one channel, registering it (and its device) on first sight."""
        key = f"{device}/{metric}" if device else metric
        found = self.index.get(key)
        if found is not None:
            return found
        return self._add(key, self.device(device, kind), metric)

    def _add(self, key: str, device: int, metric: str) -> int:
        number = len(self.keys)
        if number >= self.capacity:
            self._grow(self.capacity * 2)
        self.keys.append(key)
        self.index[key] = number
        self.metrics.append(metric)
        self.device_of[number] = device
        gpu, _ = split_metric(metric)
        self.gpu_of[number] = -1 if gpu is None else gpu
        self.device_channels[device].append(number)
        self.version += 1
        for listener in self._add_listeners:
            listener(np.array([number], dtype=np.intp))
        return number

    def _grow(self, capacity: int) -> None:
        self.capacity = capacity
        self.device_of = grow(self.device_of, capacity, 0)
        self.gpu_of = grow(self.gpu_of, capacity, -1)
        for listener in self._resize_listeners:
            listener(capacity)

    def kind_of(self, channel: int) -> str:
        return self.device_kind[int(self.device_of[channel])]

    def device_path(self, channel: int) -> str:
        return self.devices[int(self.device_of[channel])]
