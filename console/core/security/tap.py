"""Feed the security state from the engine's own decoding: one decode per message, not two.

The engine decodes every raw message once (console/core/ingest.py); this decoder hands each
message it decodes to a ``SecurityState`` as well, so wiring the security panel into the engine
is one constructor argument rather than a change to the ingest loop.
"""

from __future__ import annotations

from console.core.security.state import SecurityState
from sensors.codec import Decoder
from sensors.messages import Decoded, RawMessage, Rejected
from sensors.topics import DEFAULT_PREFIX


class SecurityTapDecoder(Decoder):
    """A ``Decoder`` that also feeds every decoded message to ``security``."""

    def __init__(self, security: SecurityState, prefix: str = DEFAULT_PREFIX) -> None:
        super().__init__(prefix)
        self.security = security

    def decode(self, message: RawMessage) -> Decoded | Rejected:
        result = super().decode(message)
        if not isinstance(result, Rejected):
            self.security.ingest(result)
        return result
