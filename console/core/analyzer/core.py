"""The analyze step without I/O: raw batches in, publications out, on stream time.

Messages are grouped by the second of their sample time (``ts`` in the payload): when a message
of a later second arrives, everything before it is ingested in one batch and the engine is
evaluated at the newest sample time, once per second of stream time, as ``scan`` does. So the
transitions depend on the stream, not on how the broker happened to batch it: two analyzers on
two partitions report exactly what one analyzer reports on both (tests/test_analyzer_partitions.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from console.core.alert_book import alert_id
from console.core.analyzer.restore import seed_alert
from console.core.analyzer.wire_out import OutTopics, Publication, StoredAlert
from console.core.engine import Engine
from console.core.snapshot import AlertState, AlertTransition, Severity
from console.core.views import build_snapshot
from sensors.messages import RawMessage

SAMPLE_TIME = re.compile(rb'"ts"\s*:\s*(-?[0-9][0-9.eE+-]*)')
PENDING_LIMIT = 100_000
"""Messages held for one second of stream time before they are evaluated anyway (a stream of
messages without ``ts``, or one publisher's clock far ahead, must not hold everything back)."""
RESTORE_GRACE_S = 600.0
"""Stream seconds a restored alert waits for its subject to report before it is cleared."""


def sample_time(payload: bytes) -> float | None:
    """The ``ts`` of a wire payload, found without a full decode; None where there is none."""
    found = SAMPLE_TIME.search(payload)
    if found is None:
        return None
    try:
        value = float(found.group(1))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _rank(severity: Severity) -> int:
    return 2 if severity is Severity.CRITICAL else 1


@dataclass(slots=True)
class AnalyzerStats:
    messages: int = 0
    evaluations: int = 0
    raised: int = 0
    cleared: int = 0
    suppressed: int = 0
    """Raises not reported because the retained state already says so (after a restart)."""
    restored: int = 0
    rollups: int = 0


class AnalyzerCore:
    """One partition's engine, its stream clock, and what it has published."""

    def __init__(
        self,
        engine: Engine,
        partition: str,
        out: OutTopics,
        rollup_every_s: float = 5.0,
        restore_grace_s: float = RESTORE_GRACE_S,
    ) -> None:
        self.engine = engine
        self.partition = partition
        self.out = out
        self.rollup_every_s = rollup_every_s
        self.restore_grace_s = restore_grace_s
        self.stats = AnalyzerStats()
        self.evaluated_until = math.nan
        """Stream time of the last evaluation."""
        self._pending: list[RawMessage] = []
        self._open_second: int | None = None
        self._published: dict[str, Severity] = {}
        """Alerts whose retained state this analyzer holds, with their severity."""
        self._unseeded: dict[str, StoredAlert] = {}
        self._restore_deadline = math.nan
        self._last_rollup = -math.inf

    # -- restore -------------------------------------------------------------------------
    def restore(self, alerts: Iterable[StoredAlert]) -> int:
        """Load retained alerts of this partition as already raised; returns how many."""
        book = self.engine.alerts
        count = 0
        for alert in alerts:
            if alert.partition != self.partition:
                continue
            book.apply([AlertTransition(alert.raised_at, alert.key, "raised", alert.severity, alert.rule,
                                        alert.value, alert.message)])
            if alert.state is AlertState.ACKNOWLEDGED:
                book.acknowledge(alert.id, now=alert.updated_at)
            self._published[alert.id] = alert.severity
            self._unseeded[alert.id] = alert
            count += 1
        self.stats.restored += count
        return count

    # -- stream --------------------------------------------------------------------------
    def feed(self, batch: Iterable[RawMessage]) -> list[Publication]:
        """Take messages in arrival order; evaluates each second of stream time as it closes."""
        out: list[Publication] = []
        for message in batch:
            self.stats.messages += 1
            ts = sample_time(message.payload)
            if ts is not None:
                second = math.floor(ts)
                if self._open_second is None:
                    self._open_second = second
                elif second > self._open_second:
                    out.extend(self.flush())
                    self._open_second = second
            self._pending.append(message)
            if len(self._pending) >= PENDING_LIMIT:
                out.extend(self.flush())
        return out

    def flush(self) -> list[Publication]:
        """Ingest and evaluate what is pending (a closed second, an idle stream, the end)."""
        if not self._pending:
            return []
        engine = self.engine
        engine.ingest(self._pending)
        self._pending = []
        now = engine.stream_time
        if now <= 0:
            return []
        self._seed(now)
        out = self._report(engine.evaluate(now))
        self.stats.evaluations += 1
        self.evaluated_until = now
        out.extend(self._expire_restored(now))
        if now - self._last_rollup >= self.rollup_every_s:
            out.extend(self.rollups())
        return out

    def rollups(self) -> list[Publication]:
        engine = self.engine
        self._last_rollup = engine.now
        racks = build_snapshot(engine, ()).racks
        self.stats.rollups += 1
        return self.out.rollups(engine.now, racks, self.partition)

    # -- reporting -----------------------------------------------------------------------
    def _seed(self, now: float) -> None:
        for ident, alert in list(self._unseeded.items()):
            if seed_alert(self.engine, alert, now):
                del self._unseeded[ident]

    def _report(self, transitions: list[AlertTransition]) -> list[Publication]:
        out: list[Publication] = []
        book = self.engine.alerts
        for transition in transitions:
            ident = alert_id(transition.rule, transition.key)
            if transition.state == "raised":
                held = self._published.get(ident)
                self._unseeded.pop(ident, None)
                if held is not None and _rank(transition.severity) <= _rank(held):
                    self.stats.suppressed += 1
                    continue
                self._published[ident] = transition.severity
                self.stats.raised += 1
                out.append(self.out.transition(transition, self.partition))
                alert = book.get(ident)
                if alert is not None:
                    out.append(self.out.raised_state(alert, self.partition))
            else:
                self._published.pop(ident, None)
                self._unseeded.pop(ident, None)
                self.stats.cleared += 1
                out.append(self.out.transition(transition, self.partition))
                out.append(self.out.cleared_state(transition.key, transition.rule))
        return out

    def _expire_restored(self, now: float) -> list[Publication]:
        """Clear restored alerts whose subject never reported within the grace period."""
        if math.isnan(self._restore_deadline):
            self._restore_deadline = now + self.restore_grace_s
        if now < self._restore_deadline or not self._unseeded:
            return []
        cleared = [
            AlertTransition(now, alert.key, "cleared", Severity.WARNING, alert.rule, math.nan,
                            f"not seen for {self.restore_grace_s:.0f} s since the analyzer restarted")
            for alert in self._unseeded.values()
        ]
        self._unseeded.clear()
        self.engine.alerts.apply(cleared)
        return self._report(cleared)
