"""Connect mode against a real Mosquitto: a fault published to the broker appears in Alerts,
rings the bell, shows the banner; acknowledge, silence and the filter work."""

from __future__ import annotations

import time

import aiomqtt
import orjson
from textual.pilot import Pilot

from console.app import RackwatchApp
from console.commands import connect
from console.screens.alerts import AlertsScreen
from console.screens.silence import SilenceScreen
from console.settings import Settings
from console.widgets.alert_banner import AlertBanner
from console.widgets.alert_table import AlertTable
from sensors.broker_url import parse_broker_url
from sensors.mqtt_client import ConnectionSettings
from tests.ui_support import shown_text, wait_for

NODE_TOPIC = "dc/s1/h1/r01/rk01/node/n1"
XID_KEY = "s1/h1/r01/rk01/node/n1/gpu0/xid"


class CountingBellApp(RackwatchApp):
    """The real app; counts the bells it rings instead of beeping at the test runner."""

    bells = 0

    def bell(self) -> None:
        self.bells += 1


def _app(broker_url: str, bell: bool = True) -> CountingBellApp:
    settings = Settings(bell=bell)
    pipeline = connect.build(settings, ConnectionSettings(url=parse_broker_url(broker_url), keepalive=5))
    return CountingBellApp(settings, pipeline)


async def _publish_fatal_xid(port: int) -> None:
    """A GPU node reporting XID 79 (fell off the bus): critical on sight (domain.md 2)."""
    now = time.time()
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for seq, xids in enumerate(([], [79], [])):
            body = {"ts": now + seq * 0.1, "seq": seq, "boot": "test", "metrics": {"cpu_temp_c": 50.0},
                    "gpus": [{"temp_c": 60.0, "power_w": 500.0, "xid": xids, "throttle": []}]}
            await client.publish(NODE_TOPIC, orjson.dumps(body), qos=1)


async def _xid_alert_listed(app: RackwatchApp, pilot: Pilot, port: int) -> None:
    """Once connected, publish the fatal XID and open the alerts screen on it."""
    await wait_for(pilot, lambda: "connected" in shown_text(app), "connected")
    await _publish_fatal_xid(port)
    await pilot.press("2")
    await wait_for(pilot, lambda: "XID 79" in shown_text(app), "the XID alert listed")


async def test_published_fault_appears_in_alerts_and_can_be_acknowledged(broker) -> None:
    app = _app(broker.url)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_for(pilot, lambda: "connected" in shown_text(app), "the connection bar to say connected")
        await _publish_fatal_xid(broker.port)
        await wait_for(pilot, lambda: app.bells >= 1, "the bell on the new critical alert")
        banner = app.screen.query_one(AlertBanner)
        assert banner.display and "1 CRITICAL" in shown_text(app)
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertsScreen), "the alerts screen")
        await wait_for(pilot, lambda: "XID 79 (fatal)" in shown_text(app), "the XID alert listed")
        text = shown_text(app)
        assert XID_KEY in text and "CRIT" in text and "raised" in text

        await pilot.press("a")
        await wait_for(pilot, lambda: "acknowledged" in shown_text(app), "the alert acknowledged")
        assert not app.screen.query_one(AlertBanner).display
        alert = next(a for a in app.frame.snapshot.alerts if a.key == XID_KEY)
        assert alert.state == "acknowledged"


async def test_silence_for_a_duration(broker) -> None:
    app = _app(broker.url, bell=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await _xid_alert_listed(app, pilot, broker.port)
        assert app.bells == 0  # --no-bell: notified on screen, never rung
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SilenceScreen), "the silence prompt")
        await pilot.press("ctrl+a", "ctrl+k", *"15m", "enter")
        await wait_for(pilot, lambda: "(silenced)" in shown_text(app), "the alert shown silenced")
        alert = next(a for a in app.frame.snapshot.alerts if a.key == XID_KEY)
        assert alert.silenced_until is not None
        assert 14 * 60 <= alert.silenced_until - time.time() <= 15 * 60 + 5


async def test_filter_narrows_the_list(broker) -> None:
    app = _app(broker.url, bell=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await _xid_alert_listed(app, pilot, broker.port)
        table = app.screen.query_one(AlertTable)
        await pilot.press("slash", *"gpu0/xid")
        await wait_for(pilot, lambda: table.filter_text == "gpu0/xid", "the filter applied")
        assert [a.key for a in table.shown] == [XID_KEY]
        await pilot.press(*"-nothing-like-this")
        await wait_for(pilot, lambda: not table.shown, "nothing matching")
        assert table.row_count == 0
        await pilot.press("escape")
        await wait_for(pilot, lambda: table.shown, "the filter cleared")


async def test_connection_bar_follows_the_broker(broker) -> None:
    app = _app(broker.url, bell=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_for(pilot, lambda: "● connected" in shown_text(app), "connected")
        broker.stop()
        await wait_for(pilot, lambda: "● reconnecting" in shown_text(app), "reconnecting")
        broker.start()
        await wait_for(pilot, lambda: "● connected" in shown_text(app), "connected again")


async def test_silence_a_wider_pattern(broker) -> None:
    app = _app(broker.url, bell=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await _xid_alert_listed(app, pilot, broker.port)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SilenceScreen), "the silence prompt")
        await pilot.press("shift+tab", "ctrl+a", "ctrl+k", *"s1/h1/r01/*", "tab", "ctrl+a", "ctrl+k", *"2h",
                          "enter")
        await wait_for(pilot, lambda: "(silenced)" in shown_text(app), "the alert shown silenced")
        alert = next(a for a in app.frame.snapshot.alerts if a.key == XID_KEY)
        assert 2 * 3600 - 60 <= alert.silenced_until - time.time() <= 2 * 3600 + 5


async def test_palette_acknowledges_every_alert(broker) -> None:
    app = _app(broker.url, bell=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_for(pilot, lambda: "connected" in shown_text(app), "connected")
        await _publish_fatal_xid(broker.port)
        await wait_for(pilot, lambda: app.frame is not None and app.frame.snapshot.alerts, "the alert")
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"alert: acknowledge all")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: all(a.state == "acknowledged" for a in app.frame.snapshot.alerts),
                       "every alert acknowledged")
        assert not app.screen.query_one(AlertBanner).display
