"""The live MQTT source against a real Mosquitto: reconnects, states, bounded queue, manual ack."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from sensors.broker_url import parse_broker_url
from sensors.messages import RawMessage
from sensors.mqtt_client import Backoff, ConnectionSettings, Secret
from sensors.mqtt_source import ConnectionState, MqttSource, SessionConflict
from tests.mosquitto import MosquittoBroker, free_port

TOPIC = "dc/s1/h1/r01/rk01/rack"


def settings_for(url: str, **extra: object) -> ConnectionSettings:
    return ConnectionSettings(url=parse_broker_url(url), keepalive=5, **extra)  # type: ignore[arg-type]


async def publish(broker: MosquittoBroker, *payloads: bytes) -> None:
    lines = b"".join(p + b"\n" for p in payloads)
    command = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", TOPIC, "-l"]
    await asyncio.to_thread(subprocess.run, command, input=lines, check=True, timeout=30)


class Running:
    """A source being consumed by a task that collects what it yields."""

    def __init__(self, source: MqttSource) -> None:
        self.source = source
        self.states: list[ConnectionState] = []
        self.got: list[RawMessage] = []
        self.consume = True
        source.on_state_change = lambda state, detail: self.states.append(state)
        self._batches: AsyncIterator[list[RawMessage]] = source.batches()
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for batch in self._batches:
            self.got.extend(batch)

    async def wait(self, condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._batches.aclose()  # type: ignore[attr-defined]


@pytest.fixture
async def running() -> AsyncIterator[list[Running]]:
    started: list[Running] = []
    yield started
    for item in started:
        await item.stop()


async def test_source_reconnects_after_broker_restart_and_yields_again(
    broker: MosquittoBroker, running: list[Running]
) -> None:
    live = Running(MqttSource(settings_for(broker.url), ["dc/#"], backoff=Backoff(first=0.1, cap=0.5)))
    running.append(live)
    await live.wait(lambda: live.source.state is ConnectionState.CONNECTED)
    await publish(broker, b"before")
    await live.wait(lambda: len(live.got) == 1)
    await asyncio.to_thread(broker.restart)
    await live.wait(lambda: live.states.count(ConnectionState.CONNECTED) == 2)
    await publish(broker, b"after")  # a clean session: only a re-subscription delivers this
    await live.wait(lambda: len(live.got) == 2)
    assert [m.payload for m in live.got] == [b"before", b"after"]
    assert live.states[:2] == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
    assert ConnectionState.RECONNECTING in live.states[2:]
    assert live.states[-1] is ConnectionState.CONNECTED
    assert live.source.connections == 2
    assert live.source.received == 2


async def test_unreachable_broker_is_retried_with_a_clear_reason(running: list[Running]) -> None:
    source = MqttSource(settings_for(f"mqtt://127.0.0.1:{free_port()}"), ["dc/#"],
                        backoff=Backoff(first=0.05, cap=0.1))
    live = Running(source)
    running.append(live)
    await live.wait(lambda: live.states.count(ConnectionState.RECONNECTING) >= 1)
    assert "Connection refused" in source.last_error
    await live.stop()
    running.remove(live)
    assert source.state is ConnectionState.OFFLINE


async def test_bounded_queue_drops_oldest_and_counts(broker: MosquittoBroker, running: list[Running]) -> None:
    source = MqttSource(settings_for(broker.url), ["dc/#"], queue_size=10)
    connected = asyncio.Event()

    def on_state(state: ConnectionState, detail: str) -> None:
        if state is ConnectionState.CONNECTED:
            connected.set()

    source.on_state_change = on_state
    batches = source.batches()
    first = asyncio.ensure_future(anext(batches))
    await asyncio.wait_for(connected.wait(), 20)
    await publish(broker, b"0")
    assert [m.payload for m in await first] == [b"0"]
    # The consumer now stops pulling while 100 more arrive.
    await publish(broker, *(str(i).encode() for i in range(1, 101)))
    async with asyncio.timeout(20):
        while source.received < 101:
            await asyncio.sleep(0.02)
    batch = await anext(batches)
    assert [m.payload for m in batch] == [str(i).encode() for i in range(91, 101)]
    assert source.dropped == 90
    await batches.aclose()  # type: ignore[attr-defined]


async def _session_round(broker: MosquittoBroker, manual_ack: bool, acknowledge: bool,
                         publish_payloads: tuple[bytes, ...], expect: int) -> list[bytes]:
    source = MqttSource(settings_for(broker.url), ["dc/#"], client_id="pin-ack", clean_session=False,
                        manual_ack=manual_ack)
    live = Running(source)
    try:
        await live.wait(lambda: source.state is ConnectionState.CONNECTED)
        if publish_payloads:
            await publish(broker, *publish_payloads)
        await live.wait(lambda: len(live.got) >= expect)
        await asyncio.sleep(0.2)  # anything else in the session arrives now
        if acknowledge:
            assert source.acknowledge() == len(live.got)
    finally:
        await live.stop()
    return [m.payload for m in live.got]


async def test_manual_ack_withholds_the_puback_until_acknowledged(broker: MosquittoBroker) -> None:
    """What the recorder's losslessness rests on: no PUBACK until the consumer says the messages are safe."""
    sent = tuple(b"m%d" % i for i in range(5))
    assert await _session_round(broker, True, False, sent, 5) == list(sent)
    # Not acknowledged: the broker redelivers all of them to the same session.
    assert await _session_round(broker, True, True, (), 5) == list(sent)
    # Acknowledged: only the new message comes.
    assert await _session_round(broker, True, False, (b"new",), 1) == [b"new"]


async def test_without_manual_ack_messages_are_acknowledged_on_receipt(broker: MosquittoBroker) -> None:
    """The contrast that makes the test above meaningful: normally a message is acknowledged on arrival."""
    sent = tuple(b"m%d" % i for i in range(5))
    assert await _session_round(broker, False, False, sent, 5) == list(sent)
    assert await _session_round(broker, False, False, (b"new",), 1) == [b"new"]


@pytest.fixture
def password_broker(tmp_path: Path) -> MosquittoBroker:
    passwd = tmp_path / "passwd"
    subprocess.run([shutil.which("mosquitto_passwd") or "mosquitto_passwd", "-c", "-b", str(passwd),
                    "operator", "right-password"], check=True, capture_output=True)
    directory = tmp_path / "pw-broker"
    directory.mkdir()
    broker = MosquittoBroker(directory, extra_config=f"allow_anonymous false\npassword_file {passwd}\n")
    broker.start()
    yield broker
    broker.stop()


async def test_refused_credentials_become_auth_failed(
    password_broker: MosquittoBroker, running: list[Running]
) -> None:
    settings = settings_for(password_broker.url, username="operator", password=Secret("wrong"))
    source = MqttSource(settings, ["dc/#"], auth_backoff=Backoff(first=5.0, cap=60.0, floor=5.0))
    live = Running(source)
    running.append(live)
    await live.wait(lambda: source.state is ConnectionState.AUTH_FAILED)
    assert "refused our credentials" in source.last_error
    assert "wrong" not in source.last_error
    assert live.states == [ConnectionState.CONNECTING, ConnectionState.AUTH_FAILED]


Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class FakeBroker:
    """A plain TCP server standing in for a broker that misbehaves; ``connections`` it accepted."""

    def __init__(self) -> None:
        self.connections: list[asyncio.StreamWriter] = []
        self._servers: list[asyncio.Server] = []

    async def start(self, answer: Answer) -> str:
        """Serve ``answer`` on a free loopback port; returns the broker URL."""

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections.append(writer)
            await answer(reader, writer)

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self._servers.append(server)
        return f"mqtt://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    def close(self) -> None:
        for writer in self.connections:
            writer.close()
        for server in self._servers:
            server.close()


@pytest.fixture
async def fake_broker() -> AsyncIterator[FakeBroker]:
    fake = FakeBroker()
    yield fake
    fake.close()


async def test_broker_that_never_answers_connect_times_out_and_retries(
    running: list[Running], fake_broker: FakeBroker
) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        return None  # accept the socket, never send CONNACK

    url = await fake_broker.start(never_answer)
    source = MqttSource(settings_for(url), ["dc/#"], connect_timeout=0.3,
                        backoff=Backoff(first=0.05, cap=0.1))
    live = Running(source)
    running.append(live)
    await live.wait(lambda: len(fake_broker.connections) >= 2)  # timed out once and tried again
    assert source.state is ConnectionState.RECONNECTING
    assert "no answer to CONNECT within 0.3 s" in source.last_error


async def test_idle_tick_comes_once_per_pause(broker: MosquittoBroker) -> None:
    source = MqttSource(settings_for(broker.url), ["dc/#"])
    connected = asyncio.Event()
    source.on_state_change = lambda state, detail: connected.set()
    batches = source.batches(idle_tick=0.02)
    first = asyncio.ensure_future(anext(batches))
    await asyncio.wait_for(connected.wait(), 20)
    while source.state is not ConnectionState.CONNECTED:
        await asyncio.sleep(0.02)
    await publish(broker, b"one")
    assert [m.payload for m in await asyncio.wait_for(first, 20)] == [b"one"]
    assert await asyncio.wait_for(anext(batches), 20) == []  # the pause after traffic
    second = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0.1)  # several ticks' worth of silence: no stream of empty batches
    await publish(broker, b"two")
    assert [m.payload for m in await asyncio.wait_for(second, 20)] == [b"two"]
    await batches.aclose()  # type: ignore[attr-defined]


async def test_a_message_larger_than_one_read_arrives_whole(
    broker: MosquittoBroker, running: list[Running]
) -> None:
    live = Running(MqttSource(settings_for(broker.url), ["dc/#"]))
    running.append(live)
    await live.wait(lambda: live.source.state is ConnectionState.CONNECTED)
    big = bytes(range(256)) * 4096  # 1 MiB: several socket reads, joined once
    await publish(broker, b"small")
    await asyncio.to_thread(
        subprocess.run, ["mosquitto_pub", "-p", str(broker.port), "-q", "1", "-t", TOPIC, "-s"],
        input=big, check=True, timeout=30,
    )
    await publish(broker, b"after")
    await live.wait(lambda: len(live.got) == 3)
    assert [m.payload for m in live.got] == [b"small", big, b"after"]


async def test_a_broker_gone_silent_is_left_after_one_and_a_half_keepalives(
    running: list[Running], fake_broker: FakeBroker
) -> None:
    async def answer_then_fall_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # CONNECT
        writer.write(b"\x20\x02\x00\x00")  # CONNACK, accepted
        await reader.read(1024)  # SUBSCRIBE
        writer.write(b"\x90\x03\x00\x01\x01")  # SUBACK, QoS 1 granted; then nothing, ever

    url = await fake_broker.start(answer_then_fall_silent)
    settings = ConnectionSettings(url=parse_broker_url(url), keepalive=1)
    source = MqttSource(settings, ["dc/#"], backoff=Backoff(first=5.0, cap=5.0, floor=5.0))
    live = Running(source)
    running.append(live)
    await live.wait(lambda: source.state is ConnectionState.CONNECTED)
    await live.wait(lambda: source.state is ConnectionState.RECONNECTING, timeout=10)
    assert "no answer from the broker" in source.last_error


def test_only_qos_0_and_1_subscriptions_are_accepted() -> None:
    with pytest.raises(ValueError, match="QoS 0 or 1"):
        MqttSource(settings_for("mqtt://127.0.0.1:1"), ["dc/#"], qos=2)


async def test_an_exclusive_source_gives_way_to_a_client_that_takes_its_session(
    broker: MosquittoBroker,
) -> None:
    source = MqttSource(settings_for(broker.url), ["dc/#"], client_id="only-one", clean_session=False,
                        exclusive=True)
    batches = source.batches()
    ended = asyncio.ensure_future(anext(batches))
    async with asyncio.timeout(20):
        while source.state is not ConnectionState.CONNECTED:
            await asyncio.sleep(0.02)
    await asyncio.to_thread(  # another client with the same id, within the grace
        subprocess.run,
        ["mosquitto_sub", "-p", str(broker.port), "-i", "only-one", "-c", "-t", "x", "-W", "1"],
        capture_output=True, timeout=30,
    )
    with pytest.raises(SessionConflict, match="another client uses client id only-one"):
        await asyncio.wait_for(ended, 20)


async def test_an_exclusive_source_rides_out_a_broker_restart_within_its_grace(
    broker: MosquittoBroker, running: list[Running]
) -> None:
    source = MqttSource(settings_for(broker.url), ["dc/#"], client_id="only-one", clean_session=False,
                        exclusive=True, backoff=Backoff(first=0.1, cap=0.5))
    live = Running(source)
    running.append(live)
    await live.wait(lambda: source.state is ConnectionState.CONNECTED)
    await asyncio.to_thread(broker.restart)  # well inside TAKEOVER_GRACE_S of connecting
    await live.wait(lambda: live.states.count(ConnectionState.CONNECTED) == 2)
    await publish(broker, b"after")
    await live.wait(lambda: [m.payload for m in live.got] == [b"after"])
