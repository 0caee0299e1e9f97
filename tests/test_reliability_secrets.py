"""Credentials and rights (issue 8, item 5), against a Mosquitto that requires a password.

The password reaches rackwatch only through RACKWATCH_MQTT_PASSWORD or --password-file and
must never come back out: not on stdout or stderr, not in a log record, not on the screen, not
in the recorded log, not in /proc/<pid>/cmdline. Refused credentials give one clear line and a
slow retry rather than a reconnect loop. A console needs read rights only: with an ACL that
lets its user read dc/# and write nothing, it still shows the campus.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import orjson
import pytest

from console.app import RackwatchApp
from console.commands import connect
from console.commands.connection_args import connection_settings
from console.commands.console_args import console_settings
from sensors.mqtt_client import PASSWORD_ENV, USERNAME_ENV
from tests.mosquitto import MosquittoBroker
from tests.rackwatch_process import Proc
from tests.ui_support import shown_text, wait_for

RACK_TOPIC = "dc/s1/h1/r02/rk05/rack"
RACK = "s1/h1/r02/rk05"
ACL = """\
user ops
topic read dc/#

user recorder
topic read dc/#

user agent
topic readwrite dc/#
"""


class AuthBroker(MosquittoBroker):
    """The test broker with anonymous access off, a password file and an ACL file."""

    def __init__(self, directory: Path, passwords: dict[str, str]) -> None:
        super().__init__(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.password_file = directory / "passwd"
        self.acl_file = directory / "acl"
        self.password_file.touch(mode=0o600)
        for user, password in passwords.items():
            # -b puts the password on mosquitto_passwd's argv: acceptable for throw-away test users.
            subprocess.run(["mosquitto_passwd", "-b", str(self.password_file), user, password],
                           check=True, capture_output=True)
        self.acl_file.write_text(ACL)

    def _write_config(self) -> None:
        super()._write_config()
        text = self.config_path.read_text().replace("allow_anonymous true", "allow_anonymous false")
        self.config_path.write_text(text + f"password_file {self.password_file}\nacl_file {self.acl_file}\n")

    def connections(self) -> int:
        """Connection attempts the broker has logged."""
        return self.log_path.read_text(errors="replace").count("New connection from")


@pytest.fixture
def secrets() -> dict[str, str]:
    """A unique password per user: any occurrence in output can only be a leak."""
    return {user: f"pw-{user}-{uuid.uuid4().hex}" for user in ("ops", "recorder", "agent")}


@pytest.fixture
def auth_broker(tmp_path: Path, secrets: dict[str, str]) -> Iterator[AuthBroker]:
    broker = AuthBroker(tmp_path / "auth-broker", secrets)
    broker.start()
    yield broker
    broker.stop()


def _env(user: str, password: str) -> dict[str, str]:
    """A subprocess environment carrying credentials (never argv)."""
    return {**os.environ, USERNAME_ENV: user, PASSWORD_ENV: password}


def _as_user(monkeypatch: pytest.MonkeyPatch, user: str, password: str) -> None:
    monkeypatch.setenv(USERNAME_ENV, user)
    monkeypatch.setenv(PASSWORD_ENV, password)


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _connect_app(url: str) -> RackwatchApp:
    """``rackwatch connect URL`` as the CLI builds it (credentials read from the environment)."""
    parser = argparse.ArgumentParser()
    connect.register(parser.add_subparsers())
    args = parser.parse_args(["connect", url, "--no-bell"])
    settings = console_settings(args)
    return RackwatchApp(settings, connect.build(settings, connection_settings(args, url=args.url)))


async def _publish_rack(port: int, user: str, password: str, seq: int) -> None:
    body = {"ts": time.time(), "seq": seq, "boot": "acl", "metrics": {"inlet_temp_c": 24.5, "power_kw": 30.0}}
    async with aiomqtt.Client("127.0.0.1", port, username=user, password=password) as client:
        await client.publish(RACK_TOPIC, orjson.dumps(body), qos=1)


async def test_the_password_never_comes_back_out(
    auth_broker: AuthBroker, secrets: dict[str, str], tmp_path: Path, procs: list[Proc],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    log = tmp_path / "secret.jsonl"
    recorder = Proc("record", "--broker", auth_broker.url, "--topic", "dc/#", "--out", str(log),
                    "--client-id", "rel-secret", "--keepalive", "5",
                    env=_env("recorder", secrets["recorder"]))
    password_file = tmp_path / "agent.pw"  # the other way in: a file only its owner can read
    password_file.touch(mode=0o600)
    password_file.write_text(secrets["agent"] + "\n")
    agent_env = _env("agent", "")
    del agent_env[PASSWORD_ENV]
    agent = Proc("agent", "host", "--broker", auth_broker.url, "--password-file", str(password_file),
                 "--interval", "0.5", "-v", "--node", "sn1", "--rack", "rk05", "--row", "r02", env=agent_env)
    procs += [recorder, agent]
    _as_user(monkeypatch, "ops", secrets["ops"])
    app = _connect_app(auth_broker.url)
    async with app.run_test(size=(140, 36)) as pilot:
        await wait_for(pilot, lambda: "● connected" in shown_text(app), "the console connected as ops")
        await asyncio.to_thread(recorder.wait_line, "connected to")
        await asyncio.to_thread(agent.wait_line, "connected to")
        cmdlines = _cmdline(recorder.process.pid) + _cmdline(agent.process.pid)
        await wait_for(pilot, lambda: app.frame is not None and app.frame.snapshot.stats.decoded > 2,
                       "the agent's reports on the console")
        screens = [shown_text(app)]
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        screens.append(shown_text(app))
    assert recorder.stop() == 0 and agent.stop() == 0
    outputs = {
        "cmdline": cmdlines.decode(errors="replace"),
        "recorder stderr": recorder.stderr,
        "agent stderr": agent.stderr,
        "recorded log": log.read_text(errors="replace"),
        "screen": "\n".join(screens),
        "log records": caplog.text,
    }
    assert "connected" in outputs["recorder stderr"] and outputs["recorded log"]
    for where, text in outputs.items():
        for user, secret in secrets.items():
            assert secret not in text, f"{user}'s password shows in the {where}"


async def test_refused_credentials_are_said_once_clearly_and_retried_slowly(
    auth_broker: AuthBroker, tmp_path: Path, procs: list[Proc], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    recorder = Proc("record", "--broker", auth_broker.url, "--topic", "dc/#", "--out",
                    str(tmp_path / "refused.jsonl"), "--client-id", "rel-refused", "--keepalive", "5",
                    env=_env("recorder", wrong))
    agent = Proc("agent", "host", "--broker", auth_broker.url, "--interval", "0.5", "--node", "sn2",
                 env=_env("agent", wrong))
    procs += [recorder, agent]
    _as_user(monkeypatch, "ops", wrong)
    app = _connect_app(auth_broker.url)
    async with app.run_test(size=(140, 36)) as pilot:
        await wait_for(pilot, lambda: "● auth failed" in shown_text(app), "the bar saying auth failed")
        await asyncio.to_thread(recorder.wait_line, "refused our credentials")
        await asyncio.to_thread(agent.wait_line, "refused our credentials")
        await pilot.pause(4.0)
        screen = shown_text(app)
    assert recorder.stop() == 0 and agent.stop() == 0
    # Three clients over about four seconds: one try each, a second at most; a reconnect loop
    # without a slow backoff makes dozens.
    assert auth_broker.connections() <= 6, auth_broker.connections()
    assert len(recorder.seen("refused our credentials")) == 1
    for text in (recorder.stderr, agent.stderr, screen):
        assert wrong not in text and "Traceback" not in text


async def test_a_read_only_console_shows_the_campus(
    auth_broker: AuthBroker, secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _as_user(monkeypatch, "ops", secrets["ops"])
    app = _connect_app(auth_broker.url)
    async with app.run_test(size=(140, 36)) as pilot:
        await wait_for(pilot, lambda: "● connected" in shown_text(app), "the console connected as ops")
        # The ACL forbids ops to publish: Mosquitto acknowledges and drops it (mqtt.md 4a).
        await _publish_rack(auth_broker.port, "ops", secrets["ops"], seq=0)
        await pilot.pause(1.0)
        assert app.frame is not None and app.frame.snapshot.stats.received == 0
        await _publish_rack(auth_broker.port, "agent", secrets["agent"], seq=1)
        await wait_for(pilot, lambda: app.frame is not None and RACK in app.frame.snapshot.racks.racks,
                       "the rack reported by the agent user")
        assert app.frame.snapshot.stats.decoded == 1


async def test_simulator_retries_refused_credentials_slowly(
    auth_broker: AuthBroker, procs: list[Proc]
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    before = auth_broker.connections()
    simulator = Proc("simulate", "--broker", auth_broker.url, "--rows", "1", "--racks", "1", "--nodes", "1",
                     "--gpus", "1", env=_env("agent", wrong))
    procs.append(simulator)
    await asyncio.sleep(4.0)
    assert simulator.stop() == 1  # nothing could be delivered: said on stderr, exit 1
    assert "could not reach the broker" in simulator.stderr
    # Refused credentials wait 15 s or more (sensors.mqtt_client.auth_backoff): the first try and
    # one prompt try on stop. The ordinary schedule (0.2 s doubling to a 1.5 s cap) makes five or
    # more in these four seconds.
    assert auth_broker.connections() - before <= 3
    assert wrong not in simulator.stderr and "Traceback" not in simulator.stderr
