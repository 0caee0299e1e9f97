"""The alert book: raised -> acknowledged -> cleared, silences, dedup, incidents, persistence.

One live alert per (rule, key): a second "raised" for it updates the alert (escalation resets an
acknowledgement, since the operator acknowledged something milder). Silences match keys or
alert ids with fnmatch patterns for a duration. Every change is appended to a JSON Lines log
in the state directory and replayed on start, so acknowledgements and silences survive a
restart. Only the engine and the app call this, never a widget.
"""

from __future__ import annotations

import fnmatch
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from console.core.incidents import group_incidents, place_of_key
from console.core.snapshot import Alert, AlertState, AlertTransition, Incident, Severity

LOG_NAME = "alerts.jsonl"
COMPACT_AFTER_LINES = 10_000
RESTORED_GRACE_S = 120.0
"""Stream seconds after a restart within which a detector must raise a reloaded live alert again
(it keeps its acknowledgement); after that it is cleared. A fresh engine never clears what it
did not raise itself, so without this a reloaded alert would stay up forever."""


@dataclass(slots=True)
class _Live:
    key: str
    rule: str
    severity: Severity
    state: AlertState
    raised_at: float
    updated_at: float
    value: float
    message: str


def default_state_dir() -> Path:
    """Where the console keeps the alert log by default (platformdirs user state dir)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("rackwatch"))


def alert_id(rule: str, key: str) -> str:
    return f"{rule}:{key}"


class AlertBook:
    """Live and recently cleared alerts, silences, and their on-disk log."""

    def __init__(
        self,
        state_dir: Path | str | None = None,
        incident_min_alerts: int = 2,
        cleared_kept: int = 1000,
        place_of: Callable[[str], str | None] = place_of_key,
    ) -> None:
        self.incident_min_alerts = incident_min_alerts
        self.place_of = place_of
        self.now = 0.0
        self._live: dict[str, _Live] = {}
        self._cleared: deque[Alert] = deque(maxlen=cleared_kept)
        self._silences: dict[str, float] = {}
        self.skipped_lines = 0
        self.path: Path | None = None
        self._restored: set[str] = set()
        """Live alerts reloaded from disk that no detector has raised again yet."""
        self._restored_since: float | None = None
        if state_dir is not None:
            self.path = Path(state_dir) / LOG_NAME
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._reload()
            self._restored = set(self._live)

    # -- changes -------------------------------------------------------------------------
    def apply(self, transitions: Iterable[AlertTransition]) -> None:
        """Record alert transitions from the engine."""
        for transition in transitions:
            self._restored.discard(alert_id(transition.rule, transition.key))
            self._apply(transition)
            self._write({"op": transition.state, **transition.as_json()})

    def expire_restored(self, now: float, grace_s: float = RESTORED_GRACE_S) -> list[AlertTransition]:
        """Clear reloaded alerts that no detector raised again within ``grace_s`` of the first
        evaluation after the restart; returns (and books) their transitions."""
        if not self._restored:
            return []
        if self._restored_since is None:
            self._restored_since = now
        if now - self._restored_since < grace_s:
            return []
        expired = [self._live[ident] for ident in sorted(self._restored) if ident in self._live]
        self._restored.clear()
        transitions = [
            AlertTransition(ts=now, key=live.key, state="cleared", severity=live.severity, rule=live.rule,
                            value=live.value, message="not raised again since the restart")
            for live in expired
        ]
        self.apply(transitions)
        return transitions

    def _apply(self, t: AlertTransition) -> None:
        self.now = max(self.now, t.ts)
        ident = alert_id(t.rule, t.key)
        live = self._live.get(ident)
        severity = Severity(t.severity)
        if t.state == "raised":
            if live is None:
                self._live[ident] = _Live(
                    t.key, t.rule, severity, AlertState.RAISED, t.ts, t.ts, t.value, t.message
                )
                return
            if severity is Severity.CRITICAL and live.severity is Severity.WARNING:
                live.state = AlertState.RAISED
            live.severity = max(live.severity, severity, key=_rank)
            live.updated_at, live.value, live.message = t.ts, t.value, t.message
        elif live is not None:
            del self._live[ident]
            self._cleared.append(
                replace(self._view(ident, live), state=AlertState.CLEARED, updated_at=t.ts, value=t.value)
            )

    def acknowledge(self, ident: str, now: float | None = None) -> bool:
        """Mark a live alert acknowledged; False if there is no such live alert."""
        live = self._live.get(ident)
        if live is None:
            return False
        live.state = AlertState.ACKNOWLEDGED
        live.updated_at = self._time(now)
        self._write({"op": "ack", "id": ident, "ts": live.updated_at})
        return True

    def silence(self, pattern: str, seconds: float, now: float | None = None) -> float:
        """Hide alerts whose key or id matches ``pattern`` (fnmatch) for ``seconds``; returns the end."""
        until = self._time(now) + seconds
        self._silences[pattern] = until
        self._write({"op": "silence", "pattern": pattern, "until": until})
        return until

    def unsilence(self, pattern: str) -> bool:
        found = self._silences.pop(pattern, None) is not None
        if found:
            self._write({"op": "unsilence", "pattern": pattern})
        return found

    # -- views ---------------------------------------------------------------------------
    def silences(self, now: float | None = None) -> dict[str, float]:
        moment = self._time(now)
        return {pattern: until for pattern, until in self._silences.items() if until > moment}

    def silenced_until(self, ident: str, key: str, now: float | None = None) -> float | None:
        moment = self._time(now)
        ends = [
            until
            for pattern, until in self._silences.items()
            if until > moment and (fnmatch.fnmatchcase(key, pattern) or fnmatch.fnmatchcase(ident, pattern))
        ]
        return max(ends) if ends else None

    def alerts(self, now: float | None = None) -> tuple[Alert, ...]:
        """Live alerts (raised or acknowledged), worst and newest first, with incident and silence."""
        views = [self._view(ident, live, now) for ident, live in self._live.items()]
        _, membership = group_incidents(
            (a for a in views if a.silenced_until is None), self.place_of, self.incident_min_alerts
        )
        views = [replace(a, incident=membership.get(a.id)) for a in views]
        views.sort(key=lambda a: (-_rank(a.severity), -a.raised_at, a.id))
        return tuple(views)

    def incidents(self, now: float | None = None) -> tuple[Incident, ...]:
        views = [a for a in self.alerts(now) if a.silenced_until is None]
        incidents, _ = group_incidents(views, self.place_of, self.incident_min_alerts)
        return tuple(incidents)

    def cleared(self) -> tuple[Alert, ...]:
        return tuple(reversed(self._cleared))

    def get(self, ident: str) -> Alert | None:
        live = self._live.get(ident)
        return None if live is None else self._view(ident, live)

    def _view(self, ident: str, live: _Live, now: float | None = None) -> Alert:
        return Alert(
            id=ident,
            key=live.key,
            rule=live.rule,
            severity=live.severity,
            state=live.state,
            raised_at=live.raised_at,
            updated_at=live.updated_at,
            value=live.value,
            message=live.message,
            silenced_until=self.silenced_until(ident, live.key, now),
        )

    def _time(self, now: float | None) -> float:
        if now is not None:
            return now
        return self.now if self.now > 0 else time.time()

    # -- persistence ---------------------------------------------------------------------
    def _write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        with open(self.path, "ab") as log:
            log.write(orjson.dumps(record) + b"\n")

    def _reload(self) -> None:
        assert self.path is not None
        if not self.path.exists():
            return
        lines = 0
        with open(self.path, "rb") as log:
            for line in log:
                lines += 1
                try:
                    self._replay(orjson.loads(line))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    self.skipped_lines += 1
        if lines > COMPACT_AFTER_LINES:
            self._compact()

    def _replay(self, record: dict[str, Any]) -> None:
        op = record["op"]
        if op in ("raised", "cleared"):
            value = record.get("value")
            self._apply(
                AlertTransition(
                    ts=float(record["ts"]),
                    key=str(record["key"]),
                    state=op,
                    severity=Severity(record["severity"]),
                    rule=str(record["rule"]),
                    value=float("nan") if value is None else float(value),
                    message=str(record.get("message", "")),
                )
            )
        elif op == "ack":
            live = self._live.get(record["id"])
            if live is not None:
                live.state = AlertState.ACKNOWLEDGED
                live.updated_at = float(record["ts"])
        elif op == "silence":
            self._silences[str(record["pattern"])] = float(record["until"])
        elif op == "unsilence":
            self._silences.pop(str(record["pattern"]), None)
        else:
            raise ValueError(op)

    def _compact(self) -> None:
        """Rewrite the log as the present state only (live alerts, acks, silences)."""
        assert self.path is not None
        records: list[dict[str, Any]] = []
        for ident, live in self._live.items():
            alert = self._view(ident, live)
            records.append(
                {"op": "raised", "ts": alert.raised_at, "key": alert.key, "state": "raised",
                 "severity": str(alert.severity), "rule": alert.rule,
                 "value": None if alert.value != alert.value else alert.value, "message": alert.message}
            )
            if live.state is AlertState.ACKNOWLEDGED:
                records.append({"op": "ack", "id": ident, "ts": live.updated_at})
        for pattern, until in self._silences.items():
            records.append({"op": "silence", "pattern": pattern, "until": until})
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        temporary.replace(self.path)


def _rank(severity: Severity) -> int:
    return 2 if severity is Severity.CRITICAL else 1
