"""Console options: ``demo --with-host`` joins this machine to the demo; ``--security-profile``."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys

import pytest

from console.cli import UsageError
from console.commands.console_args import add_console_arguments, console_settings, make_engine
from console.commands.demo import _host_agent
from console.demo_source import DemoSource
from sensors.codec import decode
from sensors.messages import Status, Telemetry
from sensors.simulator import CampusConfig, Simulator
from sensors.topics import TopicKind

SMALL = CampusConfig(rows=1, racks_per_row=2, nodes_per_rack=1, gpus_per_node=2)


async def test_host_agent_messages_join_the_demo_stream() -> None:
    source = DemoSource(Simulator(campus=SMALL, seed=1), companions=(_host_agent("dc"),))
    host_reports: list[Telemetry] = []
    host_online = False
    batches = source.batches()
    async with asyncio.timeout(20):
        async for batch in batches:
            for message in batch:
                decoded = decode(message.topic, message.payload)
                if "/r00/" not in message.topic:
                    continue
                host_online |= isinstance(decoded, Status) and decoded.online
                if isinstance(decoded, Telemetry) and decoded.topic.kind is TopicKind.NODE:
                    host_reports.append(decoded)
            if host_online and host_reports:
                break
            await asyncio.sleep(0.05)
    await batches.aclose()
    assert host_online
    assert host_reports[0].topic.device.startswith("s1/h1/r00/")
    assert "mem_used_pct" in host_reports[0].values


def test_demo_help_offers_with_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "console", "demo", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--with-host" in result.stdout


def test_security_profile_flag_picks_a_profile_and_refuses_a_bad_one() -> None:
    parser = argparse.ArgumentParser()
    add_console_arguments(parser)
    settings = console_settings(parser.parse_args(["--security-profile", "nist_csf"]))
    view = make_engine(settings).snapshot().security
    assert view is not None and len(view.controls) == 6
    with pytest.raises(UsageError, match="did you mean"):
        console_settings(parser.parse_args(["--security-profile", "nist_cfs"]))
