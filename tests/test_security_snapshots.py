"""Snapshot tests of the security panel with deterministic data: the seeded demo pipeline from a
fixed start, a cage intrusion 10 s in, a fixed number of ticks, stream time only. They change when
the simulator's security feed or the default profile changes: review the report, then
``pytest tests/test_security_snapshots.py --snapshot-update``."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from console.screens.security import SecurityControlScreen, SecurityScreen
from sensors.simulator import ScenarioSpec
from tests.ui_support import SMALL_HALL, demo_app, wait_for

TICKS = 200
INTRUSION = (ScenarioSpec("cage_intrusion", at=10.0, target="r06/rk08", duration=600.0),)
"""Door forced at 10 s, held at 55 s, root session at 130 s, bulk read of the weights at 160 s."""


def intrusion_app():
    return demo_app(TICKS, campus=SMALL_HALL, scenarios=INTRUSION)


async def _settled(pilot: Pilot, *keys: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.frame is not None and app.frame.status.state == "ended",
                   "the demo to play its ticks", timeout=90)
    await pilot.press("4")
    await wait_for(pilot, lambda: isinstance(app.screen, SecurityScreen), "the security screen")
    for key in keys:
        await pilot.press(key)
    await pilot.pause(0.6)
    app.clear_notifications()
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_security_controls(snap_compare, size) -> None:
    assert snap_compare(intrusion_app(), terminal_size=size, run_before=_settled)


def test_security_safeguards_evidence_80x24(snap_compare) -> None:
    async def run_before(pilot: Pilot) -> None:
        await _settled(pilot, "down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SecurityControlScreen), "the control")
        await pilot.press("down")
        await pilot.pause(0.4)

    assert snap_compare(intrusion_app(), terminal_size=(80, 24), run_before=run_before)
