"""This machine's NVIDIA GPUs as a GPU node of the wire contract, read through NVML.

Mapping (wire.md "GPU node"; DCGM equivalents in ../shared/domain.md section 3):
temp_c (GPU core, field 150), mem_temp_c (HBM, NVML_FI_DEV_MEMORY_TEMP, field 140), power_w
(nvmlDeviceGetPowerUsage mW -> W, field 155), util_pct (203), sm_clock_mhz (100), ecc_dbe
(volatile double-bit total, 311), temp_margin_c (nvmlDeviceGetMarginTemperature, field 153;
only where the binding and GPU have it), throttle (clock-event reasons, domain.md 1c) and xid
(critical XID events, domain.md section 2).

A reading a GPU does not support is null. Any other NVML error (a GPU lost off the bus, a
driver fault) nulls that GPU's whole sample and is logged once per GPU and error kind; the
agent keeps running and the XIDs are still reported, since they explain the failure.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from sensors.agents.nvml_events import XidWatcher

log = logging.getLogger(__name__)

THROTTLE_BITS = (
    (0x04, "sw_power_cap"),
    (0x08, "hw_slowdown"),
    (0x20, "sw_thermal"),
    (0x40, "hw_thermal"),
    (0x80, "hw_power_brake"),
)
"""Clock-event reason bits and their wire names (domain.md 1c; the wire lists only these five)."""
GPU_METRICS = ("temp_c", "mem_temp_c", "power_w", "util_pct", "sm_clock_mhz", "ecc_dbe")
_FIELD_VALUE = {0: "dVal", 1: "uiVal", 2: "ulVal", 3: "ullVal", 4: "sllVal", 5: "siVal", 6: "usVal"}
"""NVML_VALUE_TYPE_* -> the member of the nvmlValue_t union that holds it."""


class NvmlUnavailable(RuntimeError):
    """NVML cannot be used here: no binding, no library, no driver or no GPU."""


def load_nvml() -> Any:
    """The ``pynvml`` module of nvidia-ml-py, or NvmlUnavailable saying what to install."""
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        raise NvmlUnavailable(
            "NVML not available: the nvidia-ml-py package is not installed (pip install 'rackwatch[gpu]')"
        ) from None


def throttle_names(mask: int) -> list[str]:
    """The wire names of the active clock-event reasons in an NVML bitmask."""
    return [name for bit, name in THROTTLE_BITS if mask & bit]


class GpuSampler:
    """A ``NodeSource`` reading every GPU through ``nvml`` (the pynvml module or a test's fake)."""

    def __init__(self, nvml: Any) -> None:
        self.nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as error:
            raise NvmlUnavailable(
                f"NVML not available: {error} (is the NVIDIA driver installed and loaded?)"
            ) from None
        try:
            count = nvml.nvmlDeviceGetCount()
        except nvml.NVMLError as error:
            nvml.nvmlShutdown()
            raise NvmlUnavailable(f"NVML not available: cannot count GPUs: {error}") from None
        if count == 0:
            nvml.nvmlShutdown()
            raise NvmlUnavailable("NVML not available: the driver reports no GPU")
        self._logged: set[tuple[int, int]] = set()
        self.handles = [self._open(index) for index in range(count)]
        opened = [handle for handle in self.handles if handle is not None]
        self.xids = XidWatcher(nvml, opened)
        self.has_margin = [handle is not None and self._margin(handle) is not None for handle in self.handles]

    def _open(self, index: int) -> Any:
        """GPU ``index``'s handle, or None for a GPU NVML cannot open (already off the bus):
        it keeps its place in ``gpus`` with null readings, so the others keep their numbers."""
        try:
            return self.nvml.nvmlDeviceGetHandleByIndex(index)
        except self.nvml.NVMLError as error:
            self._log_once(index, error)
            return None

    def _unsupported(self, error: Any) -> bool:
        nvml = self.nvml
        return error.value in (
            nvml.NVML_ERROR_NOT_SUPPORTED,
            nvml.NVML_ERROR_FUNCTION_NOT_FOUND,
            nvml.NVML_ERROR_NO_PERMISSION,
        )

    def _optional(self, read: Any, *args: Any) -> Any:
        """``read(*args)``, None where the GPU does not support it; other NVML errors propagate."""
        try:
            return read(*args)
        except self.nvml.NVMLError as error:
            if self._unsupported(error):
                return None
            raise

    def _margin(self, handle: Any) -> float | None:
        read = getattr(self.nvml, "nvmlDeviceGetMarginTemperature", None)
        return self._fact(read, handle) if read is not None else None

    def _fact(self, read: Any, handle: Any) -> Any:
        """A static fact of one GPU, None on any NVML error (a lost GPU must not stop the agent)."""
        try:
            return self._optional(read, handle)
        except self.nvml.NVMLError:
            return None

    def meta(self) -> dict[str, Any]:
        """Node facts; a limit is the lowest across the GPUs, so none is over-stated."""
        nvml = self.nvml
        facts: dict[str, Any] = {"gpu_count": len(self.handles)}
        handles = [handle for handle in self.handles if handle is not None]
        names = [self._fact(nvml.nvmlDeviceGetName, handle) for handle in handles]
        name = next((name for name in names if name is not None), None)
        if name is not None:
            facts["gpu_model"] = name.decode() if isinstance(name, bytes) else str(name)
        readings = {
            "gpu_power_limit_w": lambda h: nvml.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0,
            "gpu_slowdown_c": lambda h: nvml.nvmlDeviceGetTemperatureThreshold(
                h, nvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN),
            "gpu_shutdown_c": lambda h: nvml.nvmlDeviceGetTemperatureThreshold(
                h, nvml.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN),
            "mem_max_c": lambda h: nvml.nvmlDeviceGetTemperatureThreshold(
                h, nvml.NVML_TEMPERATURE_THRESHOLD_MEM_MAX),
        }
        for fact, read in readings.items():
            values = [float(v) for v in (self._fact(read, h) for h in handles) if v is not None]
            if values:
                facts[fact] = min(values)
        return facts

    def sample(self) -> dict[str, Any]:
        """One node body: a reading per GPU, with the XIDs raised since the last sample."""
        self.xids.drain()
        return {"gpus": [self._gpu(index, handle) for index, handle in enumerate(self.handles)]}

    def _gpu(self, index: int, handle: Any) -> dict[str, Any]:
        reading = self._nulls(index)
        if handle is not None:
            try:
                reading = self._read(index, handle)
            except self.nvml.NVMLError as error:
                self._log_once(index, error)
        reading["xid"] = self.xids.take(index)
        return reading

    def _nulls(self, index: int) -> dict[str, Any]:
        """A GPU's reading when NVML cannot read it: every metric null, no throttle reason."""
        reading: dict[str, Any] = dict.fromkeys(GPU_METRICS)
        if self.has_margin[index]:
            reading["temp_margin_c"] = None
        reading["throttle"] = []
        return reading

    def _read(self, index: int, handle: Any) -> dict[str, Any]:
        nvml, optional = self.nvml, self._optional
        power_mw = optional(nvml.nvmlDeviceGetPowerUsage, handle)
        utilization = optional(nvml.nvmlDeviceGetUtilizationRates, handle)
        reading: dict[str, Any] = {
            "temp_c": optional(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU),
            "mem_temp_c": self._memory_temp(handle),
            "power_w": power_mw / 1000.0 if power_mw is not None else None,
            "util_pct": utilization.gpu if utilization is not None else None,
            "sm_clock_mhz": optional(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM),
            "ecc_dbe": optional(
                nvml.nvmlDeviceGetTotalEccErrors,
                handle,
                nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                nvml.NVML_VOLATILE_ECC,
            ),
        }
        if self.has_margin[index]:
            reading["temp_margin_c"] = optional(nvml.nvmlDeviceGetMarginTemperature, handle)
        reading["throttle"] = self._throttle(handle)
        return reading

    def _throttle(self, handle: Any) -> list[str]:
        """Active clock-event reasons; a binding or driver older than the rename has only
        ``...ThrottleReasons`` (same bits, domain.md 1c)."""
        for name in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"):
            read = getattr(self.nvml, name, None)
            if read is None:
                continue
            try:
                return throttle_names(read(handle))
            except self.nvml.NVMLError as error:
                if error.value == self.nvml.NVML_ERROR_FUNCTION_NOT_FOUND:
                    continue
                if self._unsupported(error):
                    return []
                raise
        return []

    def _memory_temp(self, handle: Any) -> float | None:
        """HBM temperature from the field-value API; None where the GPU does not report it."""
        nvml = self.nvml
        values = self._optional(nvml.nvmlDeviceGetFieldValues, handle, [nvml.NVML_FI_DEV_MEMORY_TEMP])
        if not values or values[0].nvmlReturn != nvml.NVML_SUCCESS:
            return None
        member = _FIELD_VALUE.get(values[0].valueType)
        return float(getattr(values[0].value, member)) if member else None

    def _log_once(self, index: int, error: Any) -> None:
        if (index, error.value) not in self._logged:
            self._logged.add((index, error.value))
            log.warning("GPU %d: NVML error %s: its metrics are null until it answers (logged once)",
                        index, error)

    def close(self) -> None:
        self.xids.close()
        try:
            self.nvml.nvmlShutdown()
        except self.nvml.NVMLError as error:
            log.debug("NVML shutdown: %s", error)
