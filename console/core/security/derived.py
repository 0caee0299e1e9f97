"""Telemetry coverage derived from the live feed: can the operator still see the whole floor?

"Preserving visibility and control in deployment" needs a measure of visibility itself. The
wire carries it implicitly (../shared/spec/wire.md, "Payloads"): every device publishes on an
interval, announces itself with retained ``meta``/``status``, and numbers its messages with
``seq`` (a gap is a lost message; a step back or a new ``boot`` is a restart, not a loss).

Expected sources are the rack, node and CDU devices seen in retained meta or status, or ever
seen reporting, once they have had ``STALE_AFTER_S`` to report: a console that has just
connected, or a device just announced, is not "missing" yet. Security tooling is judged by its
own indicators' freshness, not here.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from sensors.messages import Decoded, Telemetry
from sensors.topics import TopicKind

FLEET_KINDS = frozenset({TopicKind.RACK, TopicKind.NODE, TopicKind.CDU})
STALE_AFTER_S = 30.0
"""A source silent this long is stale: three times the slowest interval of the wire (1-10 s)."""
GAP_WINDOW_S = 300.0
"""Lost messages are counted over this trailing window, so old losses stop counting."""

REPORTING_PCT = "telemetry_reporting_pct"
STALE_SOURCES = "stale_sources"
SEQ_GAPS = "seq_gaps"
DERIVED_NAMES = (REPORTING_PCT, STALE_SOURCES, SEQ_GAPS)


@dataclass(frozen=True, slots=True)
class Coverage:
    """The derived numbers at one instant."""

    expected: int
    reporting: int
    stale: int
    seq_gaps: int

    @property
    def reporting_pct(self) -> float:
        """Share of expected sources reporting within the freshness window; NaN if none expected."""
        return math.nan if self.expected == 0 else 100.0 * self.reporting / self.expected

    def value(self, name: str) -> float:
        """The derived indicator of that name; NaN for a name this module does not derive."""
        if name == REPORTING_PCT:
            return self.reporting_pct
        if name == STALE_SOURCES:
            return float(self.stale) if self.expected else math.nan
        if name == SEQ_GAPS:
            return float(self.seq_gaps) if self.expected else math.nan
        return math.nan


class TelemetryCoverage:
    """Follows which fleet sources report, and how many of their messages went missing."""

    def __init__(self, stale_after_s: float = STALE_AFTER_S, gap_window_s: float = GAP_WINDOW_S) -> None:
        self.stale_after_s = stale_after_s
        self.gap_window_s = gap_window_s
        self._first_seen: dict[str, float] = {}
        """Stream time each source was first seen (meta and status carry no time: see ``coverage``)."""
        self._announced: set[str] = set()
        self._last_ts: dict[str, float] = {}
        self._last_seq: dict[str, tuple[str | None, int]] = {}
        self._gaps: deque[tuple[float, int]] = deque()

    def ingest(self, message: Decoded) -> None:
        """Take any decoded message; only fleet telemetry, meta and status count."""
        if message.topic.kind not in FLEET_KINDS:
            return
        device = message.topic.device
        if isinstance(message, Telemetry):
            self._first_seen[device] = min(message.ts, self._first_seen.get(device, message.ts))
            self._telemetry(device, message)
        elif device not in self._first_seen:
            self._announced.add(device)

    def _telemetry(self, device: str, message: Telemetry) -> None:
        """Count lost messages: a seq jump within one boot. A step back within a named boot is a
        late (reordered) message and changes nothing; without ``boot`` it is a restart."""
        self._last_ts[device] = max(message.ts, self._last_ts.get(device, message.ts))
        previous = self._last_seq.get(device)
        if previous is not None and previous[0] == message.boot:
            if message.seq <= previous[1] and message.boot is not None:
                return
            missing = message.seq - previous[1] - 1
            if missing > 0:
                self._gaps.append((message.ts, missing))
        self._last_seq[device] = (message.boot, message.seq)

    def coverage(self, now: float) -> Coverage:
        """The derived numbers at stream time ``now``."""
        while self._gaps and self._gaps[0][0] < now - self.gap_window_s:
            self._gaps.popleft()
        for device in self._announced:
            self._first_seen.setdefault(device, now)
        self._announced.clear()
        reporting = stale = 0
        for device, first_seen in self._first_seen.items():
            if now - self._last_ts.get(device, -math.inf) <= self.stale_after_s:
                reporting += 1
            elif now - first_seen > self.stale_after_s:
                stale += 1
        return Coverage(
            expected=reporting + stale,
            reporting=reporting,
            stale=stale,
            seq_gaps=sum(missing for _, missing in self._gaps),
        )
