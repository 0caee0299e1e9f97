"""Correlation: many alerts in one row, or behind one CDU, are one incident.

A failing CDU heats every rack it feeds; a hot aisle heats a row. Showing that as one incident
with its alerts beneath (Alertmanager ``group_by``, methods.md 4) is what lets an operator act
on the cause instead of paging through forty symptoms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from console.core.snapshot import Alert, Incident, Severity


def place_of_key(key: str, cdu_of_rack: dict[str, str] | None = None) -> str | None:
    """The place an alert key groups under: ``cdu:<site>/<hall>/cdu/<c>`` or ``row:<site>/<hall>/<row>``."""
    parts = key.split("/")
    if len(parts) >= 4 and parts[2] == "cdu":
        return "cdu:" + "/".join(parts[:4])
    if len(parts) >= 5 and parts[4] in ("rack", "node"):
        rack = "/".join(parts[:4])
        if cdu_of_rack and rack in cdu_of_rack:
            return "cdu:" + cdu_of_rack[rack]
        return "row:" + "/".join(parts[:3])
    return None


def group_incidents(
    alerts: Iterable[Alert], place_of: Callable[[str], str | None], min_alerts: int
) -> tuple[list[Incident], dict[str, str]]:
    """Incidents (places with at least ``min_alerts`` live alerts) and alert id -> incident id."""
    by_place: dict[str, list[Alert]] = {}
    for alert in alerts:
        place = place_of(alert.key)
        if place is not None:
            by_place.setdefault(place, []).append(alert)
    incidents: list[Incident] = []
    membership: dict[str, str] = {}
    for place, members in sorted(by_place.items()):
        if len(members) < min_alerts:
            continue
        kind, _, where = place.partition(":")
        worst = (
            Severity.CRITICAL if any(a.severity is Severity.CRITICAL for a in members) else Severity.WARNING
        )
        rules = sorted({a.rule for a in members})
        where_text = f"behind CDU {where}" if kind == "cdu" else f"in row {where}"
        title = f"{len(members)} alerts {where_text} ({', '.join(rules)})"
        incident = Incident(
            id=place,
            title=title,
            severity=worst,
            alert_ids=tuple(a.id for a in members),
            started_at=min(a.raised_at for a in members),
        )
        incidents.append(incident)
        for alert in members:
            membership[alert.id] = place
    return incidents, membership
