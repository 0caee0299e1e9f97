"""From raw messages to stored readings: decode, de-duplicate, observe event rules, one scatter.

The per-message work is a decode, de-duplication and a (device, metric layout) dict lookup; the
readings of a call are converted in one numpy call and written with one vectorized scatter.
Duplicates are QoS 1 redeliveries: the same (topic, boot, seq) seen again (wire.md "Payloads").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import compress
from typing import TYPE_CHECKING

import numpy as np

from console.core.detectors.events import CRITICAL_THROTTLE, FATAL_XIDS, WARNING_THROTTLE
from console.core.snapshot import EventView
from sensors.codec import Decoder
from sensors.messages import Event, Meta, RawMessage, Rejected, Status, Telemetry
from sensors.sanitize import sanitize_text
from sensors.topics import TopicKind

if TYPE_CHECKING:
    from console.core.engine import Engine

SEEN_KEPT = 512
"""Recent seq numbers remembered per publisher for de-duplication."""
CLOCK_AHEAD_S = 600.0
CLOCK_BEHIND_S = 3600.0
"""A sample whose (sample time - receive time) lies further than this ahead of (behind) the
stream's usual offset comes from a wrong clock: stored, it would move stream time or land outside
the history window. Refused as ``clock_skew``. The usual offset is learned from the stream, so a
simulator publishing a fixed past epoch live is not skewed; only departures from it are."""
CLOCK_RESET_AFTER = 100
"""This many skewed messages in a row mean the whole stream's clock moved: adopt the new offset."""
CLOCK_SKEW = "clock_skew"
NON_FINITE = "non_finite"
"""Also counted here: a finite double too large for the float32 store (it would read as inf)."""


@dataclass(slots=True)
class _Sequence:
    boot: str
    last: int
    seen: set[int] = field(default_factory=set)


class MessageIngest:
    """Counts and state of the ingest side of an engine."""

    def __init__(self, engine: Engine, decoder: Decoder) -> None:
        self.engine = engine
        self.decoder = decoder
        self.received = 0
        self.decoded = 0
        self.duplicates = 0
        self.dropped = 0
        """Readings refused because their device exceeded its channel cap."""
        self.refused: dict[str, int] = {}
        """Messages the codec accepted but the store refuses, by reason (merged into rejects)."""
        self._offset = math.nan
        self._skewed_run = 0
        self.messages_per_second = 0.0
        self._since_tick = 0
        self._last_tick = math.nan
        self._sequences: dict[str, _Sequence] = {}
        self._throttling: dict[str, set[int]] = {}

    def ingest(self, messages: Iterable[RawMessage]) -> None:
        with np.errstate(over="ignore"):  # a double past float32 becomes inf, then refused in _flush
            self._ingest(messages)

    def _ingest(self, messages: Iterable[RawMessage]) -> None:
        engine = self.engine
        registry = engine.registry
        decode = self.decoder.decode
        channels: list[np.ndarray] = []
        readings: list[float] = []  # every reading of the call in channel order: one conversion
        times: list[float] = []
        devices: list[int] = []
        for message in messages:
            self.received += 1
            self._since_tick += 1
            decoded = decode(message)
            if isinstance(decoded, Telemetry):
                self.decoded += 1
                topic = decoded.topic
                device = topic.device
                if not self._accept(device, decoded.boot, decoded.seq, decoded.ts):
                    self.duplicates += 1
                    continue
                if self._skewed(decoded.ts - message.received):
                    self._refuse(CLOCK_SKEW)
                    continue
                engine.security.ingest(decoded)
                kind = str(topic.kind)
                names = decoded.names
                indices = registry.layout(device, kind, names)
                if indices.size == len(names):
                    readings.extend(decoded.readings)
                else:
                    readings.extend(compress(decoded.readings, registry.kept(device, names)))
                    self.dropped += len(names) - indices.size
                channels.append(indices)
                times.append(decoded.ts)
                devices.append(registry.device(device, kind))
                if decoded.xid:
                    self._xids(device, decoded.xid, decoded.ts)
                if topic.kind is TopicKind.NODE:
                    self._throttle(device, decoded.throttle, decoded.ts)
            elif isinstance(decoded, Rejected):
                continue
            elif isinstance(decoded, Meta):
                self.decoded += 1
                engine.security.ingest(decoded)
                registry.device(decoded.topic.device, str(decoded.topic.kind))
                engine.apply_meta(decoded.topic.device, decoded.facts)
            elif isinstance(decoded, Status):
                self.decoded += 1
                engine.security.ingest(decoded)
                number = registry.device(decoded.topic.device, str(decoded.topic.kind))
                engine.stale.set_offline(number, not decoded.online, len(registry.devices))
            else:
                self.decoded += 1
                self._event(decoded)
        if channels:
            stored = np.fromiter(readings, dtype=np.float32, count=len(readings))
            self._flush(channels, stored, times, devices)

    def ingest_values(self, ts: float, row: Mapping[str, float], device: str = "") -> None:
        registry = self.engine.registry
        indices = registry.layout(device, "csv", row)
        values = np.fromiter(row.values(), dtype=np.float32, count=len(row))
        if indices.size != values.size:
            values = values[registry.kept(device, row)]
            self.dropped += len(row) - indices.size
        self.received += 1
        self.decoded += 1
        self._since_tick += 1
        self._flush([indices], values, [ts], [registry.device(device, "csv")])

    def _skewed(self, offset: float) -> bool:
        """True when a sample's clock offset departs from the stream's usual one (see CLOCK_*)."""
        if math.isnan(self._offset):
            self._offset = offset
        departure = offset - self._offset
        if -CLOCK_BEHIND_S <= departure <= CLOCK_AHEAD_S:
            self._offset += 0.01 * departure
            self._skewed_run = 0
            return False
        self._skewed_run += 1
        if self._skewed_run >= CLOCK_RESET_AFTER:
            self._offset = offset
            self._skewed_run = 0
            return False
        return True

    def _refuse(self, reason: str, count: int = 1) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + count
        self.decoded -= count

    def _flush(
        self, channels: list[np.ndarray], readings: np.ndarray, times: list[float], devices: list[int]
    ) -> None:
        """Store one call's readings: ``channels`` per message, ``readings`` all of them in order."""
        engine = self.engine
        sizes = np.fromiter((c.size for c in channels), dtype=np.intp, count=len(channels))
        stamps = np.asarray(times, dtype=np.float64)
        indices = np.concatenate(channels)
        device_numbers = np.asarray(devices, dtype=np.intp)
        overflow = np.isinf(readings)
        if overflow.any():
            owner = np.repeat(np.arange(len(channels)), sizes)
            bad = np.zeros(len(channels), dtype=bool)
            bad[owner[overflow]] = True
            keep = ~bad[owner]
            self._refuse(NON_FINITE, int(bad.sum()))
            indices, readings = indices[keep], readings[keep]
            sizes, stamps, device_numbers = sizes[~bad], stamps[~bad], device_numbers[~bad]
            if not stamps.size:
                return
        engine.store(indices, readings, np.repeat(stamps, sizes))
        engine.stale.seen(device_numbers, stamps, len(engine.registry.devices))

    def _accept(self, device: str, boot: str | None, seq: int, ts: float, watch: bool = True) -> bool:
        """False for a duplicate; observes gaps and restarts for the ``seq`` rule when ``watch``."""
        boot = boot or ""
        state = self._sequences.get(device)
        if state is None:
            self._sequences[device] = _Sequence(boot, seq, {seq})
            return True
        if boot != state.boot:
            self._observe_seq(watch, device, float(seq), "publisher restarted (new boot)", ts)
            self._sequences[device] = _Sequence(boot, seq, {seq})
            return True
        if seq in state.seen:
            return False
        if seq > state.last + 1:
            lost = seq - state.last - 1
            gap = f"{lost} messages lost (seq {state.last} -> {seq})"
            self._observe_seq(watch, device, float(lost), gap, ts)
        elif seq < state.last and not boot:
            restart = f"publisher restarted (seq {state.last} -> {seq})"
            self._observe_seq(watch, device, float(seq), restart, ts)
            self._sequences[device] = _Sequence(boot, seq, {seq})
            return True
        state.last = max(state.last, seq)
        state.seen.add(seq)
        if len(state.seen) > SEEN_KEPT:
            state.seen = {s for s in state.seen if s > state.last - SEEN_KEPT // 2}
        return True

    def _observe_seq(self, watch: bool, device: str, value: float, message: str, ts: float) -> None:
        """A gap or restart for the ``seq`` rule; not watched where gaps mean nothing (events)."""
        if watch:
            self.engine.sparse["seq"].observe(f"{device}/seq", 1, value, message, ts)

    def _xids(self, device: str, xids: tuple[tuple[int, int], ...], ts: float) -> None:
        rule = self.engine.sparse["xid"]
        for gpu, code in xids:
            level = 2 if code in FATAL_XIDS else 1
            kind = "fatal" if level == 2 else "non-fatal"
            rule.observe(f"{device}/gpu{gpu}/xid", level, float(code), f"XID {code} ({kind})", ts)

    def _throttle(self, device: str, reasons: tuple[tuple[int, str], ...], ts: float) -> None:
        previous = self._throttling.get(device)
        if not reasons and not previous:
            return
        rule = self.engine.sparse["throttle"]
        active: dict[int, set[str]] = {}
        for gpu, reason in reasons:
            active.setdefault(gpu, set()).add(reason)
        now_throttling: set[int] = set()
        for gpu, names in active.items():
            level = 2 if names & CRITICAL_THROTTLE else 1 if names & WARNING_THROTTLE else 0
            if level:
                now_throttling.add(gpu)
                shown = ", ".join(sorted(names))
                message = f"clocks throttled: {shown}"
                rule.observe(f"{device}/gpu{gpu}/throttle", level, float(level), message, ts)
        for gpu in (previous or set()) - now_throttling:
            rule.observe(f"{device}/gpu{gpu}/throttle", 0, 0.0, "", ts)
        self._throttling[device] = now_throttling

    def _event(self, event: Event) -> None:
        seen = event.seq is None or self._accept(
            f"{event.topic.device}|{event.boot}", event.boot, event.seq, event.ts, watch=False
        )
        if not seen:
            self.duplicates += 1
            return
        self.engine.security.ingest(event)
        self.engine.events.append(
            EventView(
                ts=event.ts,
                site=sanitize_text(event.topic.site),
                kind=sanitize_text(event.kind),
                severity=sanitize_text(event.severity),
                where=sanitize_text(event.where),
                detail=sanitize_text(event.detail),
            )
        )

    def tick(self, now: float) -> None:
        """Update the message rate once per evaluation (stream time)."""
        if not math.isnan(self._last_tick) and now > self._last_tick:
            rate = self._since_tick / (now - self._last_tick)
            self.messages_per_second += 0.2 * (rate - self.messages_per_second)
            self._since_tick = 0
        if math.isnan(self._last_tick) or now > self._last_tick:
            self._last_tick = now
