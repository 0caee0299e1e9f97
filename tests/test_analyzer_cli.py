"""``rackwatch analyze`` as operators run it: a subprocess stopped by SIGTERM, and usage errors."""

from __future__ import annotations

import asyncio
import signal
import sys

import orjson
import pytest

from console.cli import main
from tests.mosquitto import MosquittoBroker
from tests.test_analyzer_support import Collector, publish, simulator, stream, wait_until


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        (["--topic", "dc/#/x"], "'#' must be a whole last level"),
        (["--topic", "dc/#", "--out-prefix", "rackwatch/#"], "output prefix"),
        (["--topic", "dc/#", "--shared-group", "a/b"], "shared group"),
        (["--topic", "dc/#", "--rollup-every", "0"], "--rollup-every"),
        (["--topic", "dc/#", "--partition", "x y"], "partition name"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(extra: list[str], complaint: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--broker", "mqtt://127.0.0.1:1", *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and complaint in err and "Traceback" not in err


async def test_analyze_command_publishes_and_stops_cleanly(broker: MosquittoBroker) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "console", "analyze", "--broker", broker.url, "--topic", "dc/s1/h1/r01/#",
        "--partition", "row1", stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    filters = ["rackwatch/v1/alerts/transitions/#", "rackwatch/v1/rollup/#", "rackwatch/v1/alerts/state/#"]
    async with Collector(broker.url, filters) as collector:
        line = await asyncio.wait_for(process.stderr.readline(), 20)
        assert b"partition row1: subscribing to dc/s1/h1/r01/#" in line
        line = await asyncio.wait_for(process.stderr.readline(), 20)
        assert b"restored 0 live alert(s)" in line
        line = await asyncio.wait_for(process.stderr.readline(), 20)
        assert b"subscribed to dc/s1/h1/r01/#, analyzing" in line
        await publish(broker.url, stream(simulator(["leak@5+300:r01/rk01"]), 40))
        await wait_until(lambda: any("/transitions/row1" in topic for topic, _, _ in collector.messages), 30,
                         "the leak's transition")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
        rest = (await process.stderr.read()).decode()
        assert "stopped; analyze row1:" in rest and "Traceback" not in rest
        await wait_until(lambda: any(t.endswith("/rollup/s1/h1/r01") for t, _, _ in collector.messages), 10,
                         "the row rollup")
    (leak,) = [orjson.loads(p) for t, p, _ in collector.messages if "/transitions/" in t]
    assert (leak["key"], leak["state"], leak["partition"]) == ("s1/h1/r01/rk01/rack/leak", "raised", "row1")
    topics = {topic for topic, _, _ in collector.messages}
    assert "rackwatch/v1/alerts/state/s1/h1/r01/rk01/rack/leak/leak" in topics
    assert not any("/r02" in topic for topic in topics)
