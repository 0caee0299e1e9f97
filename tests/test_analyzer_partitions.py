"""Two analyzers on two partitions of one stream report exactly what one analyzer reports on all of it."""

from __future__ import annotations

import orjson

from console.core.analyzer.core import AnalyzerCore
from console.core.analyzer.partition import Partition
from console.core.analyzer.service import Analyzer
from console.core.analyzer.wire_out import OutTopics
from console.core.engine import Engine
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

TICKS = 200
FAULTS = (
    "leak@20+40:r01/rk01",
    "xid_storm@25+30:r01/rk02/n1/gpu0",
    "power_excursion@30+60:r02/rk02",
    "gpu_cooling@10+200:r02/rk01/n1/gpu1",
)
ROW_1 = Partition.of(["dc/s1/h1/r01/#"], "row1")
REST = Partition.of(["dc/s1/h1/r02/#", "dc/s1/h1/cdu/#", "dc/s1/security/#", "dc/s1/events"], "row2")


def _seen(payloads: list[bytes]) -> set[tuple[str, str, str, str]]:
    return {(d["key"], d["rule"], d["state"], d["severity"]) for d in map(orjson.loads, payloads)}


def _whole_stream_alone(messages: list) -> set[tuple[str, str, str, str]]:
    """One analyzer on every message of the same stream, fed directly (no broker)."""
    core = AnalyzerCore(Engine(), "all", OutTopics())
    out = core.feed(RawMessage(0.0, m.topic, m.payload, 1, m.retain) for m in messages)
    out += core.flush()
    return _seen([p.payload for p in out if "/alerts/transitions/" in p.topic])


async def test_partitions_report_what_one_analyzer_reports(broker: MosquittoBroker) -> None:
    messages = stream(simulator(FAULTS), TICKS)
    expected = _whole_stream_alone(messages)
    rows = {key.split("/")[2] for key, *_ in expected}
    assert rows >= {"r01", "r02"}, "faults in both rows must raise alerts"
    assert {state for _, _, state, _ in expected} == {"raised", "cleared"}

    settings = settings_of(broker.url)
    async with Collector(broker.url, ["rackwatch/v1/alerts/transitions/#"]) as collector:
        analyzers = [Analyzer(settings, part, idle_flush_s=0.5) for part in (ROW_1, REST)]
        tasks = [await started(analyzer) for analyzer in analyzers]
        await publish(broker.url, messages)
        await wait_until(lambda: all(a.core.evaluated_until == START + TICKS for a in analyzers), 60,
                         "both analyzers to evaluate the last second")
        for analyzer, task in zip(analyzers, tasks, strict=True):
            await finish(analyzer, task)
        reported = sum(a.core.stats.raised + a.core.stats.cleared for a in analyzers)
        await wait_until(lambda: len(collector.messages) == reported, 10, "the transitions")

    by_partition: dict[str, list[bytes]] = {}
    for topic, payload, _ in collector.messages:
        by_partition.setdefault(topic.rsplit("/", 1)[1], []).append(payload)
    assert set(by_partition) == {"row1", "row2"}
    assert {key.split("/")[2] for key, *_ in _seen(by_partition["row1"])} == {"r01"}
    assert _seen(by_partition["row1"]) | _seen(by_partition["row2"]) == expected
    assert all(orjson.loads(p)["partition"] == name for name, ps in by_partition.items() for p in ps)


async def test_round_robin_shared_subscription_splits_channels(broker: MosquittoBroker) -> None:
    """Why Mosquitto's $share (round-robin) is no way to partition: each member sees a gappy stream."""
    messages = stream(simulator(()), 30)
    rack = Partition.of(["dc/s1/h1/r01/rk01/#"], "member", shared_group="analyzers")
    row = [m for m in messages if rack.covers(m.topic)]  # three devices: an odd number per tick
    members = [Analyzer(settings_of(broker.url), rack, restore=False, idle_flush_s=0.5) for _ in range(2)]
    tasks = [await started(member) for member in members]
    await publish(broker.url, messages)
    await wait_until(lambda: sum(m.core.engine.ingestor.received for m in members) >= len(row), 30,
                     "the members to share the rack")
    for member, task in zip(members, tasks, strict=True):
        await finish(member, task)
    received = [m.core.engine.ingestor.received for m in members]
    assert sum(received) == len(row) and min(received) > 0  # each message once, split between members
    seq_alerts = [a for m in members for a in m.core.engine.alerts.alerts() if a.rule == "seq"]
    assert seq_alerts and all("lost" in a.message for a in seq_alerts)
