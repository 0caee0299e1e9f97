"""Which part of the campus one analyzer scores: topic filters, optionally as a shared subscription.

Every channel must stay on one analyzer: rate, trend, flatline, stale and seq detectors need a
channel's whole series, and peer groups (GPUs of a node, nodes of a rack, racks of a row, CDUs of
a hall) need all members. So partitions are whole rows or halls (docs/scale-out.md). A shared
subscription ``$share/<group>/<filter>`` only keeps that promise on a broker that routes by topic
hash (EMQX ``hash_topic``); Mosquitto's ``$share`` is round-robin (../shared/mqtt.md section 3b).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sensors.mqtt_source import check_filter

NAME = re.compile(r"[A-Za-z0-9_-]+\Z")


def shared_filter(group: str, topic_filter: str) -> str:
    """``$share/<group>/<filter>`` (MQTT 5 section 4.8.2; Mosquitto serves it over 3.1.1 too).

    The group is one plain name."""
    if not NAME.match(group):
        raise ValueError(f"shared group {group!r} must be [A-Za-z0-9_-]+ (no '/', '+', '#' or ':')")
    return f"$share/{group}/{check_filter(topic_filter)}"


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches an MQTT topic filter (``+`` one level, ``#`` the rest)."""
    levels = topic.split("/")
    for index, part in enumerate(topic_filter.split("/")):
        if part == "#":
            return True
        if index >= len(levels) or (part != "+" and part != levels[index]):
            return False
    return len(levels) == len(topic_filter.split("/"))


def default_name(filters: Sequence[str]) -> str:
    """A partition name from its filters: ``dc/s1/h1/r01/#`` -> ``s1-h1-r01``; ``all`` for ``dc/#``."""
    stems = []
    for topic_filter in filters:
        parts = [p for p in topic_filter.split("/")[1:] if p not in ("#", "+")]
        stems.append("-".join(parts))
    name = "_".join(s for s in stems if s) or "all"
    name = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    return name[:64]


@dataclass(frozen=True, slots=True)
class Partition:
    """An analyzer's share of the stream: a name for its outputs, its filters, an optional group."""

    name: str
    filters: tuple[str, ...]
    shared_group: str | None = None

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"partition name {self.name!r} must be [A-Za-z0-9_-]+")
        if not self.filters:
            raise ValueError("a partition needs at least one topic filter")
        for topic_filter in self.filters:
            check_filter(topic_filter)
            if topic_filter.startswith("$share/"):
                raise ValueError(f"give the plain filter, not {topic_filter!r}: --shared-group adds $share")
        if self.shared_group is not None:
            shared_filter(self.shared_group, self.filters[0])

    @classmethod
    def of(
        cls, filters: Sequence[str], name: str | None = None, shared_group: str | None = None
    ) -> Partition:
        return cls(name or default_name(filters), tuple(filters), shared_group)

    def subscriptions(self) -> list[str]:
        """The filters to subscribe to: plain, or wrapped as ``$share/<group>/...``."""
        if self.shared_group is None:
            return list(self.filters)
        return [shared_filter(self.shared_group, f) for f in self.filters]

    def covers(self, topic: str) -> bool:
        """Whether a topic falls in this partition's filters (static partitions)."""
        return any(topic_matches(f, topic) for f in self.filters)
