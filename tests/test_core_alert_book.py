"""Alert book: lifecycle, dedup, silences, incident grouping, persistence across restarts."""

from __future__ import annotations

from console.core.alert_book import LOG_NAME, AlertBook
from console.core.snapshot import AlertState, AlertTransition, Severity

T0 = 1_767_225_600.0


def t(ts, key, state="raised", severity=Severity.WARNING, rule="limit", value=1.0):
    return AlertTransition(ts, key, state, severity, rule, value, f"{rule} on {key}")


K1 = "s1/h1/r01/rk01/rack/inlet_temp_c"
K2 = "s1/h1/r01/rk02/rack/inlet_temp_c"
K3 = "s1/h1/r01/rk03/node/n1/gpu0/temp_c"
K4 = "s1/h1/r02/rk01/rack/inlet_temp_c"


def test_raise_acknowledge_clear_lifecycle_and_dedup():
    book = AlertBook()
    book.apply([t(T0, K1), t(T0 + 1, K1, value=2.0)])
    alerts = book.alerts()
    assert len(alerts) == 1 and alerts[0].id == f"limit:{K1}" and alerts[0].value == 2.0
    assert alerts[0].raised_at == T0
    assert book.acknowledge(f"limit:{K1}")
    assert book.alerts()[0].state is AlertState.ACKNOWLEDGED
    book.apply([t(T0 + 2, K1, value=3.0)])
    assert book.alerts()[0].state is AlertState.ACKNOWLEDGED, "same severity keeps the acknowledgement"
    book.apply([t(T0 + 3, K1, severity=Severity.CRITICAL)])
    alert = book.alerts()[0]
    assert alert.state is AlertState.RAISED and alert.severity is Severity.CRITICAL
    book.apply([t(T0 + 4, K1, state="cleared")])
    assert book.alerts() == ()
    assert book.cleared()[0].state is AlertState.CLEARED
    assert not book.acknowledge("limit:nope")


def test_same_key_different_rules_are_different_alerts():
    book = AlertBook()
    book.apply([t(T0, K1, rule="limit"), t(T0, K1, rule="forecast")])
    assert {a.id for a in book.alerts()} == {f"limit:{K1}", f"forecast:{K1}"}


def test_silence_by_pattern_for_a_duration():
    book = AlertBook()
    book.apply([t(T0, K1), t(T0, K4)])
    until = book.silence("s1/h1/r01/*", 600, now=T0)
    assert until == T0 + 600
    silenced = {a.key: a.silenced_until for a in book.alerts(now=T0 + 10)}
    assert silenced == {K1: T0 + 600, K4: None}
    assert all(a.silenced_until is None for a in book.alerts(now=T0 + 601))
    book.silence("forecast:*", 60, now=T0)
    book.apply([t(T0, K4, rule="forecast")])
    assert book.get(f"forecast:{K4}").silenced_until == T0 + 60
    assert book.unsilence("forecast:*") and not book.unsilence("forecast:*")


def test_many_alerts_in_a_row_become_one_incident():
    book = AlertBook(incident_min_alerts=3)
    book.apply([t(T0, K1), t(T0 + 1, K2, severity=Severity.CRITICAL), t(T0 + 2, K3, rule="peer"), t(T0, K4)])
    incidents = book.incidents()
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident.id == "row:s1/h1/r01" and incident.severity is Severity.CRITICAL
    assert set(incident.alert_ids) == {f"limit:{K1}", f"limit:{K2}", f"peer:{K3}"}
    assert incident.started_at == T0
    by_id = {a.id: a.incident for a in book.alerts()}
    assert by_id[f"limit:{K1}"] == "row:s1/h1/r01" and by_id[f"limit:{K4}"] is None


def test_alerts_behind_a_cdu_group_under_it():
    cdu_of = {"s1/h1/r01/rk01": "s1/h1/cdu/c1", "s1/h1/r02/rk01": "s1/h1/cdu/c1"}
    from console.core.incidents import place_of_key

    book = AlertBook(place_of=lambda key: place_of_key(key, cdu_of))
    book.apply([t(T0, K1), t(T0, K4), t(T0, "s1/h1/cdu/c1/supply_temp_c")])
    incidents = book.incidents()
    assert [i.id for i in incidents] == ["cdu:s1/h1/cdu/c1"] and len(incidents[0].alert_ids) == 3


def test_acks_silences_and_live_alerts_survive_a_restart(tmp_path):
    book = AlertBook(tmp_path)
    book.apply([t(T0, K1), t(T0, K2), t(T0 + 1, K4)])
    book.acknowledge(f"limit:{K1}", now=T0 + 2)
    book.silence("*/r02/*", 3600, now=T0 + 2)
    book.apply([t(T0 + 3, K2, state="cleared")])
    with open(tmp_path / LOG_NAME, "ab") as log:
        log.write(b'{"op": "raised", "truncated')
    again = AlertBook(tmp_path)
    assert again.skipped_lines == 1
    alerts = {a.id: a for a in again.alerts(now=T0 + 10)}
    assert set(alerts) == {f"limit:{K1}", f"limit:{K4}"}
    assert alerts[f"limit:{K1}"].state is AlertState.ACKNOWLEDGED
    assert alerts[f"limit:{K4}"].silenced_until == T0 + 3602
    assert again.cleared()[0].key == K2
