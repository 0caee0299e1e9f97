"""Parse a broker address given as ``mqtt://host:port`` or ``mqtts://host:port``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


class BrokerUrlError(ValueError):
    """A broker address that cannot be used, with a message meant for the operator."""


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    """Where a broker listens and whether the connection uses TLS."""

    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def parse_broker_url(text: str) -> BrokerUrl:
    """Parse ``text``; credentials in the URL are refused so no secret sits on argv."""
    if "://" not in text:
        text = f"mqtt://{text}"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BrokerUrlError(f"unsupported scheme {parts.scheme!r} in {text!r}: use mqtt:// or mqtts://")
    if parts.username or parts.password:
        raise BrokerUrlError(
            "credentials in the broker URL are refused (they would show in the process list); "
            "use RACKWATCH_MQTT_USERNAME / RACKWATCH_MQTT_PASSWORD or --password-file"
        )
    if not parts.hostname:
        raise BrokerUrlError(f"no host in broker URL {text!r}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as error:
        raise BrokerUrlError(f"bad port in broker URL {text!r}: {error}") from None
    return BrokerUrl(host=parts.hostname, port=port, tls=scheme == "mqtts")
