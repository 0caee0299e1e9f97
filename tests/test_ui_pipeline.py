"""The pipeline glue: evaluation at whole seconds of stream time, whatever the batching; the demo's
clock really stops on pause."""

from __future__ import annotations

from console.app import RackwatchApp
from console.commands import demo
from console.core.engine import Engine
from console.demo_source import as_raw
from console.pipeline import StreamEvaluator
from console.settings import Settings
from console.widgets.floor_map import FloorMap
from sensors.simulator import CampusConfig, ScenarioSpec, Simulator
from tests.ui_support import START, wait_for

SMALL = CampusConfig(rows=2, racks_per_row=3, nodes_per_rack=1, gpus_per_node=2)


def _messages(ticks: int) -> list:
    simulator = Simulator(campus=SMALL, seed=5, start=START,
                          scenarios=(ScenarioSpec("leak", at=5.0, target="r01/rk02", duration=20.0),
                                     ScenarioSpec("xid_storm", at=8.0, duration=30.0)))
    out = [as_raw(m, simulator.now) for m in simulator.initial_messages()]
    for _ in range(ticks):
        out += [as_raw(m, simulator.now) for m in simulator.tick()]
    return out


def _transitions(messages: list, batch: int) -> list:
    evaluator = StreamEvaluator(Engine())
    found = []
    for start in range(0, len(messages), batch):
        found += evaluator.feed(messages[start:start + batch])
    return [(t.ts, t.key, t.state, t.rule, str(t.severity)) for t in found]


def test_evaluation_does_not_depend_on_how_batches_are_cut() -> None:
    messages = _messages(40)
    whole = _transitions(messages, len(messages))
    assert any(state == "raised" for _, _, state, _, _ in whole)
    assert all(ts == int(ts) for ts, *_ in whole)  # evaluated on whole seconds of stream time
    for batch in (1, 7, 100, 999):
        assert _transitions(messages, batch) == whole


async def test_pausing_the_demo_stops_the_simulator() -> None:
    settings = Settings(speed=20.0)
    pipeline, clock = demo.build(settings, seed=1, start=START, campus=SMALL)
    app = RackwatchApp(settings, pipeline, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        source = pipeline.source
        await wait_for(pilot, lambda: source.done >= 3, "a few ticks")
        await pilot.press("space")
        await wait_for(pilot, lambda: app.frame is not None and app.frame.status.state == "paused",
                       "'paused' in the frame")
        stopped = source.done
        await pilot.pause(0.5)
        assert source.done <= stopped + 1  # a tick already under way may finish
        held = source.done
        await pilot.pause(0.5)
        assert source.done == held
        await pilot.press("space")
        await wait_for(pilot, lambda: source.done > held + 2, "ticks again after resume")
        await pilot.press("left_square_bracket")
        assert clock.skip_seconds == 0  # no going back in a simulation
        before = source.simulator.now
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: source.simulator.now >= before + 60, "a skip of 60 s of sim time")
        cursor = app.screen.query_one(FloorMap).cursor_rack
        await pilot.press("right")  # in the demo the arrows stay with the floor map
        assert app.screen.query_one(FloorMap).cursor_rack != cursor
