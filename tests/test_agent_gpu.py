"""The NVML GPU agent's mapping, with NVML replaced at its boundary by recorded values."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from sensors.agents.gpu import GpuSampler, NvmlUnavailable, load_nvml, throttle_names
from sensors.agents.publisher import NodePlace, Stamper
from sensors.codec import decode, encode_payload
from sensors.messages import Meta, Telemetry
from sensors.topics import meta_topic
from tests.fake_nvml import FakeNvml

PLACE = NodePlace.of(node="gpu-n3", rack="rk12", site="s1", hall="h1", row="r07")


def decoded(sampler: GpuSampler, stamper: Stamper) -> Telemetry:
    payload = encode_payload(stamper.stamp(sampler.sample(), ts=1767225600.0))
    message = decode(PLACE.topic, payload)
    assert isinstance(message, Telemetry), message
    return message


def test_readings_map_to_the_wire_names_and_units() -> None:
    sampler = GpuSampler(FakeNvml())
    message = decoded(sampler, Stamper(boot="b1"))
    values = message.values
    assert (message.seq, message.boot) == (0, "b1")
    assert values["gpu0/temp_c"] == 64.0
    assert values["gpu0/mem_temp_c"] == 71.0
    assert values["gpu0/power_w"] == 655.0
    assert values["gpu0/util_pct"] == 99.0
    assert values["gpu0/sm_clock_mhz"] == 1980.0
    assert values["gpu0/ecc_dbe"] == 0.0
    assert values["gpu0/temp_margin_c"] == 23.0
    assert values["gpu1/power_w"] == 71.0
    assert values["gpu1/temp_margin_c"] == 54.0
    assert values["gpu2/temp_margin_c"] == -1.0


def test_what_a_gpu_does_not_report_is_null() -> None:
    message = decoded(GpuSampler(FakeNvml()), Stamper())
    assert math.isnan(message.values["gpu2/mem_temp_c"])
    assert math.isnan(message.values["gpu2/ecc_dbe"])
    assert message.values["gpu2/temp_c"] == 88.0


def test_throttle_reasons_follow_the_nvml_bitmask() -> None:
    message = decoded(GpuSampler(FakeNvml()), Stamper())
    assert (0, "sw_power_cap") in message.throttle
    assert [reason for gpu, reason in message.throttle if gpu == 1] == []
    assert sorted(reason for gpu, reason in message.throttle if gpu == 2) == sorted(
        ["sw_power_cap", "hw_slowdown", "sw_thermal", "hw_thermal", "hw_power_brake"]
    )
    assert throttle_names(0x001 | 0x010 | 0x100) == []
    every = ["sw_power_cap", "hw_slowdown", "sw_thermal", "hw_thermal", "hw_power_brake"]
    assert throttle_names(0x1FF) == every


def test_node_meta_from_nvml_takes_the_lowest_limit() -> None:
    meta = decode(meta_topic(PLACE.topic), encode_payload(GpuSampler(FakeNvml()).meta()))
    assert isinstance(meta, Meta)
    assert meta.facts == {
        "gpu_count": 3.0,
        "gpu_model": "NVIDIA H100 80GB HBM3",
        "gpu_power_limit_w": 650.0,
        "gpu_slowdown_c": 89.0,
        "gpu_shutdown_c": 92.0,
        "mem_max_c": 95.0,
    }


def test_xid_events_go_to_the_next_message_of_their_gpu_only() -> None:
    nvml = FakeNvml()
    sampler, stamper = GpuSampler(nvml), Stamper()
    assert decoded(sampler, stamper).xid == ()
    nvml.raise_xid(0, 48)
    nvml.raise_xid(2, 79)
    nvml.raise_xid(0, 63)
    assert decoded(sampler, stamper).xid == ((0, 48), (0, 63), (2, 79))
    assert decoded(sampler, stamper).xid == ()
    assert nvml.wait_timeouts and set(nvml.wait_timeouts) == {0}


def test_a_gpu_lost_mid_run_gives_nulls_keeps_its_xids_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nvml = FakeNvml()
    sampler, stamper = GpuSampler(nvml), Stamper()
    decoded(sampler, stamper)
    nvml.lose(1)
    nvml.raise_xid(1, 79)
    with caplog.at_level(logging.WARNING):
        lost = decoded(sampler, stamper)
        again = decoded(sampler, stamper)
    for metric in ("temp_c", "mem_temp_c", "power_w", "util_pct", "sm_clock_mhz", "ecc_dbe", "temp_margin_c"):
        assert math.isnan(lost.values[f"gpu1/{metric}"]), metric
        assert math.isnan(again.values[f"gpu1/{metric}"]), metric
    assert lost.values["gpu0/temp_c"] == 64.0
    assert lost.xid == ((1, 79),)
    assert [reason for gpu, reason in lost.throttle if gpu == 1] == []
    assert sum("GPU is lost" in record.getMessage() for record in caplog.records) == 1
    nvml.recover(1)
    assert decoded(sampler, stamper).values["gpu1/temp_c"] == 33.0


def test_a_gpu_already_lost_at_start_keeps_its_place_with_nulls(caplog: pytest.LogCaptureFixture) -> None:
    nvml = FakeNvml()
    nvml.lose(0)
    with caplog.at_level(logging.WARNING):
        sampler = GpuSampler(nvml)
        message = decoded(sampler, Stamper())
        decoded(sampler, Stamper())
    assert math.isnan(message.values["gpu0/temp_c"]) and "gpu0/temp_margin_c" not in message.values
    assert message.values["gpu1/temp_c"] == 33.0 and message.values["gpu2/temp_c"] == 88.0
    assert sampler.meta()["gpu_model"] == "NVIDIA H100 80GB HBM3"
    assert sum("GPU is lost" in record.getMessage() for record in caplog.records) == 1


def test_an_older_binding_without_margin_or_event_reasons_still_maps() -> None:
    class OlderBinding(FakeNvml):
        nvmlDeviceGetMarginTemperature = None
        nvmlDeviceGetCurrentClocksEventReasons = None

    message = decoded(GpuSampler(OlderBinding()), Stamper())
    assert not any(key.endswith("temp_margin_c") for key in message.values)
    assert (0, "sw_power_cap") in message.throttle


def test_a_driver_without_the_renamed_call_falls_back_to_throttle_reasons() -> None:
    class OlderDriver(FakeNvml):
        def nvmlDeviceGetCurrentClocksEventReasons(self, handle: Any) -> int:
            raise self.NVMLError(13)

    message = decoded(GpuSampler(OlderDriver()), Stamper())
    assert (0, "sw_power_cap") in message.throttle
    assert len([gpu for gpu, _ in message.throttle if gpu == 2]) == 5


@pytest.mark.parametrize(
    ("nvml", "says"),
    [
        (FakeNvml(library=False), "NVML Shared Library Not Found"),
        (FakeNvml(driver=False), "Driver Not Loaded"),
        (FakeNvml(gpus=[]), "no GPU"),
    ],
)
def test_no_library_driver_or_gpu_is_a_clear_error(nvml: FakeNvml, says: str) -> None:
    with pytest.raises(NvmlUnavailable, match="NVML not available") as raised:
        GpuSampler(nvml)
    assert says in str(raised.value)


def test_close_frees_the_event_set_and_shuts_nvml_down() -> None:
    nvml = FakeNvml()
    GpuSampler(nvml).close()
    assert nvml.freed and not nvml.initialised


def test_the_fake_matches_the_real_binding() -> None:
    """Every constant and function the fake offers exists in nvidia-ml-py with the same value."""
    pynvml = pytest.importorskip("pynvml")
    import tests.fake_nvml as fake

    constants = [name for name in vars(fake) if name.startswith(("NVML_", "nvmlEventType"))]
    assert constants
    for name in constants:
        assert getattr(pynvml, name) == getattr(fake, name), name
    for name in vars(FakeNvml):
        if name.startswith("nvml"):
            assert callable(getattr(pynvml, name)), name
    assert load_nvml() is pynvml


def test_a_machine_without_event_sets_still_reports_metrics(caplog: pytest.LogCaptureFixture) -> None:
    class NoEvents(FakeNvml):
        def nvmlEventSetCreate(self) -> object:
            raise self.NVMLError(3)

    nvml = NoEvents()
    with caplog.at_level(logging.WARNING):
        sampler = GpuSampler(nvml)
    nvml.raise_xid(0, 48)
    message = decoded(sampler, Stamper())
    assert message.values["gpu0/temp_c"] == 64.0 and message.xid == ()
    assert "XID events not available" in caplog.text
    sampler.close()
    assert not nvml.freed



def test_the_agent_reads_the_real_bindings_structures() -> None:
    """Field values and utilisation as nvidia-ml-py's ctypes structures, not namespaces."""
    pynvml = pytest.importorskip("pynvml")

    class RealStructures(FakeNvml):
        def nvmlDeviceGetFieldValues(self, handle: Any, field_ids: list[int]) -> Any:
            values = (pynvml.c_nvmlFieldValue_t * len(field_ids))()
            recorded = super().nvmlDeviceGetFieldValues(handle, field_ids)
            for slot, reading in zip(values, recorded, strict=True):
                slot.fieldId, slot.valueType = reading.fieldId, reading.valueType
                slot.nvmlReturn, slot.value.uiVal = reading.nvmlReturn, reading.value.uiVal
            return values

        def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any:
            return pynvml.c_nvmlUtilization_t(gpu=self._gpu(handle).util_pct, memory=3)

    message = decoded(GpuSampler(RealStructures()), Stamper())
    assert message.values["gpu0/mem_temp_c"] == 71.0
    assert math.isnan(message.values["gpu2/mem_temp_c"])
    assert message.values["gpu0/util_pct"] == 99.0 and message.values["gpu1/util_pct"] == 0.0
