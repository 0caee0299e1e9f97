"""The existing console draws a campus from analyzers' rollups and alert state, unchanged.

``rackwatch connect --campus`` builds the pipeline: the MQTT source subscribes to the analyzers'
retained topics and ``CampusState`` stands in for the engine.
"""

from __future__ import annotations

import pytest

from console.app import RackwatchApp
from console.cli import main
from console.commands import connect
from console.core.analyzer.partition import Partition
from console.core.analyzer.service import Analyzer
from console.screens.alerts import AlertsScreen
from console.settings import Settings
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

    settings = Settings(bell=False)
    app = RackwatchApp(settings, connect.build_campus(settings, settings_of(broker.url)))
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and len(app.frame.snapshot.racks.racks) == 4,
                       "the four racks from the rollups")
        assert app.frame.snapshot.racks.alert_level.tolist() == [2, 0, 0, 0]
        assert "1 CRITICAL" in shown_text(app) and "campus mqtt://127.0.0.1" in shown_text(app)
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertsScreen) and LEAK in shown_text(app),
                       "the leak listed on the alerts screen")
        await pilot.press("a")
        await wait_for(pilot, lambda: any(a.state == "acknowledged" for a in app.frame.snapshot.alerts),
                       "the leak acknowledged in campus mode")


@pytest.mark.parametrize(("extra", "complaint"), [(["--topic", "dc/#"], "drop --topic"),
                                                 (["--out-prefix", "a/#"], "output prefix")])
def test_campus_mode_usage_errors(extra: list[str], complaint: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connect", "mqtt://127.0.0.1:1", "--campus", *extra]) == 2
    err = capsys.readouterr().err
    assert complaint in err and err.count("\n") == 1
