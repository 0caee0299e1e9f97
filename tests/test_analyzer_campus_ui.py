"""The existing console draws a campus from analyzers' rollups and alert state, unchanged.

The pipeline is built here the way ``rackwatch connect --campus`` is meant to build it: the
MQTT source subscribes to the analyzers' retained topics and ``CampusState`` stands in for the
engine.
"""

from __future__ import annotations

from console.app import RackwatchApp
from console.core.analyzer.campus import CampusState
from console.core.analyzer.partition import Partition
from console.core.analyzer.service import Analyzer
from console.pipeline import Pipeline, SourceStatus, wall_time
from console.screens.alerts import AlertsScreen
from console.settings import Settings
from sensors.mqtt_source import MqttSource
from tests.mosquitto import MosquittoBroker
from tests.test_analyzer_support import START, finish, publish, settings_of, simulator, started, stream
from tests.test_analyzer_support import wait_until as wait_for_analyzer
from tests.ui_support import shown_text, wait_for

LEAK = "s1/h1/r01/rk01/rack/leak"


async def test_console_draws_the_campus_from_rollups_and_alert_state(broker: MosquittoBroker) -> None:
    analyzer = Analyzer(settings_of(broker.url), Partition.of(["dc/#"], "all"), idle_flush_s=0.5)
    task = await started(analyzer)
    await publish(broker.url, stream(simulator(("leak@20+300:r01/rk01",)), 60))
    await wait_for_analyzer(lambda: analyzer.core.evaluated_until == START + 60, 30, "the analyzer")
    await finish(analyzer, task)

    campus = CampusState()
    source = MqttSource(settings_of(broker.url), campus.filters(), qos=1)
    settings = Settings(bell=False)

    def status() -> SourceStatus:
        return SourceStatus("live", str(source.state), broker.url, None, source.dropped)

    app = RackwatchApp(settings, Pipeline(campus, source, status, clock=wall_time, live=True))
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and len(app.frame.snapshot.racks.racks) == 4,
                       "the four racks from the rollups")
        assert app.frame.snapshot.racks.alert_level.tolist() == [2, 0, 0, 0]
        assert "1 CRITICAL" in shown_text(app)
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertsScreen) and LEAK in shown_text(app),
                       "the leak listed on the alerts screen")
        await pilot.press("a")
        await wait_for(pilot, lambda: any(a.state == "acknowledged" for a in app.frame.snapshot.alerts),
                       "the leak acknowledged in campus mode")
