"""Peer groups of channels: the same metric on siblings (GPUs of a node, nodes of a rack, racks
of a row, CDUs of a hall), the unit of common-mode removal (methods.md 2.6)."""

from __future__ import annotations

import numpy as np

from console.core.channels import ChannelRegistry
from console.core.rules import split_metric


def group_scope(kind: str, device: str, metric: str) -> str | None:
    """Where a channel's peers live: the node for GPU metrics, the rack for node metrics,
    the row for rack metrics, the hall for CDU metrics; None for stand-alone series."""
    gpu, base = split_metric(metric)
    parts = device.split("/")
    if kind == "node":
        scope = device if gpu is not None else "/".join(parts[:4])
    elif kind == "rack":
        scope = "/".join(parts[:3])
    elif kind == "cdu":
        scope = "/".join(parts[:2]) + "/cdu"
    else:
        return None
    return f"{scope}|{base}"


class Groups:
    """Group id per channel (-1: none) and group sizes; rebuilt when the registry changes."""

    def __init__(self) -> None:
        self.version = -1
        self.group_of = np.full(0, -1, dtype=np.int32)
        self.names: list[str] = []
        self.sizes = np.zeros(0, dtype=np.int32)
        self.members: list[list[int]] = []

    def refresh(self, registry: ChannelRegistry) -> bool:
        """Rebuild if channels were added; True when rebuilt."""
        if registry.version == self.version:
            return False
        self.version = registry.version
        count = len(registry)
        index: dict[str, int] = {}
        group_of = np.full(count, -1, dtype=np.int32)
        members: list[list[int]] = []
        for channel in range(count):
            device = int(registry.device_of[channel])
            kind, path = registry.device_kind[device], registry.devices[device]
            scope = group_scope(kind, path, registry.metrics[channel])
            if scope is None:
                continue
            number = index.setdefault(scope, len(index))
            if number == len(members):
                members.append([])
            members[number].append(channel)
            group_of[channel] = number
        self.group_of = group_of
        self.names = list(index)
        self.members = members
        self.sizes = np.array([len(m) for m in members], dtype=np.int32)
        return True
