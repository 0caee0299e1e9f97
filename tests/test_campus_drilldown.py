"""Campus mode fetches raw telemetry only for the rack the operator drills into.

The real console in campus mode against a private Mosquitto: retained rollups draw two racks,
a publisher sends raw rack and node telemetry for both, and drilling into one rack subscribes
to that rack's topics alone; leaving it closes that subscription and drops its data.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
import pytest

from console.app import RackwatchApp
from console.campus_source import CampusSource, rack_filter
from console.cli import main
from console.commands import connect
from console.core.analyzer.campus import CampusState
from console.core.analyzer.wire_out import OutTopics
from console.screens.drilldown import DrilldownScreen
from console.settings import Settings
from sensors.messages import RawMessage
from sensors.mqtt_source import ConnectionState
from tests.mosquitto import MosquittoBroker
from tests.test_analyzer_support import settings_of, wait_until
from tests.ui_support import shown_text, wait_for

RACKS = {"s1/h1/r01/rk01": 23.5, "s1/h1/r01/rk02": 31.5}
"""Raw inlet temperature of each rack (its rollup says otherwise, so the two are told apart)."""


async def publish_rollups(url: str) -> None:
    out = OutTopics()
    async with settings_of(url).client() as client:
        for rack in RACKS:
            body = {"ts": time.time(), "partition": "all", "inlet_c": 20.0, "power_pct": 50.0,
                    "hottest_gpu_c": 60.0, "alert_level": 0, "stale": False}
            await client.publish(out.rack_rollup(rack), orjson.dumps(body), qos=1, retain=True)
        await client.publish(f"dc/{next(iter(RACKS))}/rack/meta", orjson.dumps({"pdu_rating_kw": 60.0}),
                             qos=1, retain=True)


async def publish_raw(url: str) -> None:
    """Both racks' controllers and one node each, every 0.2 s, until cancelled."""
    seq = 0
    async with settings_of(url).client() as client:
        while True:
            now = time.time()
            for rack, inlet in RACKS.items():
                rack_body = {"ts": now, "seq": seq, "metrics": {"inlet_temp_c": inlet, "power_kw": 30.0}}
                node_body = {"ts": now, "seq": seq, "gpus": [{"temp_c": 61.0, "power_w": 500.0}],
                             "metrics": {"cpu_temp_c": 50.0}}
                await client.publish(f"dc/{rack}/rack", orjson.dumps(rack_body), qos=0)
                await client.publish(f"dc/{rack}/node/n1", orjson.dumps(node_body), qos=0)
            seq += 1
            await asyncio.sleep(0.2)


def channel_keys(campus: CampusState) -> set[str]:
    return set(campus.raw.registry.keys) if campus.raw is not None else set()


async def test_drilling_into_a_rack_fetches_its_raw_telemetry_only(broker: MosquittoBroker) -> None:
    await publish_rollups(broker.url)
    publisher = asyncio.create_task(publish_raw(broker.url))
    settings = Settings(bell=False)
    pipeline = connect.build_campus(settings, settings_of(broker.url))
    campus, source = pipeline.engine, pipeline.source
    assert isinstance(campus, CampusState) and isinstance(source, CampusSource)
    app = RackwatchApp(settings, pipeline)
    try:
        async with app.run_test(size=(120, 32)) as pilot:
            await wait_for(pilot, lambda: app.frame is not None and len(app.frame.snapshot.racks.racks) == 2,
                           "the two racks from the rollups")
            assert source.raw is None and app.frame.snapshot.channels.keys == ()

            app.go_to_rack("s1/h1/r01/rk01")
            await wait_for(pilot, lambda: "23.5 °C" in shown_text(app) and "n1" in shown_text(app),
                           "rk01's raw inlet temperature and its node in the drill-down")
            assert "inlet_temp_c" in shown_text(app) and "pdu_rating_kw 60" in shown_text(app)
            first = source.raw
            assert first is not None and first.filters == ["dc/s1/h1/r01/rk01/#"]
            keys = channel_keys(campus)
            assert "s1/h1/r01/rk01/rack/inlet_temp_c" in keys and "s1/h1/r01/rk01/node/n1/gpu0/temp_c" in keys
            assert all(key.startswith("s1/h1/r01/rk01/") for key in keys)

            await pilot.press("escape")  # up to the row: the rack is left
            await wait_for(pilot, lambda: campus.raw is None and app.frame.snapshot.channels.keys == ()
                           and first.state is ConnectionState.OFFLINE and not source._closing,
                           "rk01's subscription closed")
            assert pipeline.focus is None and source.raw is None

            await pilot.press("down", "enter")  # the row's second rack
            await wait_for(pilot, lambda: "31.5 °C" in shown_text(app), "rk02's raw inlet temperature")
            assert isinstance(app.screen, DrilldownScreen) and app.screen.path == ("s1", "h1", "r01", "rk02")
            assert source.raw is not None and source.raw.filters == ["dc/s1/h1/r01/rk02/#"]
            assert all(key.startswith("s1/h1/r01/rk02/") for key in channel_keys(campus))
            assert "23.5 °C" not in shown_text(app)
            second = source.raw

            app.go_to_rack("s1/h1/r01/rk01")  # from an alert: a drill-down over this one
            await wait_for(pilot, lambda: "23.5 °C" in shown_text(app), "rk01 again, from a new drill-down")
            await pilot.press("escape", "escape", "escape")  # that one closes: rk02's is back on top
            await wait_for(pilot, lambda: "31.5 °C" in shown_text(app) and pipeline.focus == "s1/h1/r01/rk02",
                           "rk02 fetched again for the drill-down underneath")
            third = source.raw
        # The console closed: its connections unwind as the cancelled pipeline does, none is left behind.
        await wait_until(lambda: second.state is third.state is ConnectionState.OFFLINE
                         and source.rollups.state is ConnectionState.OFFLINE, 10, "both connections closed")
    finally:
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publisher


def test_rack_filter_takes_one_rack_and_refuses_anything_else() -> None:
    assert rack_filter("dc", "s1/h1/r03/rk04") == "dc/s1/h1/r03/rk04/#"
    for bad in ("s1/h1/r03", "s1/h1/r03/rk04/node", "s1/h1/+/rk04", "s1/h1/r03/#"):
        with pytest.raises(ValueError, match="not a rack path"):
            rack_filter("dc", bad)


def raw_message(rack: str, inlet: float, ts: float) -> RawMessage:
    body = {"ts": ts, "seq": int(ts), "metrics": {"inlet_temp_c": inlet}}
    return RawMessage(ts, f"dc/{rack}/rack", orjson.dumps(body), 0, False)


def test_campus_state_keeps_the_focused_racks_raw_data_only() -> None:
    campus = CampusState()
    rk01, rk02 = RACKS
    campus.ingest([raw_message(rk01, 23.5, 100.0)])
    assert campus.raw is None and campus.snapshot().channels.keys == ()  # no focus: nothing kept

    campus.focus(rk01)
    campus.ingest([raw_message(rk01, 23.5, 101.0), raw_message(rk02, 31.5, 101.0)])
    campus.evaluate(102.0)
    shown = campus.snapshot([f"{rk01}/rack/inlet_temp_c"])
    assert shown.channels.keys == (f"{rk01}/rack/inlet_temp_c",)
    assert shown.channels.latest.tolist() == [23.5]
    assert shown.history[f"{rk01}/rack/inlet_temp_c"][1].tolist() == [23.5]

    campus.focus(rk02)  # a late message of the rack left is not kept
    campus.ingest([raw_message(rk01, 23.5, 103.0), raw_message(rk02, 31.5, 103.0)])
    assert campus.snapshot().channels.keys == (f"{rk02}/rack/inlet_temp_c",)

    campus.focus(None)
    assert campus.raw is None and campus.snapshot().channels.keys == ()
    with pytest.raises(ValueError, match="not a rack path"):
        campus.focus("s1/h1/r01")


def test_campus_mode_refuses_a_prefix_that_is_not_one_segment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connect", "mqtt://127.0.0.1:1", "--campus", "--prefix", "dc/#"]) == 2
    err = capsys.readouterr().err
    assert "topic prefix must be one segment" in err and err.count("\n") == 1
