"""Crash safety of the console's own state (issue 8, item 4).

An acknowledgement given during an incident, and the history of what cleared, must survive a
restart of the console: acknowledge in one App run with a state directory, start a second App
over the same directory, and the alert is still acknowledged and the history still there.

The recorder's half of item 4 (a SIGKILLed recorder leaves a log that reads back up to its last
flush, and loses nothing) is tests/test_recorder.py::
test_sigkilled_recorder_leaves_a_readable_log_and_loses_nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from pathlib import Path

import orjson

from console.app import RackwatchApp
from console.commands import connect
from console.commands.connection_args import connection_settings
from console.commands.console_args import console_settings
from console.core.alert_book import AlertBook
from console.core.engine import Engine
from console.pipeline import Pipeline, SourceStatus, StreamEvaluator
from console.screens.alerts import AlertsScreen
from console.settings import Settings
from sensors.messages import RawMessage
from tests.fuzz_messages import NOW
from tests.ui_support import shown_text, wait_for

NODE = "dc/s1/h1/r01/rk01/node/n1"
RACK = "dc/s1/h1/r01/rk02/rack"
XID_ID = "xid:s1/h1/r01/rk01/node/n1/gpu0/xid"
LEAK_KEY = "s1/h1/r01/rk02/rack/leak"


class ListSource:
    def __init__(self, messages: list[RawMessage]) -> None:
        self.messages = messages

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        for start in range(0, len(self.messages), 10):
            yield self.messages[start : start + 10]


def _incident() -> list[RawMessage]:
    """A GPU falls off the bus (XID 79, held for minutes) and a rack leaks for 20 s, then dries."""
    messages = []
    for second in range(90):
        ts = NOW + second
        gpu = {"temp_c": 60.0, "power_w": 500.0, "xid": [79] if second == 2 else [], "throttle": []}
        node = {"ts": ts, "seq": second, "boot": "st", "metrics": {"cpu_temp_c": 50.0}, "gpus": [gpu]}
        rack = {"ts": ts, "seq": second, "boot": "st",
                "metrics": {"inlet_temp_c": 24.0, "leak": 1 if 5 <= second < 25 else 0}}
        messages += [RawMessage(ts, NODE, orjson.dumps(node), 1), RawMessage(ts, RACK, orjson.dumps(rack), 1)]
    return messages


def _app(state_dir: Path, messages: list[RawMessage]) -> RackwatchApp:
    engine = Engine(alert_book=AlertBook(state_dir))
    pipeline = Pipeline(engine, ListSource(messages), lambda: SourceStatus("replay", "ended", "incident"))
    return RackwatchApp(Settings(bell=False), pipeline)


def _live(app: RackwatchApp, ident: str) -> str | None:
    if app.frame is None:
        return None
    return next((str(a.state) for a in app.frame.snapshot.alerts if a.id == ident), None)


async def test_acknowledgement_and_history_survive_a_console_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = _app(state, _incident())
    async with first.run_test(size=(140, 36)) as pilot:
        await wait_for(pilot, lambda: _live(first, XID_ID) == "raised", "the XID alert raised")
        await wait_for(pilot, lambda: any(LEAK_KEY in i for i in first.cleared), "the leak alert cleared")
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(first.screen, AlertsScreen), "the alerts screen")
        await wait_for(pilot, lambda: "XID 79" in shown_text(first), "the XID alert listed")
        await pilot.press("a")
        await wait_for(pilot, lambda: _live(first, XID_ID) == "acknowledged", "the XID alert acknowledged")

    second = _app(state, [])
    async with second.run_test(size=(140, 36)) as pilot:
        await wait_for(pilot, lambda: second.frame is not None, "the first frame after the restart")
        assert _live(second, XID_ID) == "acknowledged"
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(second.screen, AlertsScreen), "the alerts screen")
        await wait_for(pilot, lambda: "acknowledged" in shown_text(second), "the acknowledgement shown")
        await wait_for(pilot, lambda: LEAK_KEY in shown_text(second), "the cleared leak alert in the history")
        assert "history shown" in shown_text(second)


def test_connect_keeps_its_alert_book_in_a_state_directory(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    connect.register(parser.add_subparsers())
    args = parser.parse_args(["connect", "mqtt://127.0.0.1:1", "--state-dir", str(tmp_path / "st")])
    settings = console_settings(args)
    pipeline = connect.build(settings, connection_settings(args, url=args.url), state_dir=args.state_dir)
    book = pipeline.engine.alerts
    assert book.path == tmp_path / "st" / "alerts.jsonl"
    assert "--state-dir" in connect_help(parser)


def connect_help(parser: argparse.ArgumentParser) -> str:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices["connect"].format_help()


def _hot_rack(seconds: range, xid_at: int | None = None) -> list[RawMessage]:
    """A rack whose inlet stays at 40 °C (critical, ASHRAE-based limit) and a node, every second."""
    messages = []
    for second in seconds:
        ts = NOW + second
        gpu = {"temp_c": 60.0, "power_w": 500.0, "xid": [79] if second == xid_at else [], "throttle": []}
        node = {"ts": ts, "seq": second, "boot": "st", "metrics": {"cpu_temp_c": 50.0}, "gpus": [gpu]}
        rack = {"ts": ts, "seq": second, "boot": "st", "metrics": {"inlet_temp_c": 40.0, "leak": 0}}
        messages += [RawMessage(ts, NODE, orjson.dumps(node), 1), RawMessage(ts, RACK, orjson.dumps(rack), 1)]
    return messages


def test_after_a_restart_alerts_still_true_stay_acknowledged_and_the_rest_clear(tmp_path: Path) -> None:
    before = Engine(alert_book=AlertBook(tmp_path))
    StreamEvaluator(before).feed(_hot_rack(range(60), xid_at=2))
    live = {a.id: a for a in before.alerts.alerts()}
    limit_id = next(ident for ident in live if ident.startswith("limit:") and "inlet_temp_c" in ident)
    assert XID_ID in live
    for ident in (limit_id, XID_ID):
        assert before.alerts.acknowledge(ident)

    after = Engine(alert_book=AlertBook(tmp_path))
    StreamEvaluator(after).feed(_hot_rack(range(60, 400)))  # still hot; the GPU's XID was a one-off
    now_live = {a.id: a for a in after.alerts.alerts()}
    assert now_live[limit_id].state == "acknowledged", "a re-confirmed alert lost its acknowledgement"
    assert XID_ID not in now_live, "an alert no detector raised again stayed up forever after the restart"
    assert XID_ID in {a.id for a in after.alerts.cleared()}
