"""Topic names of the wire contract (../shared/spec/wire.md, "Topics"): build and parse them.

A parsed topic gives its kind and its device path: the topic after the prefix, which is also
the start of every channel key of that device (``s1/h1/r01/rk01/rack/inlet_temp_c``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_PREFIX = "dc"
SEGMENT = re.compile(r"[A-Za-z0-9_-]+\Z")


class TopicKind(StrEnum):
    """What a topic carries."""

    RACK = "rack"
    NODE = "node"
    CDU = "cdu"
    SECURITY = "security"
    EVENTS = "events"


class TopicRole(StrEnum):
    """Whether a topic is the device's data, its retained meta, or its retained status."""

    DATA = "data"
    META = "meta"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic of the contract, parsed."""

    kind: TopicKind
    role: TopicRole
    device: str
    """The device's path after the prefix, e.g. ``s1/h1/r01/rk01/node/n3``."""
    site: str

    @property
    def location(self) -> tuple[str, ...]:
        """Site, hall, row, rack where the kind has them (shorter for CDU, security, events)."""
        parts = self.device.split("/")
        if self.kind in (TopicKind.RACK, TopicKind.NODE):
            return tuple(parts[:4])
        if self.kind is TopicKind.CDU:
            return tuple(parts[:2])
        return (parts[0],)


def _device_kind(parts: list[str]) -> TopicKind | None:
    """The kind of a device path (segments after the prefix), or None."""
    count = len(parts)
    if count == 5 and parts[4] == "rack":
        return TopicKind.RACK
    if count == 6 and parts[4] == "node":
        return TopicKind.NODE
    if count == 4 and parts[2] == "cdu":
        return TopicKind.CDU
    if count == 3 and parts[1] == "security":
        return TopicKind.SECURITY
    if count == 2 and parts[1] == "events":
        return TopicKind.EVENTS
    return None


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> Topic | None:
    """Parse a topic of the contract; None for anything else (wrong prefix, bad segment)."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != prefix:
        return None
    parts = parts[1:]
    if not all(SEGMENT.match(part) for part in parts):
        return None
    kind = _device_kind(parts)
    role = TopicRole.DATA
    if kind is None and parts[-1] in ("meta", "status"):
        kind = _device_kind(parts[:-1])
        role = TopicRole(parts[-1])
        parts = parts[:-1]
    if kind is None or (kind is TopicKind.EVENTS and role is not TopicRole.DATA):
        return None
    return Topic(kind=kind, role=role, device="/".join(parts), site=parts[0])


def _checked(*segments: str) -> str:
    for segment in segments:
        if not SEGMENT.match(segment):
            raise ValueError(f"topic segment {segment!r} is not [A-Za-z0-9_-]+")
    return "/".join(segments)


def rack_topic(site: str, hall: str, row: str, rack: str, prefix: str = DEFAULT_PREFIX) -> str:
    return _checked(prefix, site, hall, row, rack, "rack")


def node_topic(
    site: str, hall: str, row: str, rack: str, node: str, prefix: str = DEFAULT_PREFIX
) -> str:
    return _checked(prefix, site, hall, row, rack, "node", node)


def cdu_topic(site: str, hall: str, cdu: str, prefix: str = DEFAULT_PREFIX) -> str:
    return _checked(prefix, site, hall, "cdu", cdu)


def security_topic(site: str, control: str, prefix: str = DEFAULT_PREFIX) -> str:
    return _checked(prefix, site, "security", control)


def events_topic(site: str, prefix: str = DEFAULT_PREFIX) -> str:
    return _checked(prefix, site, "events")


def meta_topic(device_topic: str) -> str:
    return f"{device_topic}/meta"


def status_topic(device_topic: str) -> str:
    return f"{device_topic}/status"


def device_of_key(key: str) -> str:
    """The device path of a channel key (the key without its metric and GPU parts)."""
    parts = key.split("/")
    if len(parts) >= 2 and parts[-2].startswith("gpu") and parts[-2][3:].isdigit():
        return "/".join(parts[:-2])
    return "/".join(parts[:-1])
