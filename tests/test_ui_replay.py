"""Replay through the real app: the same log gives the same alerts twice; pause stops the clock;
jumps move it; a payload full of markup and terminal escapes is drawn literally."""

from __future__ import annotations

import io
import math
from pathlib import Path

import orjson
from rich.console import Console

from console.screens.events import EventsScreen, EventTable
from sensors.messages import RawMessage
from tests.ui_support import START, replay_app, shown_text, wait_for, write_sim_log

HOSTILE = ("[bold red]FAKE[/] [link=https://evil.example]x[/link] \x1b[2J\x1b]0;pwned\x07 \x9b31m "
           "\u202eevil :skull:")


def _ended(app) -> bool:
    return app.frame is not None and app.frame.status.state == "ended"


async def _alerts_of_a_full_replay(log: Path) -> list[tuple[str, str, float, str]]:
    app, _ = replay_app(log, speed=4096)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: _ended(app), "the replay to reach the end of the log", timeout=60)
        await pilot.pause(0.6)  # one more frame after the last batch
        alerts = sorted((a.id, str(a.severity), a.raised_at, str(a.state)) for a in app.frame.snapshot.alerts)
        history = sorted((a.id, a.raised_at, a.updated_at) for a in app.cleared.values())
    return alerts + [(ident, "cleared", raised, str(cleared)) for ident, raised, cleared in history]


async def test_replaying_a_log_twice_gives_the_same_alerts(tmp_path: Path) -> None:
    log = write_sim_log(tmp_path / "run.jsonl", ticks=160)
    first = await _alerts_of_a_full_replay(log)
    second = await _alerts_of_a_full_replay(log)
    assert first, "the storyline's faults raise alerts in 160 s"
    assert first == second


async def test_pause_stops_the_replay_clock_and_space_resumes(tmp_path: Path) -> None:
    log = write_sim_log(tmp_path / "slow.jsonl", ticks=60)
    app, clock = replay_app(log, speed=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and clock.started, "the replay to start")
        await pilot.press("space")
        assert clock.paused
        await wait_for(pilot, lambda: "replay 1x paused" in shown_text(app), "'paused' on the top line")
        stopped_at = clock.now
        shown = shown_text(app).split("paused", 1)[1][:22]
        await pilot.pause(0.8)
        assert clock.now == stopped_at
        assert shown_text(app).split("paused", 1)[1][:22] == shown  # the drawn clock stands still
        await pilot.press("space")
        await wait_for(pilot, lambda: clock.now > stopped_at, "the clock to run again")
        assert not clock.paused and "playing" in shown_text(app)


async def test_speed_and_jump_keys_drive_the_clock(tmp_path: Path) -> None:
    log = write_sim_log(tmp_path / "jump.jsonl", ticks=200)
    app, clock = replay_app(log, speed=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: clock.started, "the replay to start")
        await pilot.press("space")
        await pilot.press("plus")
        assert clock.speed == 2
        await wait_for(pilot, lambda: "replay 2x" in shown_text(app), "the speed on the top line")
        await pilot.press("minus", "minus")
        assert clock.speed == 0.5
        before = clock.now
        await pilot.press("right")
        assert math.isclose(clock.now, before + 60)
        await pilot.press("left", "left")
        assert math.isclose(clock.now, before - 60)


async def test_markup_and_escapes_in_a_payload_render_literally(tmp_path: Path) -> None:
    event = orjson.dumps({"ts": START + 2, "seq": 0, "boot": "t", "kind": "door_forced",
                          "severity": "critical", "where": "h1/[blue]r01[/]", "detail": HOSTILE})
    log = write_sim_log(tmp_path / "hostile.jsonl", ticks=3,
                        extra=[RawMessage(START + 3.5, "dc/s1/events", event, 1, False)])
    app, _ = replay_app(log, speed=4096)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and app.frame.snapshot.events, "the event")
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen), "the events screen")
        await wait_for(pilot, lambda: "FAKE" in shown_text(app), "the event's detail on screen")
        svg = app.export_screenshot()
        text = shown_text(app)
        assert "[bold red]FAKE[/]" in text
        assert "[link=https://evil.example]x[/link]" in text
        assert "h1/[blue]r01[/]" in text
        assert "\\x1b[2J" in text and "\\x9b31m" in text and "\\u202e" in text
        for forbidden in ("\x1b", "\x9b", "\x07", "\u202e", "]8;"):
            assert forbidden not in svg
        table = app.screen.query_one(EventTable)
        row = table.get_row_at(0)
        out = io.StringIO()
        Console(file=out, force_terminal=True, color_system=None, highlight=False, width=400).print(*row)
        assert "\x1b" not in out.getvalue() and "\x9b" not in out.getvalue()
        assert "[bold red]FAKE[/]" in out.getvalue()


async def test_a_log_cut_mid_line_is_replayed_up_to_the_cut(tmp_path: Path) -> None:
    log = write_sim_log(tmp_path / "cut.jsonl", ticks=5)
    data = log.read_bytes()
    log.write_bytes(data[: len(data) - 40])  # a crash while writing the last line
    app, _ = replay_app(log, speed=4096)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: _ended(app), "the end of the log")
        assert app.pipeline.source_error is None
        assert "replay 4096x ended" in shown_text(app)
        assert "8 racks" in shown_text(app)
