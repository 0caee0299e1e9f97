"""XID errors from an NVML event set, drained without waiting.

NVML queues critical XID events in the event set between samples; ``drain`` empties it with
``nvmlEventSetWait(set, 0)``, which returns at once (an empty set raises NVML_ERROR_TIMEOUT).
The agent calls it from its sampling thread, so the publisher's event loop never blocks on
NVML. Codes are kept per GPU index until the next message takes them (wire.md: ``xid`` lists
the codes raised since the last message).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

log = logging.getLogger(__name__)

MAX_EVENTS_PER_DRAIN = 1024
"""Bounds one drain, so a storm of events cannot hold the sampling thread forever."""


class XidWatcher:
    """An NVML event set registered for critical XID events on every GPU that supports them."""

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self.nvml = nvml
        self.pending: dict[int, list[int]] = defaultdict(list)
        self._reported_wait_errors: set[int] = set()
        try:
            self.event_set = nvml.nvmlEventSetCreate()
        except nvml.NVMLError as error:
            log.warning("XID events not available on this machine: %s", error)
            self.event_set = None
            return
        for index, handle in enumerate(handles):
            try:
                nvml.nvmlDeviceRegisterEvents(handle, nvml.nvmlEventTypeXidCriticalError, self.event_set)
            except nvml.NVMLError as error:
                log.warning("GPU %d: XID events not available: %s", index, error)

    def drain(self) -> None:
        """Move every queued XID event into ``pending``; never waits."""
        if self.event_set is None:
            return
        for _ in range(MAX_EVENTS_PER_DRAIN):
            try:
                event = self.nvml.nvmlEventSetWait(self.event_set, 0)
            except self.nvml.NVMLError as error:
                if error.value != self.nvml.NVML_ERROR_TIMEOUT:
                    self._log_once(error)
                return
            if event.eventType & self.nvml.nvmlEventTypeXidCriticalError:
                index = self._index(event.device)
                if index < 0:
                    log.warning("XID %d on a GPU this agent does not know", event.eventData)
                else:
                    self.pending[index].append(int(event.eventData))

    def take(self, index: int) -> list[int]:
        """The XID codes raised on GPU ``index`` since the last take."""
        return self.pending.pop(index, [])

    def _index(self, device: Any) -> int:
        """The NVML index of an event's GPU (the order the agent enumerated them in); -1 if unknown."""
        try:
            return int(self.nvml.nvmlDeviceGetIndex(device))
        except self.nvml.NVMLError:
            return -1

    def _log_once(self, error: Any) -> None:
        if error.value not in self._reported_wait_errors:
            self._reported_wait_errors.add(error.value)
            log.warning("XID event wait failed: %s (logged once)", error)

    def close(self) -> None:
        if self.event_set is None:
            return
        try:
            self.nvml.nvmlEventSetFree(self.event_set)
        except self.nvml.NVMLError as error:
            log.debug("freeing the XID event set: %s", error)
