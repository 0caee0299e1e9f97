"""Campus mode's headless side: rollups and alert state published by an analyzer become a Snapshot."""

from __future__ import annotations

import math

import numpy as np
import orjson

from console.core.analyzer.campus import CampusState
from console.core.analyzer.partition import Partition
from console.core.analyzer.service import Analyzer
from console.core.snapshot import AlertState, Severity
from sensors.messages import RawMessage
from tests.mosquitto import MosquittoBroker
from tests.test_analyzer_support import (
    START,
    Collector,
    finish,
    publish,
    settings_of,
    simulator,
    started,
    stream,
    wait_until,
)

FAULTS = ("leak@20+300:r01/rk01", "power_excursion@15+300:r02/rk02")


async def test_campus_state_draws_what_the_analyzer_saw(broker: MosquittoBroker) -> None:
    settings = settings_of(broker.url)
    analyzer = Analyzer(settings, Partition.of(["dc/#"], "all"), idle_flush_s=0.5, rollup_every_s=5.0)
    task = await started(analyzer)
    await publish(broker.url, stream(simulator(FAULTS), 90))
    await wait_until(lambda: analyzer.core.evaluated_until == START + 90, 30, "the analyzer")
    await finish(analyzer, task)
    engine = analyzer.core.engine
    expected = engine.snapshot()

    campus = CampusState()
    async with Collector(broker.url, campus.filters()) as collector:  # all retained: a late console
        rows = {rack.rsplit("/", 1)[0] for rack in expected.racks.racks}
        retained = len(rows) + len(expected.racks.racks) + len(expected.alerts)  # one message per topic
        await wait_until(lambda: len(collector.messages) == retained, 10, "the retained rollups and state")
    assert all(retain for _, _, retain in collector.messages)
    campus.ingest(RawMessage(0.0, topic, payload, 1, True) for topic, payload, _ in collector.messages)
    shown = campus.snapshot()

    assert shown.racks.racks == expected.racks.racks == ("s1/h1/r01/rk01", "s1/h1/r01/rk02",
                                                         "s1/h1/r02/rk01", "s1/h1/r02/rk02")
    np.testing.assert_allclose(shown.racks.inlet_c, expected.racks.inlet_c, atol=0.06)
    np.testing.assert_allclose(shown.racks.power_pct, expected.racks.power_pct, atol=0.06)
    np.testing.assert_array_equal(shown.racks.alert_level, expected.racks.alert_level)
    assert shown.racks.alert_level.tolist() == [2, 0, 0, 1]
    assert {a.id for a in shown.alerts} == {a.id for a in expected.alerts}
    assert {(a.id, a.severity, a.raised_at) for a in shown.alerts} == {
        (a.id, a.severity, a.raised_at) for a in expected.alerts
    }
    assert shown.now == engine.now
    assert not shown.racks.stale.any()
    assert campus.rejected == 0


def _state(key: str, rule: str, severity: str, message: str = "hot") -> bytes:
    return orjson.dumps({"key": key, "rule": rule, "severity": severity, "state": "raised", "raised_at": 10.0,
                         "value": 91.0, "message": message, "partition": "p"})


def test_campus_state_deletes_cleared_alerts_marks_silent_racks_and_rejects_junk() -> None:
    campus = CampusState(stale_after_s=30.0)
    row = {"ts": 100.0, "partition": "p", "racks": {
        "rk01": {"inlet_c": 24.0, "power_pct": 50.0, "hottest_gpu_c": 70.0, "alert_level": 0, "stale": False},
        "rk02": {"inlet_c": None, "power_pct": None, "hottest_gpu_c": None, "alert_level": 0, "stale": True},
    }}
    later = {"ts": 140.0, "partition": "q", "inlet_c": 25.0, "power_pct": 51.0, "hottest_gpu_c": 71.0,
             "alert_level": 1, "stale": False}
    key = "s1/h1/r01/rk01/node/n1/gpu0/temp_c"
    evil = "\x1b[2J[bold]x[/]"
    state_topic = f"rackwatch/v1/alerts/state/{key}/limit"
    campus.ingest([
        RawMessage(0.0, "rackwatch/v1/rollup/s1/h1/r01", orjson.dumps(row), 1, True),
        RawMessage(0.0, "rackwatch/v1/rollup/s1/h1/r02/rk09", orjson.dumps(later), 1, True),
        RawMessage(0.0, state_topic, _state(key, "limit", "critical", evil), 1, True),
        RawMessage(0.0, "rackwatch/v1/alerts/state/s1/x/limit", _state("s1/y", "limit", "warning"), 1, True),
        RawMessage(0.0, "rackwatch/v1/rollup/s1/h1/r03", b"{not json", 1, True),
    ])
    assert campus.rejected == 2
    shown = campus.snapshot()
    assert shown.racks.racks == ("s1/h1/r01/rk01", "s1/h1/r01/rk02", "s1/h1/r02/rk09")
    assert shown.racks.stale.tolist() == [True, True, False]  # rk01's rollup is 40 s behind the newest
    assert math.isnan(float(shown.racks.inlet_c[1]))
    assert shown.racks.alert_level.tolist() == [2, 0, 0]  # from the live state, not rk09's old rollup
    (alert,) = shown.alerts
    assert alert.severity is Severity.CRITICAL and "\x1b" not in alert.message
    assert campus.alerts.acknowledge(alert.id)
    assert campus.snapshot().alerts[0].state is AlertState.ACKNOWLEDGED
    campus.alerts.silence("s1/h1/r01/*", 600.0)
    assert campus.snapshot().racks.alert_level.tolist() == [0, 0, 0]
    campus.ingest([RawMessage(0.0, state_topic, b"", 1, False)])
    assert campus.snapshot().alerts == ()
    assert [a.id for a in campus.alerts.cleared()] == [alert.id]


def test_rollups_alone_give_the_alert_level() -> None:
    campus = CampusState()
    body = {"ts": 5.0, "partition": "p", "inlet_c": 25.0, "power_pct": 51.0, "hottest_gpu_c": 71.0,
            "alert_level": 2, "stale": False}
    campus.ingest([RawMessage(0.0, "rackwatch/v1/rollup/s1/h1/r02/rk09", orjson.dumps(body), 1, True)])
    assert campus.snapshot().racks.alert_level.tolist() == [2]
    assert campus.evaluate(6.0) == []
