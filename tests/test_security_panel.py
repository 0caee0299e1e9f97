"""The security panel through the real app: controls at 80x24, drill-down to evidence, and field
strings (markup, ANSI/OSC/C1 escapes) drawn literally, never interpreted."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from rich.console import Console

from console.app import RackwatchApp
from console.core.security.model import SecurityStatus
from console.screens.security import SecurityControlScreen, SecurityScreen
from console.widgets.security_event_detail import entry_text
from console.widgets.security_evidence import evidence_text
from console.widgets.timefmt import stamp
from sensors.codec import encode_event
from sensors.messages import RawMessage
from sensors.simulator import demo_storyline
from tests.ui_support import START, demo_app, raw_screenshot, replay_app, shown_text, wait_for, write_sim_log

MARKUP = "[bold red]FAKE[/] [link=https://x]y[/link]"
ESCAPES = "\x1b[2J \x1b]0;t\x07 \x9b31m"
TICKS = 40


def hostile_log(tmp_path: Path) -> Path:
    """A short simulated recording ending with an event whose strings attack the terminal."""
    ts = START + TICKS + 1
    payload = encode_event(ts, "door_forced", "critical", f"h1/[i]W[/i]{ESCAPES}", f"{MARKUP} {ESCAPES}", 0,
                           "attacker")
    extra = [RawMessage(ts, "dc/s1/events", payload)]
    return write_sim_log(tmp_path / "hostile.jsonl", ticks=TICKS, extra=extra)


def security_ready(app: RackwatchApp, timeline: int = 1) -> bool:
    view = app.frame.snapshot.security if app.frame is not None else None
    return view is not None and len(view.timeline) >= timeline


async def test_field_strings_render_literally_in_the_panel(tmp_path: Path) -> None:
    app, _ = replay_app(hostile_log(tmp_path), speed=100.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: security_ready(app), "the hostile event in the security view")
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, SecurityScreen), "the security screen")
        await wait_for(pilot, lambda: "door_forced at s1/h1/[i]W[/i]" in shown_text(app), "the event drawn")
        text = shown_text(app)
        assert f"{MARKUP} \\x1b[2J" in text and "\\x1b]0;t\\x07 \\x9b31m" in text
        assert "h1/[i]W[/i]\\x1b[2J" in text
        svg = raw_screenshot(app)
        for byte in ("\x1b", "\x9b", "\x07"):
            assert byte not in svg
        assert "https://x" not in svg.replace("[link=https://x]", "")


def test_the_widget_texts_emit_no_escape_to_a_real_terminal(tmp_path: Path) -> None:
    """The recipe of ../shared/mqtt.md 4d: print through Rich to a terminal with no colours of its own."""
    from console.core.security.profile import builtin_profile
    from console.core.security.state import SecurityState
    from sensors.codec import decode

    state = SecurityState(builtin_profile())
    hostile = f"{MARKUP}{ESCAPES}"
    payload = encode_event(START, f"x{ESCAPES}", "critical", hostile, hostile, 0, "b")
    state.ingest(decode("dc/s1/events", payload))
    view = state.view(START)
    output = StringIO()
    console = Console(file=output, force_terminal=True, color_system=None, highlight=False, width=200)
    console.print(entry_text(view.timeline[0]))
    for control in view.controls:
        for indicator in control.indicators:
            console.print(evidence_text(indicator))
    printed = output.getvalue()
    assert "\x1b" not in printed and "\x9b" not in printed and "]8;" not in printed
    assert "[bold red]FAKE[/]" in printed and "[link=https://x]y[/link]" in printed


async def test_all_controls_fit_at_80x24_and_enter_opens_the_evidence(tmp_path: Path) -> None:
    app, _ = replay_app(hostile_log(tmp_path), speed=100.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: security_ready(app), "a security view")
        await pilot.press("4")
        await wait_for(pilot, lambda: "Democratize cyber defense" in shown_text(app), "the controls drawn")
        text = shown_text(app)
        for title in ("Democratize cyber defense", "Coordinate across gov", "Strengthen safeguards",
                      "Preserve visibility", "Help users protect"):
            assert title in text
        assert "Security events" in text
        for _ in range(2):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SecurityControlScreen), "the control screen")
        assert app.screen.control_id == "safeguards"
        await wait_for(pilot, lambda: "Cage doors forced or held" in shown_text(app), "the indicators drawn")
        text = shown_text(app)
        assert "Privileged sessions open" in text and "Weight-store access anomalies" in text
        assert "source  dc/s1/security/safeguards" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SecurityScreen), "back on the controls")


def test_the_security_view_reaches_the_snapshot_through_the_engine(tmp_path: Path) -> None:
    from console.core.engine import Engine
    from sensors.logfile import LogReader

    engine = Engine()
    with LogReader(hostile_log(tmp_path)) as reader:
        messages = list(reader)
    engine.ingest(messages)
    engine.evaluate(START + TICKS + 2)
    view = engine.snapshot().security
    assert view is not None
    assert view.control("visibility").status is SecurityStatus.OK
    assert view.timeline[0].kind == "door_forced" and view.timeline[0].control_id == "safeguards"
    assert any(a.rule == "security_event" for a in engine.alerts.alerts())


def safeguards_failing(app: RackwatchApp) -> bool:
    view = app.frame.snapshot.security if app.frame is not None else None
    control = view.control("safeguards") if view is not None else None
    return control is not None and control.status is SecurityStatus.FAIL


async def test_the_demo_cage_intrusion_fails_safeguards_with_its_evidence_shown() -> None:
    """The demo storyline forces a cage door: control 3 turns FAIL, and Enter shows why."""
    forced_at = next(spec.at for spec in demo_storyline() if spec.name == "cage_intrusion")
    app = demo_app(ticks=int(forced_at) + 25)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, SecurityScreen), "the security screen")
        await wait_for(pilot, lambda: safeguards_failing(app), "safeguards to fail", timeout=90.0)
        await wait_for(pilot, lambda: "1 Cage doors forced" in shown_text(app), "the failing indicator")
        view = app.frame.snapshot.security
        others = [c.status for c in view.controls if c.control.id != "safeguards"]
        assert SecurityStatus.FAIL not in others
        assert view.timeline[-1].kind == "door_forced" and view.timeline[-1].control_id == "safeguards"
        assert "door_forced" in shown_text(app)
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SecurityControlScreen), "the control screen")
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: "why     1: FAIL" in shown_text(app), "the evidence of the forced door")
        text = shown_text(app)
        assert "FAIL · Strengthen safeguards" in text
        assert "Cage doors forced or held" in text
        assert "source  dc/s1/security/safeguards" in text
        doors = app.frame.snapshot.security.control("safeguards").indicators[2].evidence
        assert doors.value == 1.0 and START + forced_at <= doors.when <= START + forced_at + 25
        assert f"measured {stamp(doors.when)} UTC" in shown_text(app)


def test_the_engine_evaluates_the_profile_it_is_given() -> None:
    from console.core.engine import Engine
    from console.core.security.profile import builtin_profile

    engine = Engine(security_profile=builtin_profile("nist_csf"))
    assert [c.control.id for c in engine.snapshot().security.controls] == [
        "govern", "identify", "protect", "detect", "respond", "recover"]
