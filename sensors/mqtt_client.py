"""Connection settings shared by every MQTT client of rackwatch, and a backoff for reconnects.

aiomqtt 2.x has no automatic reconnect: the documented idiom is one ``Client`` reused in a
``while True: try: async with client`` loop. Connect failures such as a wrong CA or password
are instant, so the loop needs a floor on its delay or it spins at 100 % CPU
(../shared/mqtt.md sections 1 and 7, finding D).
"""

from __future__ import annotations

import os
import random
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from sensors.broker_url import BrokerUrl
from sensors.mqtt_wire import ConnectRefused

USERNAME_ENV = "RACKWATCH_MQTT_USERNAME"
PASSWORD_ENV = "RACKWATCH_MQTT_PASSWORD"


class CredentialsError(ValueError):
    """Credentials that cannot be read, with a message naming where they were looked for."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that never shows itself in a repr, a log line or a traceback."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """Everything needed to reach one broker."""

    url: BrokerUrl
    username: str | None = None
    password: Secret | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    """Skip broker certificate verification (only by an explicit flag, with a warning)."""
    keepalive: int = 15

    def tls_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context for ``mqtts://``; None for plain ``mqtt://``."""
        if not self.url.tls:
            return None
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file:
            context.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def client(self, **options: Any) -> aiomqtt.Client:
        """A client for this broker; ``options`` pass through to ``aiomqtt.Client``."""
        return aiomqtt.Client(
            hostname=self.url.host,
            port=self.url.port,
            username=self.username,
            password=self.password.value if self.password else None,
            tls_context=self.tls_context(),
            keepalive=self.keepalive,
            **options,
        )


def read_credentials(password_file: Path | None) -> tuple[str | None, Secret | None]:
    """Username and password from the environment or a file, never from argv.

    The file holds the password on its first line; an environment password wins over none.
    """
    username = os.environ.get(USERNAME_ENV) or None
    password = os.environ.get(PASSWORD_ENV)
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError, UnicodeDecodeError) as error:
            raise CredentialsError(f"cannot read a password from {password_file}: {error}") from None
    return username, Secret(password) if password else None


AUTH_REASON_CODES = frozenset({4, 5, 134, 135})
"""CONNACK codes for refused credentials: v3.1.1 4/5, v5 0x86/0x87 (../shared/mqtt.md table row 15)."""


def refused_credentials(error: BaseException) -> bool:
    """Whether a connect failure is the broker refusing our credentials (retry slowly, not hot)."""
    if isinstance(error, ConnectRefused):
        return error.code in AUTH_REASON_CODES
    if not isinstance(error, MqttConnectError):
        return False
    return int(getattr(error.rc, "value", error.rc or 0)) in AUTH_REASON_CODES


def auth_backoff() -> Backoff:
    """Retries after refused credentials: 15 s growing to 5 min, never a reconnect loop."""
    return Backoff(first=15.0, cap=300.0, floor=5.0)


RECONNECT_CAP_S = 1.5
"""Longest wait between reconnect attempts by default: a client is back within 2 s of the
broker's return (issue 8), and the 0.5-1.0 jitter still spreads a fleet's attempts out."""


class Backoff:
    """Capped exponential backoff with jitter and a floor, reset after a good connection."""

    def __init__(self, first: float = 0.2, cap: float = RECONNECT_CAP_S, floor: float = 0.1) -> None:
        self.first = first
        self.cap = cap
        self.floor = floor
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.first * 2**self.attempt)
        self.attempt += 1
        return max(self.floor, delay * random.uniform(0.5, 1.0))

    def reset(self) -> None:
        self.attempt = 0
