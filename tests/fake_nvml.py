"""A recorded-values stand-in for the part of the ``pynvml`` module the GPU agent calls.

The agent only touches NVML through attribute access on the module object, so an instance
of ``FakeNvml`` can be passed where ``pynvml`` goes. Constant values match nvidia-ml-py
(checked against the real module by tests/test_agent_gpu.py when it is installed).

The recorded readings are those of an 8-GPU H100 SXM node cut down to three GPUs: one busy
near its power cap, one idle, one hot and throttling on a driver that does not report HBM
temperature or ECC. Numbers: ../shared/domain.md 1a-1b (700 W enforced limit; 92/89/95 °C
shutdown/slowdown/HBM-max thresholds; idle 33 °C, HBM 41 °C, T.Limit margin 54 °C) and the
wire example (64 °C, HBM 71 °C, 655 W, 99 %, 1980 MHz).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_UNKNOWN = 999
NVML_TEMPERATURE_GPU = 0
NVML_TEMPERATURE_THRESHOLD_SHUTDOWN = 0
NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1
NVML_TEMPERATURE_THRESHOLD_MEM_MAX = 2
NVML_CLOCK_SM = 1
NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
NVML_VOLATILE_ECC = 0
NVML_FI_DEV_MEMORY_TEMP = 82
NVML_VALUE_TYPE_UNSIGNED_INT = 1
nvmlEventTypeXidCriticalError = 0x8

_STRINGS = {
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_TIMEOUT: "Timeout",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """Same shape as pynvml's: the NVML return code in ``value``, its text from ``str``."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _STRINGS.get(self.value, f"NVML Error with code {self.value}")


@dataclass
class RecordedGpu:
    """One GPU's readings; None where the recorded driver answered NVML_ERROR_NOT_SUPPORTED."""

    name: str
    temp_c: int
    mem_temp_c: int | None
    power_mw: int
    util_pct: int
    sm_clock_mhz: int
    ecc_dbe: int | None
    margin_c: int | None
    reasons: int
    limit_mw: int = 700_000
    thresholds: dict[int, int] = field(default_factory=lambda: {
        NVML_TEMPERATURE_THRESHOLD_SHUTDOWN: 92,
        NVML_TEMPERATURE_THRESHOLD_SLOWDOWN: 89,
        NVML_TEMPERATURE_THRESHOLD_MEM_MAX: 95,
    })


def h100_node() -> list[RecordedGpu]:
    """Three recorded H100 SXM GPUs: busy at the power cap, idle, hot and throttling."""
    name = "NVIDIA H100 80GB HBM3"
    return [
        RecordedGpu(name, 64, 71, 655_000, 99, 1980, 0, 23, 0x04),
        RecordedGpu(name, 33, 41, 71_000, 0, 345, 0, 54, 0x01),
        RecordedGpu(name, 88, None, 698_000, 100, 1410, None, -1, 0x04 | 0x08 | 0x20 | 0x40 | 0x80,
                    limit_mw=650_000),
    ]


@dataclass(frozen=True)
class FakeHandle:
    index: int


class FakeNvml:
    """The pynvml calls of the GPU agent, answered from ``gpus``.

    ``lose(i)`` makes every read of GPU i fail with NVML_ERROR_GPU_IS_LOST (as when a GPU falls
    off the bus) until ``recover(i)``; ``raise_xid(i, code)`` queues a critical XID event.
    ``library`` / ``driver`` False reproduce a machine without libnvidia-ml or its kernel driver.
    """

    NVMLError = NVMLError

    def __init__(self, gpus: list[RecordedGpu] | None = None, library: bool = True,
                 driver: bool = True) -> None:
        self.gpus = h100_node() if gpus is None else gpus
        self.library = library
        self.driver = driver
        self.lost: set[int] = set()
        self.events: list[SimpleNamespace] = []
        self.wait_timeouts: list[int] = []
        self.initialised = False
        self.freed = False

    def __getattr__(self, name: str) -> Any:
        """Module constants (``NVML_*``, ``nvmlEventType*``) read as attributes, like pynvml's."""
        if name.startswith(("NVML_", "nvmlEventType")) and name in globals():
            return globals()[name]
        raise AttributeError(name)

    def lose(self, index: int) -> None:
        self.lost.add(index)

    def recover(self, index: int) -> None:
        self.lost.discard(index)

    def raise_xid(self, index: int, code: int) -> None:
        self.events.append(SimpleNamespace(device=FakeHandle(index), eventType=nvmlEventTypeXidCriticalError,
                                           eventData=code, gpuInstanceId=0xFFFFFFFF,
                                           computeInstanceId=0xFFFFFFFF))

    def _gpu(self, handle: FakeHandle) -> RecordedGpu:
        if not self.initialised:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        if handle.index in self.lost:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        return self.gpus[handle.index]

    @staticmethod
    def _supported(value: Any) -> Any:
        if value is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return value

    def nvmlInit(self) -> None:
        if not self.library:
            raise NVMLError(NVML_ERROR_LIBRARY_NOT_FOUND)
        if not self.driver:
            raise NVMLError(NVML_ERROR_DRIVER_NOT_LOADED)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.initialised = False

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeHandle:
        if index in self.lost:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        return FakeHandle(index)

    def nvmlDeviceGetIndex(self, handle: FakeHandle) -> int:
        return handle.index

    def nvmlDeviceGetName(self, handle: FakeHandle) -> str:
        return self._gpu(handle).name

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: FakeHandle) -> int:
        return self._gpu(handle).limit_mw

    def nvmlDeviceGetTemperatureThreshold(self, handle: FakeHandle, threshold: int) -> int:
        return self._supported(self._gpu(handle).thresholds.get(threshold))

    def nvmlDeviceGetTemperature(self, handle: FakeHandle, sensor: int) -> int:
        assert sensor == NVML_TEMPERATURE_GPU
        return self._gpu(handle).temp_c

    def nvmlDeviceGetFieldValues(self, handle: FakeHandle, field_ids: list[int]) -> list[SimpleNamespace]:
        gpu = self._gpu(handle)
        values = []
        for field_id in field_ids:
            reading = gpu.mem_temp_c if field_id == NVML_FI_DEV_MEMORY_TEMP else None
            values.append(SimpleNamespace(
                fieldId=field_id, scopeId=0, timestamp=0, latencyUsec=0,
                valueType=NVML_VALUE_TYPE_UNSIGNED_INT,
                nvmlReturn=NVML_SUCCESS if reading is not None else NVML_ERROR_NOT_SUPPORTED,
                value=SimpleNamespace(uiVal=reading or 0)))
        return values

    def nvmlDeviceGetPowerUsage(self, handle: FakeHandle) -> int:
        return self._gpu(handle).power_mw

    def nvmlDeviceGetUtilizationRates(self, handle: FakeHandle) -> SimpleNamespace:
        return SimpleNamespace(gpu=self._gpu(handle).util_pct, memory=0)

    def nvmlDeviceGetClockInfo(self, handle: FakeHandle, clock: int) -> int:
        assert clock == NVML_CLOCK_SM
        return self._gpu(handle).sm_clock_mhz

    def nvmlDeviceGetTotalEccErrors(self, handle: FakeHandle, error_type: int, counter: int) -> int:
        assert (error_type, counter) == (NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC)
        return self._supported(self._gpu(handle).ecc_dbe)

    def nvmlDeviceGetMarginTemperature(self, handle: FakeHandle) -> int:
        return self._supported(self._gpu(handle).margin_c)

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: FakeHandle) -> int:
        return self._gpu(handle).reasons

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: FakeHandle) -> int:
        return self._gpu(handle).reasons

    def nvmlEventSetCreate(self) -> object:
        return object()

    def nvmlDeviceRegisterEvents(self, handle: FakeHandle, event_types: int, event_set: object) -> None:
        assert event_types & nvmlEventTypeXidCriticalError
        self._gpu(handle)

    def nvmlEventSetWait(self, event_set: object, timeout_ms: int) -> SimpleNamespace:
        self.wait_timeouts.append(timeout_ms)
        if not self.events:
            raise NVMLError(NVML_ERROR_TIMEOUT)
        return self.events.pop(0)

    def nvmlEventSetFree(self, event_set: object) -> None:
        self.freed = True
