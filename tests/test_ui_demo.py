"""The demo through the real app: every rack on the floor map, drill-down to a GPU and back,
themes, help and the metric switch."""

from __future__ import annotations

from console.app import RackwatchApp
from console.screens.drilldown import DrilldownScreen
from console.screens.help import HelpScreen
from console.screens.overview import OverviewScreen
from console.widgets.floor_map import FloorMap, Metric
from sensors.simulator import CampusConfig
from tests.ui_support import demo_app, shown_text, wait_for

CAMPUS = CampusConfig()


def _frames_with_racks(app: RackwatchApp, ticks_seen: int = 1) -> bool:
    return app.frame is not None and len(app.frame.snapshot.racks.racks) == CAMPUS.rows * CAMPUS.racks_per_row


async def test_demo_floor_map_shows_every_rack() -> None:
    app = demo_app(ticks=3)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: _frames_with_racks(app), "a frame with every rack")
        await pilot.pause(0.3)
        floor_map = app.screen.query_one(FloorMap)
        assert floor_map.rack_count == CAMPUS.rows * CAMPUS.racks_per_row
        text = shown_text(app)
        for row in range(1, CAMPUS.rows + 1):
            assert f"r{row:02d}" in text
        drawn_cells = sum(
            len(line.cells) for line in floor_map._lines  # the layout the map draws from
        )
        assert drawn_cells == 80
        assert "80 racks" in text
        assert "demo" in text


async def test_metric_key_cycles_what_the_cells_show() -> None:
    app = demo_app(ticks=3)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: _frames_with_racks(app), "a frame with every rack")
        floor_map = app.screen.query_one(FloorMap)
        seen = [floor_map.metric]
        for _ in Metric:
            await pilot.press("m")
            seen.append(floor_map.metric)
            assert floor_map.metric.value.name in shown_text(app)
        assert seen[0] == seen[-1] and len(set(seen)) == len(Metric)


async def test_drill_down_reaches_a_gpu_and_back() -> None:
    app = demo_app(ticks=4)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: _frames_with_racks(app), "a frame with every rack")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DrilldownScreen), "the drill-down")
        screen = app.screen
        assert screen.path == ("s1", "h1", "r01", "rk01")
        assert "inlet_temp_c" in shown_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.path) == 5, "a node")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.path) == 6, "a GPU")
        assert screen.path == ("s1", "h1", "r01", "rk01", "n1", "gpu0")
        await wait_for(pilot, lambda: "temp_c" in shown_text(app) and "°C" in shown_text(app),
                       "the GPU's temperature with its unit")
        text = shown_text(app)
        assert "gpu gpu0" in text and "power_w" in text
        for expected in (5, 4, 3, 2):
            await pilot.press("escape")
            await wait_for(pilot, lambda n=expected: len(screen.path) == n, f"level {expected}")
        assert "row r01" not in shown_text(app) or len(screen.path) == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen), "back on the overview")


async def test_theme_switches_at_run_time_and_by_setting() -> None:
    app = demo_app(ticks=1, theme="light")
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "rackwatch-light"
        await pilot.press("t")
        assert app.theme == "rackwatch-high-contrast"
        await pilot.press("t", "t")
        assert app.theme == "rackwatch-dark"


async def test_monochrome_theme_under_no_color(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = demo_app(ticks=1, theme="light")
    async with app.run_test(size=(80, 24)):
        assert app.theme == "rackwatch-monochrome"


async def test_help_lists_every_key() -> None:
    app = demo_app(ticks=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        help_text = str(app.screen.query_one("#help-text").render())
        for description in ("Quit", "Help", "Overview", "Alerts", "Events", "Security", "Theme",
                            "Bell on/off", "Metric", "Drill down", "Back", "Filter", "Ack", "Silence",
                            "Order", "Command palette"):
            assert description in help_text, description
        assert "Jump back" not in help_text and "Pause" not in help_text  # no clock, no clock keys
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen), "help closed")


async def test_q_quits() -> None:
    app = demo_app(ticks=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, "the app to exit")
    assert app.return_value == 0


async def test_command_palette_goes_to_a_rack() -> None:
    app = demo_app(ticks=2)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: _frames_with_racks(app), "a frame with every rack")
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"rack: go to s1/h1/r03/rk04")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DrilldownScreen), "the rack's drill-down")
        assert app.screen.path == ("s1", "h1", "r03", "rk04")
        await pilot.press("escape", "escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview")
        assert app.screen.query_one(FloorMap).cursor_rack == "s1/h1/r03/rk04"
