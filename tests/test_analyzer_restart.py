"""An analyzer killed and restarted restores its alerts from the retained state and reports nothing twice."""

from __future__ import annotations

import asyncio

import orjson

from console.core.analyzer.partition import Partition
from console.core.analyzer.restore import read_alert_state
from console.core.analyzer.service import Analyzer
from console.core.analyzer.wire_out import OutTopics
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

FAULTS = ("leak@20+100:r01/rk01", "power_excursion@15+150:r01/rk02", "leak@20+300:r02/rk01")
ROW_1 = Partition.of(["dc/s1/h1/r01/#"], "row1")
LIVE_AT_KILL = {"leak:s1/h1/r01/rk01/rack/leak", "limit:s1/h1/r01/rk02/rack/power_kw"}


async def test_restart_restores_alerts_and_reports_nothing_twice(broker: MosquittoBroker) -> None:
    settings = settings_of(broker.url)
    out = OutTopics()
    sim = simulator(FAULTS)
    other_partition = Partition.of(["dc/s1/h1/r02/#"], "row2")
    neighbour = Analyzer(settings, other_partition, idle_flush_s=0.5)
    neighbour_task = await started(neighbour)

    first = Analyzer(settings, ROW_1, idle_flush_s=0.5)
    task = await started(first)
    await publish(broker.url, stream(sim, 80))
    await wait_until(lambda: first.core.evaluated_until == START + 80, 30, "the first run")
    await wait_until(lambda: neighbour.core.evaluated_until == START + 80, 30, "the neighbour")
    await asyncio.wait_for(first.publisher.drained(), 10)
    await asyncio.wait_for(neighbour.publisher.drained(), 10)
    task.cancel()  # killed: no clean stop, nothing flushed
    await asyncio.gather(task, return_exceptions=True)

    retained = {alert.id: alert for alert in await read_alert_state(settings, out, "row1")}
    assert set(retained) == LIVE_AT_KILL
    assert all(alert.state == "raised" for alert in retained.values())
    neighbours = {alert.id for alert in await read_alert_state(settings, out, "row2")}
    assert neighbours, "the other partition has alerts of its own, which row1 must not take"

    async with Collector(broker.url, ["rackwatch/v1/alerts/transitions/row1"]) as collector:
        second = Analyzer(settings, ROW_1, idle_flush_s=0.5)
        task = await started(second)
        assert second.core.stats.restored == len(LIVE_AT_KILL)
        assert {a.id for a in second.core.engine.alerts.alerts()} == LIVE_AT_KILL
        await publish(broker.url, stream(sim, 160, initial=False))
        await wait_until(lambda: second.core.evaluated_until == START + 240, 30, "the second run")
        await finish(second, task)
        reported = second.core.stats.raised + second.core.stats.cleared
        await wait_until(lambda: len(collector.messages) == reported, 10, "the transitions")
    await finish(neighbour, neighbour_task)

    after = [orjson.loads(payload) for _, payload, _ in collector.messages]
    raised_again = {f"{t['rule']}:{t['key']}" for t in after if t["state"] == "raised"} & LIVE_AT_KILL
    assert raised_again == set()
    cleared = {f"{t['rule']}:{t['key']}" for t in after if t["state"] == "cleared"}
    assert cleared >= LIVE_AT_KILL
    assert {alert.id for alert in await read_alert_state(settings, out, "row1")}.isdisjoint(LIVE_AT_KILL)
    assert {a.id for a in await read_alert_state(settings, out, "row2")} <= neighbours


async def test_broker_restart_mid_run_loses_no_transition(broker: MosquittoBroker) -> None:
    settings = settings_of(broker.url)
    sim = simulator(("leak@20+60:r01/rk01",))
    analyzer = Analyzer(settings, ROW_1, idle_flush_s=0.5)
    task = await started(analyzer)
    await publish(broker.url, stream(sim, 40))
    await wait_until(lambda: analyzer.core.evaluated_until == START + 40, 30, "the first part")
    await asyncio.wait_for(analyzer.publisher.drained(), 10)
    assert analyzer.core.stats.raised == 1

    broker.restart()  # SIGTERM: Mosquitto saves the retained alert state
    await wait_until(lambda: analyzer.source.connections == 2 and analyzer.source.state == "connected", 30,
                     "the analyzer to subscribe again")
    async with Collector(broker.url, ["rackwatch/v1/alerts/#"]) as collector:
        await publish(broker.url, stream(sim, 80, initial=False))
        await wait_until(lambda: analyzer.core.evaluated_until == START + 120, 30, "the second part")
        await finish(analyzer, task)
        leak = "rackwatch/v1/alerts/state/s1/h1/r01/rk01/rack/leak/leak"
        await wait_until(lambda: (leak, b"", False) in collector.messages, 10, "the leak's state deleted")
    retained = [payload for topic, payload, retain in collector.messages if retain]
    assert [orjson.loads(p)["key"] for p in retained] == ["s1/h1/r01/rk01/rack/leak"]  # kept over the restart
    transitions = [orjson.loads(p) for t, p, _ in collector.messages if "/transitions/" in t]
    assert [(t["key"], t["state"]) for t in transitions] == [("s1/h1/r01/rk01/rack/leak", "cleared")]
    assert await read_alert_state(settings, OutTopics(), "row1") == []


async def test_waits_for_a_broker_that_is_not_up_yet(broker: MosquittoBroker) -> None:
    broker.stop()
    said: list[str] = []
    analyzer = Analyzer(settings_of(broker.url), ROW_1, progress=said.append)
    task = asyncio.create_task(analyzer.run())
    await wait_until(lambda: any("cannot read the retained alert state yet" in s for s in said), 20,
                     "the analyzer to say it waits")
    broker.start()
    await wait_until(lambda: analyzer.source.state == "connected", 40, "the analyzer to connect")
    await finish(analyzer, task)
    assert any("restored 0 live alert(s)" in s for s in said)
