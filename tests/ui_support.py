"""Helpers of the UI tests: a seeded demo app, a recorded log from the simulator, shown text."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App
from textual.pilot import Pilot

from console.app import RackwatchApp
from console.commands import demo, replay
from console.demo_source import as_raw
from console.settings import Settings
from sensors.logfile import LogWriter
from sensors.messages import RawMessage
from sensors.simulator import CampusConfig, ScenarioSpec, Simulator

START = 1767225600.0
"""2026-01-01 00:00:00 UTC: a fixed stream start, so no wall-clock time is ever drawn."""


async def wait_for(pilot: Pilot, condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Let the app run until ``condition()`` holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


SMALL_HALL = CampusConfig(rows=6, racks_per_row=8, nodes_per_rack=2, gpus_per_node=4)
"""A hall small enough for fast tests, big enough for the storyline's places to fall back on."""


def demo_app(ticks: int, seed: int = 1, campus: CampusConfig | None = None,
             scenarios: tuple[ScenarioSpec, ...] | None = None, **settings: object) -> RackwatchApp:
    """The demo's real pipeline, unpaced, stopping after ``ticks`` simulator ticks."""
    config = Settings(**settings)  # type: ignore[arg-type]
    pipeline, _ = demo.build(config, seed=seed, start=START, ticks=ticks, paced=False, campus=campus,
                             scenarios=scenarios)
    return RackwatchApp(config, pipeline)


def replay_app(log: Path, speed: float = 1.0, **settings: object) -> tuple[RackwatchApp, object]:
    """The replay command's pipeline and clock over ``log``."""
    config = Settings(speed=speed, **settings)  # type: ignore[arg-type]
    pipeline, clock = replay.build(config, log)
    return RackwatchApp(config, pipeline, clock), clock


FAULTS = (ScenarioSpec("leak", at=20.0, target="r01/rk02", duration=40.0),
          ScenarioSpec("xid_storm", at=30.0, duration=60.0),
          ScenarioSpec("power_excursion", at=10.0, target="r02/rk03", duration=120.0),
          ScenarioSpec("cooling_failure", at=5.0, target="r01", duration=300.0))
"""Faults for a small campus that raise and clear alerts within a couple of minutes."""


def write_sim_log(path: Path, ticks: int, seed: int = 3, campus: CampusConfig | None = None,
                  extra: list[RawMessage] | None = None,
                  scenarios: tuple[ScenarioSpec, ...] = FAULTS) -> Path:
    """A recorded log of a seeded simulator run with ``scenarios``, received = sim time."""
    simulator = Simulator(campus=campus or CampusConfig(rows=2, racks_per_row=4, nodes_per_rack=2,
                                                        gpus_per_node=2),
                          seed=seed, scenarios=scenarios, start=START)
    with LogWriter(path, source="simulator", filters=["dc/#"]) as writer:
        for message in simulator.initial_messages():
            writer.write(as_raw(message, simulator.now))
        for _ in range(ticks):
            for message in simulator.tick():
                writer.write(as_raw(message, simulator.now))
        for message in extra or []:
            writer.write(message)
    return path


def shown_text(app: App) -> str:
    """Everything on the screen now, as plain text (from the exported SVG screenshot)."""
    svg = app.export_screenshot()
    pieces = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return html.unescape("".join(pieces)).replace("\xa0", " ")


def raw_screenshot(app: App) -> str:
    """The exported SVG exactly as written (to look for escape bytes)."""
    return app.export_screenshot()
