"""Transport security against a real Mosquitto TLS listener with certificates made at test time.

mqtts:// verifies the broker certificate by default; --insecure is explicit and warns; client
certificates work; a wrong CA is refused, never silently downgraded (../shared/mqtt.md 4b, 7 row 16).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from console.cli import UsageError
from console.commands.connection_args import add_connection_arguments, connection_settings
from sensors.broker_url import parse_broker_url
from sensors.mqtt_client import Backoff, ConnectionSettings
from sensors.mqtt_source import ConnectionState, MqttSource
from tests.mosquitto import MosquittoBroker, free_port
from tests.pki import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Pki) -> Iterator[tuple[MosquittoBroker, int]]:
    tls_port = free_port()
    config = (
        f"listener {tls_port} 127.0.0.1\n"
        f"cafile {pki.ca_cert}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        "require_certificate true\n"
    )
    broker = MosquittoBroker(tmp_path, extra_config=config)
    broker.start()
    yield broker, tls_port
    broker.stop()


async def _round_trip(settings: ConnectionSettings, timeout: float = 10) -> bytes:
    async with asyncio.timeout(timeout), settings.client() as client:
        await client.subscribe("dc/s1/events", qos=1)
        await client.publish("dc/s1/events", b"ping", qos=1)
        async for message in client.messages:
            return bytes(message.payload)
    raise AssertionError("no message")


def _settings(port: int, host: str = "127.0.0.1", **kwargs: object) -> ConnectionSettings:
    return ConnectionSettings(url=parse_broker_url(f"mqtts://{host}:{port}"), **kwargs)  # type: ignore[arg-type]


async def test_verified_tls_with_client_certificate(
    tls_broker: tuple[MosquittoBroker, int], pki: Pki
) -> None:
    _, port = tls_broker
    settings = _settings(port, ca_file=pki.ca_cert, cert_file=pki.client_cert, key_file=pki.client_key)
    assert await _round_trip(settings) == b"ping"


async def test_broker_from_another_ca_is_refused(tls_broker: tuple[MosquittoBroker, int], pki: Pki) -> None:
    _, port = tls_broker
    settings = _settings(port, ca_file=pki.other_ca_cert, cert_file=pki.client_cert, key_file=pki.client_key)
    with pytest.raises(aiomqtt.MqttError, match="CERTIFICATE_VERIFY_FAILED"):
        await _round_trip(settings)


async def test_default_trust_store_does_not_trust_a_private_ca(
    tls_broker: tuple[MosquittoBroker, int], pki: Pki
) -> None:
    _, port = tls_broker
    settings = _settings(port, cert_file=pki.client_cert, key_file=pki.client_key)
    with pytest.raises(aiomqtt.MqttError, match="CERTIFICATE_VERIFY_FAILED"):
        await _round_trip(settings)


async def test_insecure_skips_verification_only_when_asked(
    tls_broker: tuple[MosquittoBroker, int], pki: Pki
) -> None:
    _, port = tls_broker
    settings = _settings(port, insecure=True, cert_file=pki.client_cert, key_file=pki.client_key)
    assert await _round_trip(settings) == b"ping"


async def test_broker_requiring_a_client_certificate_refuses_one_without(
    tls_broker: tuple[MosquittoBroker, int], pki: Pki
) -> None:
    _, port = tls_broker
    # Under TLS 1.3 the refusal arrives after the handshake and paho only logs it, so aiomqtt
    # waits for a CONNACK that never comes: callers need their own connect timeout.
    with pytest.raises((aiomqtt.MqttError, TimeoutError)):
        await _round_trip(_settings(port, ca_file=pki.ca_cert), timeout=3)


def test_cli_insecure_flag_warns_and_missing_files_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_connection_arguments(parser)
    settings = connection_settings(parser.parse_args(["--broker", "mqtts://localhost", "--insecure"]))
    assert settings.insecure and settings.url.tls
    assert "WARNING" in capsys.readouterr().err
    with pytest.raises(UsageError, match="no such file"):
        connection_settings(parser.parse_args(["--broker", "mqtts://h", "--ca-file", str(tmp_path / "x")]))


async def test_live_source_reads_over_verified_tls_and_names_a_wrong_ca(
    tls_broker: tuple[MosquittoBroker, int], pki: Pki
) -> None:
    """The console's read path (its own MQTT framing over asyncio's TLS), not only aiomqtt's."""
    _, port = tls_broker
    good = _settings(port, ca_file=pki.ca_cert, cert_file=pki.client_cert, key_file=pki.client_key)
    bad = _settings(port, ca_file=pki.other_ca_cert, cert_file=pki.client_cert, key_file=pki.client_key)
    refused = MqttSource(bad, ["dc/#"], backoff=Backoff(first=5.0, cap=5.0, floor=5.0))
    source = MqttSource(good, ["dc/#"])
    batches, refused_batches = source.batches(), refused.batches()
    first = asyncio.ensure_future(anext(batches))
    never = asyncio.ensure_future(anext(refused_batches))
    try:
        async with asyncio.timeout(20):
            while (source.state, refused.state) != (ConnectionState.CONNECTED, ConnectionState.RECONNECTING):
                await asyncio.sleep(0.02)
        await _round_trip(good)
        assert [m.payload for m in await asyncio.wait_for(first, 20)] == [b"ping"]
        assert "CERTIFICATE_VERIFY_FAILED" in refused.last_error
        assert not never.done()
    finally:
        never.cancel()
        await batches.aclose()  # type: ignore[attr-defined]
        await refused_batches.aclose()  # type: ignore[attr-defined]
