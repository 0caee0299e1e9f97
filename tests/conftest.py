"""Shared fixtures: real Mosquitto brokers started by the test session itself."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mosquitto import MOSQUITTO, MosquittoBroker
from tests.rackwatch_process import Proc


def _require_mosquitto() -> None:
    if not Path(MOSQUITTO).exists() or shutil.which("mosquitto_sub") is None:
        pytest.fail("mosquitto and mosquitto_sub are required: .ci/run installs them")


@pytest.fixture(scope="session")
def shared_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """One broker for tests that neither stop it nor depend on its session state."""
    _require_mosquitto()
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto-shared"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A broker of this test's own, which the test may stop and restart."""
    _require_mosquitto()
    own = MosquittoBroker(tmp_path / "mosquitto")
    own.directory.mkdir()
    own.start()
    yield own
    own.stop()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """``rackwatch`` subprocesses a test starts; any still running at the end are killed."""
    started: list[Proc] = []
    yield started
    for proc in started:
        if proc.process.poll() is None:
            proc.process.kill()
            proc.process.wait()
