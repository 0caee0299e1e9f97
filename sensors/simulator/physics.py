"""The plant as numpy arrays: GPU power and temperatures, node, rack air and power, CDU loop.

Everything is vectorised over all GPUs, nodes, racks and CDUs. Temperatures follow their
steady-state targets through first-order lags (a thermal time constant), so a load step shows as
a curve of tens of seconds, not a jump. Numbers come from ../shared/domain.md where it has them.
"""

from __future__ import annotations

import numpy as np

from sensors.simulator.campus import Campus
from sensors.simulator.effects import Effects

GPU_TAU_S = 25.0
"""GPU die thermal time constant on a cold plate (tens of seconds)."""
HBM_TAU_S = 40.0
AIR_TAU_S = 90.0
COOLANT_TAU_S = 120.0
SUPPLY_SETPOINT_C = 25.0
"""Secondary loop supply, "roughly 25 C in, 45 C out" (domain.md 5d)."""
AIR_SUPPLY_C = 21.5
"""Cold-aisle supply, inside ASHRAE recommended 18-27 C (domain.md 4a)."""
LIQUID_FRACTION = 0.8
"""Share of rack heat carried by the liquid loop; the rest leaves as warm air."""
FLOW_LPM_PER_KW = 1.5
"""OCP OAI guideline: 1.5 L/min per kW at dT <= 10 K (domain.md 5d)."""
DESIGN_RACK_KW = 40.0
OUTLET_C_PER_KW = 0.35
RECIRCULATION_C_PER_KW = 0.03
PHASE_VOLTS = 240.0
"""Line-to-neutral volts of a 415 V three-phase feed."""
SM_CLOCK_MAX_MHZ = 1980.0
SM_CLOCK_IDLE_MHZ = 345.0
RACK_MISC_KW = 1.2
"""Switches and rack fans on the same PDUs."""


def _lag(value: np.ndarray, target: np.ndarray, dt: float, tau: float) -> np.ndarray:
    return value + (target - value) * (1.0 - np.exp(-dt / tau))


class Plant:
    """The physical state of a campus, advanced one tick at a time."""

    def __init__(self, campus: Campus, rng: np.random.Generator) -> None:
        self.campus = campus
        config = campus.config
        self.rng = rng
        gpus = campus.gpu_count
        self.gpu_rack = campus.node_rack[campus.gpu_node]
        self.gpu_cdu = campus.rack_cdu[self.gpu_rack]
        self.idle_w = rng.uniform(70.0, 100.0, gpus)
        self.busy_w = rng.uniform(640.0, 690.0, gpus)
        self.resistance = rng.uniform(0.054, 0.060, gpus)
        """Die-to-coolant thermal resistance, K/W: 690 W over 25 C coolant gives about 64 C."""
        self.rack_pdu_share = 0.5 + rng.uniform(-0.012, 0.012, campus.rack_count)
        shares = 1.0 / 3.0 + rng.uniform(-0.006, 0.006, (campus.rack_count, 3))
        self.rack_phase_share = shares / shares.sum(axis=1, keepdims=True)
        self.hall_dew_point_c = rng.uniform(8.5, 11.0, campus.hall_count)
        racks_per_cdu = np.bincount(campus.rack_cdu, minlength=len(campus.cdus))
        self.cdu_nominal_lpm = FLOW_LPM_PER_KW * LIQUID_FRACTION * DESIGN_RACK_KW * racks_per_cdu
        self.gpu_util = np.zeros(gpus)
        self.gpu_power_w = self.idle_w.copy()
        self.gpu_temp_c = SUPPLY_SETPOINT_C + self.resistance * self.idle_w
        self.hbm_temp_c = self.gpu_temp_c + 6.0
        self.sm_clock_mhz = np.full(gpus, SM_CLOCK_IDLE_MHZ)
        self.sw_thermal = np.zeros(gpus, dtype=bool)
        self.hw_thermal = np.zeros(gpus, dtype=bool)
        self.power_brake = np.zeros(gpus, dtype=bool)
        self.mem_throttle = np.zeros(gpus, dtype=bool)
        self.node_util = np.zeros(campus.node_count)
        self.cpu_temp_c = np.full(campus.node_count, 40.0)
        self.fan_pct = np.full(campus.node_count, 30.0)
        self.psu_power_w = np.zeros(campus.node_count)
        self.rack_power_kw = np.zeros(campus.rack_count)
        self.rack_base_kw = np.zeros(campus.rack_count)
        """Rack power of its nodes and switches, without any fault's extra load."""
        self.inlet_c = np.full(campus.rack_count, AIR_SUPPLY_C + 1.0)
        self.cdu_supply_c = np.full(len(campus.cdus), SUPPLY_SETPOINT_C)
        self.cdu_return_c = self.cdu_supply_c + 6.0
        self.cdu_flow_lpm = self.cdu_nominal_lpm.copy()
        self.cdu_pressure_kpa = np.full(len(campus.cdus), 220.0)
        self.config = config

    def step(self, dt: float, node_util: np.ndarray, node_intensity: np.ndarray, effects: Effects) -> None:
        """Advance the plant by ``dt`` seconds under the given load and faults."""
        campus, config = self.campus, self.config
        self.node_util = node_util
        util = node_util[campus.gpu_node]
        busy = util > 10.0
        util = np.where(busy, np.clip(util + self.rng.normal(0.0, 0.6, util.size), 0.0, 100.0), util)
        self.gpu_util = util
        load = util / 100.0
        intensity = node_intensity[campus.gpu_node]
        power = self.idle_w + (self.busy_w * intensity - self.idle_w) * load
        self.power_brake = effects.node_power_brake[campus.gpu_node]
        self.sw_thermal = (self.gpu_temp_c >= config.gpu_slowdown_c) | (self.hbm_temp_c >= config.mem_max_c)
        self.hw_thermal = self.gpu_temp_c >= config.gpu_hw_slowdown_c
        self.mem_throttle = self.hbm_temp_c >= config.mem_max_c
        clock_factor = np.ones_like(power)
        clock_factor[self.sw_thermal] = 0.85
        clock_factor[self.hw_thermal] = 0.5
        clock_factor[self.power_brake] = np.minimum(clock_factor[self.power_brake], 0.4)
        power = self.idle_w + (power - self.idle_w) * clock_factor
        self.gpu_power_w = np.minimum(power, config.gpu_power_limit_w)
        clock = SM_CLOCK_IDLE_MHZ + (SM_CLOCK_MAX_MHZ - SM_CLOCK_IDLE_MHZ) * np.minimum(1.0, load * 3.0)
        self.sm_clock_mhz = np.round(clock * clock_factor / 15.0) * 15.0

        rack_kw_before = self.rack_power_kw
        air_target = (
            AIR_SUPPLY_C
            + 0.35 * (self.cdu_supply_c[campus.rack_cdu] - SUPPLY_SETPOINT_C)
            + RECIRCULATION_C_PER_KW * rack_kw_before
            + effects.rack_air_c
        )
        self.inlet_c = _lag(self.inlet_c, air_target, dt, AIR_TAU_S)
        gpu_inlet = self.inlet_c[self.gpu_rack]
        coolant = self.cdu_supply_c[self.gpu_cdu]
        gpu_target = (
            coolant
            + self.resistance * self.gpu_power_w
            + 0.2 * (gpu_inlet - AIR_SUPPLY_C)
            + effects.gpu_heat_c
        )
        self.gpu_temp_c = _lag(self.gpu_temp_c, gpu_target, dt, GPU_TAU_S)
        hbm_target = self.gpu_temp_c + 6.0 + 4.0 * load + effects.hbm_heat_c
        self.hbm_temp_c = _lag(self.hbm_temp_c, hbm_target, dt, HBM_TAU_S)

        node_gpu_w = self.gpu_power_w.reshape(campus.node_count, config.gpus_per_node).sum(axis=1)
        node_load = node_util / 100.0
        self.psu_power_w = node_gpu_w + 1400.0 + 900.0 * node_load
        node_inlet = self.inlet_c[campus.node_rack]
        self.cpu_temp_c = _lag(self.cpu_temp_c, 38.0 + 20.0 * node_load + 0.5 * (node_inlet - 22.0), dt, 20.0)
        self.fan_pct = np.clip(25.0 + 45.0 * node_load + 2.5 * (node_inlet - 22.0), 20.0, 100.0)
        nodes_kw = np.bincount(campus.node_rack, weights=self.psu_power_w, minlength=campus.rack_count)
        self.rack_base_kw = nodes_kw / 1000.0 + RACK_MISC_KW
        self.rack_power_kw = self.rack_base_kw + effects.rack_extra_kw

        cdu_count = len(campus.cdus)
        liquid_kw = self.rack_power_kw * LIQUID_FRACTION
        heat_kw = np.bincount(campus.rack_cdu, weights=liquid_kw, minlength=cdu_count)
        self.cdu_supply_c = _lag(
            self.cdu_supply_c, SUPPLY_SETPOINT_C + effects.cdu_supply_c, dt, COOLANT_TAU_S
        )
        flow_target = self.cdu_nominal_lpm * np.where(effects.cdu_leak > 0, 0.8, 1.0)
        self.cdu_flow_lpm = _lag(self.cdu_flow_lpm, flow_target, dt, 30.0)
        pressure_target = np.where(effects.cdu_leak > 0, 140.0, 220.0)
        self.cdu_pressure_kpa = _lag(self.cdu_pressure_kpa, pressure_target, dt, 60.0)
        # Q[kW] = 4.186 x flow[L/s] x dT[K] for water (domain.md 5d).
        self.cdu_return_c = self.cdu_supply_c + heat_kw / (4.186 * self.cdu_flow_lpm / 60.0)
        self.hall_dew_point_c = np.clip(
            self.hall_dew_point_c + self.rng.normal(0.0, 0.01 * np.sqrt(dt), self.hall_dew_point_c.size),
            6.0, 13.0,
        )

    def phase_currents_a(self, effects: Effects) -> np.ndarray:
        """Per-rack current of each phase, amperes (racks x 3)."""
        shares = self.rack_phase_share + effects.rack_phase_skew
        return self.rack_power_kw[:, None] * 1000.0 * shares / PHASE_VOLTS

    def humidity_pct(self) -> np.ndarray:
        """Relative humidity at each rack inlet from the hall's dew point (Magnus formula)."""
        dew = self.hall_dew_point_c[self.campus.hall_of_rack]
        a, b = 17.625, 243.04
        return 100.0 * np.exp(a * dew / (b + dew) - a * self.inlet_c / (b + self.inlet_c))

    def dew_point_c(self) -> np.ndarray:
        return self.hall_dew_point_c[self.campus.hall_of_rack]
