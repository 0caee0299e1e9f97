"""Broker URLs, credentials from environment or file, and the reconnect backoff."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensors.broker_url import BrokerUrlError, parse_broker_url
from sensors.mqtt_client import Backoff, CredentialsError, Secret, read_credentials


def test_broker_urls() -> None:
    assert str(parse_broker_url("mqtt://127.0.0.1:1884")) == "mqtt://127.0.0.1:1884"
    tls = parse_broker_url("mqtts://localhost")
    assert (tls.host, tls.port, tls.tls) == ("localhost", 8883, True)
    assert parse_broker_url("127.0.0.1").port == 1883


@pytest.mark.parametrize("url", ["http://x", "mqtt://", "mqtt://h:notaport", "mqtt://user:pw@h:1883"])
def test_bad_broker_urls_are_refused_with_a_message(url: str) -> None:
    with pytest.raises(BrokerUrlError):
        parse_broker_url(url)


def test_credentials_from_environment_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RACKWATCH_MQTT_USERNAME", "ops")
    monkeypatch.setenv("RACKWATCH_MQTT_PASSWORD", "hunter2")
    username, password = read_credentials(None)
    assert username == "ops" and password is not None and password.value == "hunter2"
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    _, password = read_credentials(secret_file)
    assert password is not None and password.value == "from-file"
    with pytest.raises(CredentialsError):
        read_credentials(tmp_path / "missing")


def test_secret_never_shows_itself() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"


def test_backoff_grows_to_a_cap_keeps_a_floor_and_resets() -> None:
    backoff = Backoff(first=0.2, cap=2.0, floor=0.1)
    delays = [backoff.next_delay() for _ in range(10)]
    assert all(0.1 <= delay <= 2.0 for delay in delays)
    assert max(delays[-3:]) > max(delays[:2])
    backoff.reset()
    assert backoff.next_delay() <= 0.2
