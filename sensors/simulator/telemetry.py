"""Turn the plant's state into the payload bodies of the wire contract, with sensor noise.

Readings are gathered as arrays (one per metric), noised and rounded in one go, stuck channels
are overwritten in the arrays, and only then are the per-device dicts built, so a derived field
(``temp_margin_c``) agrees with the temperature it is derived from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sensors.simulator.campus import Campus
from sensors.simulator.effects import Effects
from sensors.simulator.physics import Plant
from sensors.topics import device_of_key

NO_EVENTS: tuple[()] = ()
"""Shared empty ``xid`` / ``throttle`` list (serialised as ``[]``; never mutated)."""


class Reporter:
    """Builds rack, node and CDU payload bodies (without ts/seq/boot) from the plant."""

    def __init__(self, campus: Campus, rng: np.random.Generator) -> None:
        self.campus = campus
        self.rng = rng
        self.ecc_dbe = np.zeros(campus.gpu_count, dtype=np.int64)
        self.frozen: dict[str, float] = {}
        self.devices: dict[str, tuple[str, int]] = {}
        for index, rack in enumerate(campus.racks):
            self.devices[f"{rack.path}/rack"] = ("rack", index)
        for node in range(campus.node_count):
            self.devices[campus.node_path(node)] = ("node", node)
        for index, cdu in enumerate(campus.cdus):
            self.devices[cdu.path] = ("cdu", index)

    def _noisy(self, values: np.ndarray, sigma: float, digits: int) -> np.ndarray:
        return np.round(values + self.rng.normal(0.0, sigma, values.shape), digits)

    def readings(self, plant: Plant, effects: Effects) -> dict[str, dict[str, np.ndarray]]:
        """Every reported number, per table (rack, node, gpu, cdu) and metric, stuck ones frozen."""
        campus = self.campus
        phases = plant.phase_currents_a(effects)
        power_kw = self._noisy(plant.rack_power_kw, 0.05, 2)
        pdu_a = np.round(power_kw * plant.rack_pdu_share, 2)
        rack = {
            "inlet_temp_c": self._noisy(plant.inlet_c, 0.1, 1),
            "outlet_temp_c": self._noisy(plant.inlet_c + 0.35 * plant.rack_power_kw, 0.15, 1),
            "humidity_pct": self._noisy(plant.humidity_pct(), 0.2, 1),
            "dew_point_c": self._noisy(plant.dew_point_c(), 0.05, 1),
            "power_kw": power_kw,
            "pdu_a_kw": pdu_a,
            "pdu_b_kw": np.round(power_kw - pdu_a, 2),
            "phase_l1_a": np.round(phases[:, 0] * self.rng.normal(1.0, 0.004, len(phases)), 1),
            "phase_l2_a": np.round(phases[:, 1] * self.rng.normal(1.0, 0.004, len(phases)), 1),
            "phase_l3_a": np.round(phases[:, 2] * self.rng.normal(1.0, 0.004, len(phases)), 1),
            "leak": effects.rack_leak.astype(np.int64),
            "door_open": effects.rack_door.astype(np.int64),
        }
        for gpu, count in effects.gpu_new_dbe.items():
            self.ecc_dbe[gpu] += count
        gpu = {
            "temp_c": self._noisy(plant.gpu_temp_c, 0.25, 1),
            "mem_temp_c": self._noisy(plant.hbm_temp_c, 0.25, 1),
            "power_w": self._noisy(plant.gpu_power_w, 3.0, 1),
            "util_pct": np.round(plant.gpu_util, 1),
            "sm_clock_mhz": plant.sm_clock_mhz.astype(np.int64),
            "ecc_dbe": self.ecc_dbe.copy(),
        }
        node = {
            "cpu_temp_c": self._noisy(plant.cpu_temp_c, 0.3, 1),
            "psu_power_w": self._noisy(plant.psu_power_w, 15.0, 0),
            "fan_pct": np.round(plant.fan_pct, 0),
        }
        cdu = {
            "supply_temp_c": self._noisy(plant.cdu_supply_c, 0.05, 2),
            "return_temp_c": self._noisy(plant.cdu_return_c, 0.05, 2),
            "flow_lpm": self._noisy(plant.cdu_flow_lpm, 1.0, 1),
            "pressure_kpa": self._noisy(plant.cdu_pressure_kpa, 0.5, 1),
            "leak": effects.cdu_leak.astype(np.int64),
        }
        tables = {"rack": rack, "node": node, "gpu": gpu, "cdu": cdu}
        self._freeze(tables, effects.stuck)
        gpu["temp_margin_c"] = np.round(campus.config.gpu_slowdown_c - gpu["temp_c"], 1)
        self._freeze(tables, effects.stuck)
        return tables

    def _freeze(self, tables: dict[str, dict[str, np.ndarray]], stuck: set[str]) -> None:
        """Overwrite stuck channels with the value each had when it stuck."""
        for key in list(self.frozen):
            if key not in stuck:
                del self.frozen[key]
        for key in stuck:
            table, index, metric = self._locate(key)
            if metric not in tables[table]:
                continue
            value = self.frozen.setdefault(key, float(tables[table][metric][index]))
            tables[table][metric][index] = value

    def _locate(self, key: str) -> tuple[str, int, str]:
        device = device_of_key(key)
        table, index = self.devices[device]
        rest = key[len(device) + 1 :].split("/")
        if len(rest) == 2:
            return "gpu", index * self.campus.config.gpus_per_node + int(rest[0][3:]), rest[1]
        return table, index, rest[0]

    def rack_bodies(self, tables: dict[str, dict[str, np.ndarray]]) -> list[dict[str, Any]]:
        names, columns = zip(*((n, v.tolist()) for n, v in tables["rack"].items()), strict=True)
        return [{"metrics": dict(zip(names, row, strict=True))} for row in zip(*columns, strict=True)]

    def cdu_bodies(self, tables: dict[str, dict[str, np.ndarray]]) -> list[dict[str, Any]]:
        names, columns = zip(*((n, v.tolist()) for n, v in tables["cdu"].items()), strict=True)
        return [{"metrics": dict(zip(names, row, strict=True))} for row in zip(*columns, strict=True)]

    def node_bodies(
        self, tables: dict[str, dict[str, np.ndarray]], plant: Plant, effects: Effects
    ) -> list[dict[str, Any]]:
        """One body per node (silent nodes included: the caller skips them)."""
        gpu = tables["gpu"]
        gpus: list[dict[str, Any]] = [
            {"temp_c": t, "mem_temp_c": m, "power_w": p, "util_pct": u, "sm_clock_mhz": c, "ecc_dbe": e,
             "xid": NO_EVENTS, "throttle": NO_EVENTS, "temp_margin_c": g}
            for t, m, p, u, c, e, g in zip(
                gpu["temp_c"].tolist(), gpu["mem_temp_c"].tolist(), gpu["power_w"].tolist(),
                gpu["util_pct"].tolist(), gpu["sm_clock_mhz"].tolist(), gpu["ecc_dbe"].tolist(),
                gpu["temp_margin_c"].tolist(), strict=True,
            )
        ]
        throttled = plant.sw_thermal | plant.hw_thermal | plant.power_brake
        for index in np.flatnonzero(throttled).tolist():
            reasons = []
            if plant.hw_thermal[index] or plant.power_brake[index]:
                reasons.append("hw_slowdown")
            if plant.hw_thermal[index]:
                reasons.append("hw_thermal")
            elif plant.sw_thermal[index]:
                reasons.append("sw_thermal")
            if plant.power_brake[index]:
                reasons.append("hw_power_brake")
            gpus[index]["throttle"] = reasons
        for index, codes in effects.gpu_xids.items():
            gpus[index]["xid"] = list(codes)
        node = tables["node"]
        per_node = self.campus.config.gpus_per_node
        return [
            {"gpus": gpus[n * per_node : (n + 1) * per_node],
             "metrics": {"cpu_temp_c": c, "psu_power_w": p, "fan_pct": f}}
            for n, (c, p, f) in enumerate(zip(node["cpu_temp_c"].tolist(), node["psu_power_w"].tolist(),
                                              node["fan_pct"].tolist(), strict=True))
        ]
