"""Snapshot tests of the main screens at 80x24 and 160x48 with deterministic data: the seeded demo
pipeline from a fixed start with fixed faults, a fixed number of ticks, no wall-clock text (stream
time only). They change when the simulator's physics or the engine's rules change: review the
report, then ``pytest tests/test_ui_snapshots.py --snapshot-update``."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from console.screens.drilldown import DrilldownScreen
from sensors.simulator import ScenarioSpec
from tests.ui_support import SMALL_HALL, demo_app, wait_for

TICKS = 110
FAULTS = (ScenarioSpec("cooling_failure", at=5.0, target="r05", duration=600.0),
          ScenarioSpec("power_excursion", at=20.0, target="r02/rk03", duration=300.0),
          ScenarioSpec("leak", at=60.0, target="r03/rk06", duration=300.0))
"""Row r05 loses cooling, a PDU runs past 80 %, a leak: warnings and criticals by 110 s."""


async def _settled(pilot: Pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.frame is not None and app.frame.status.state == "ended",
                   "the demo to play its ticks", timeout=90)
    await pilot.pause(0.6)
    app.clear_notifications()
    await pilot.pause(0.1)


def _keys(*keys: str):
    async def run_before(pilot: Pilot) -> None:
        await _settled(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.3)
        pilot.app.clear_notifications()
        await pilot.pause(0.2)

    return run_before


SIZES = [(80, 24), (160, 48)]


def _app():
    return demo_app(TICKS, campus=SMALL_HALL, scenarios=FAULTS)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_overview(snap_compare, size) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_keys())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_alerts(snap_compare, size) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("2"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_drilldown_rack(snap_compare, size) -> None:
    async def run_before(pilot: Pilot) -> None:
        await _settled(pilot)
        for key in ("down", "down", "down", "down", "enter"):
            await pilot.press(key)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DrilldownScreen), "the drill-down")
        await pilot.pause(0.6)
        pilot.app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)


def test_events_160x48(snap_compare) -> None:
    assert snap_compare(_app(), terminal_size=(160, 48), run_before=_keys("3"))


def test_help_80x24(snap_compare) -> None:
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=_keys("question_mark"))
