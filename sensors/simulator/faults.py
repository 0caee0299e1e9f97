"""Active faults: each scenario as a small object that writes its effects every tick.

Targets named by the operator are resolved when the simulator is built (a bad one is a clear
ValueError); targets left open are picked when the fault starts, from the seeded generator,
preferring busy hardware so the fault shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sensors.simulator.campus import Campus
from sensors.simulator.effects import Effects
from sensors.simulator.fault_effects import apply_fault
from sensors.simulator.physics import Plant
from sensors.simulator.scenarios import Label, ScenarioSpec


@dataclass(slots=True)
class Fault:
    """One running scenario with its resolved target and ground-truth label."""

    spec: ScenarioSpec
    start: float
    end: float
    target: int
    """Index of the row, rack, node, GPU or CDU hit (-1 for a channel fault)."""
    on_cdu: bool
    keys: tuple[str, ...]
    channel: str = ""
    fired: set[str] = field(default_factory=set)

    @property
    def label(self) -> Label:
        return Label(self.spec.name, self.spec.kind.label_kind, self.keys, self.start, self.end)

    def once(self, step: str) -> bool:
        """True the first time a step of the fault's timeline is reached."""
        if step in self.fired:
            return False
        self.fired.add(step)
        return True


class FaultBook:
    """Starts, applies and ends the scenarios of one run."""

    def __init__(self, campus: Campus, specs: Sequence[ScenarioSpec], rng: np.random.Generator) -> None:
        self.campus = campus
        self.rng = rng
        self.pending = sorted(specs, key=lambda spec: spec.at)
        self.targets = [self._resolve(spec) for spec in self.pending]
        self.active: list[Fault] = []
        self.labels: list[Label] = []

    def _resolve(self, spec: ScenarioSpec) -> tuple[int, bool, str] | None:
        """(index, on a CDU, channel key) of a named target; None to pick one at start."""
        if spec.target is None:
            return None
        campus, kinds = self.campus, spec.kind.target.split("|")
        if "cdu" in kinds and (cdu := campus.find_cdu(spec.target)) is not None:
            return cdu, True, ""
        finders = {"row": campus.find_row, "rack": campus.find_rack, "node": campus.find_node,
                   "gpu": campus.find_gpu}
        for kind in kinds:
            if kind == "channel":
                key = campus.channel_key(spec.target)
                if key is not None:
                    return -1, False, key
            elif kind in finders and (index := finders[kind](spec.target)) is not None:
                return index, False, ""
        examples = {"row": "r03", "rack": "r03/rk04", "node": "r03/rk04/n2", "gpu": "r03/rk04/n2/gpu5",
                    "cdu": "cdu1", "channel": "r03/rk04/rack/inlet_temp_c or r03/rk04/n2/gpu5/temp_c"}
        if not spec.strict:
            return None
        wanted = " or ".join(f"a {kind} such as {examples[kind]}" for kind in kinds)
        raise ValueError(f"scenario {spec}: no {spec.target!r} in this campus; the target is {wanted}")

    def _pick(self, spec: ScenarioSpec, plant: Plant) -> tuple[int, bool, str]:
        campus, rng = self.campus, self.rng
        kind = spec.kind.target.split("|")[0]
        busy_nodes = np.flatnonzero(plant.node_util > 10.0)
        nodes = busy_nodes if busy_nodes.size else np.arange(campus.node_count)
        node = int(nodes[rng.integers(nodes.size)])
        gpu = node * campus.config.gpus_per_node + int(rng.integers(campus.config.gpus_per_node))
        if kind == "row":
            return int(rng.integers(campus.row_count)), False, ""
        if kind == "rack":
            return int(rng.integers(campus.rack_count)), False, ""
        if kind == "node":
            return node, False, ""
        if kind == "gpu":
            return gpu, False, ""
        return -1, False, campus.gpu_key(gpu, "temp_c")

    def _keys(self, spec: ScenarioSpec, index: int, on_cdu: bool, channel: str) -> tuple[str, ...]:
        campus, name = self.campus, spec.name
        if name == "cooling_failure":
            racks = campus.racks_of_cdu(index) if on_cdu else campus.racks_in_row(index)
            keys = [campus.rack_key(int(r), m) for r in racks for m in ("inlet_temp_c", "outlet_temp_c")]
            if on_cdu:
                keys = [campus.cdu_key(index, "supply_temp_c"), campus.cdu_key(index, "return_temp_c"), *keys]
            return tuple(keys)
        if name in ("gpu_cooling", "hbm_overtemp", "xid_storm"):
            metrics = {"gpu_cooling": ("temp_c", "mem_temp_c", "temp_margin_c"),
                       "hbm_overtemp": ("mem_temp_c",), "xid_storm": ("xid", "ecc_dbe")}[name]
            return tuple(campus.gpu_key(index, metric) for metric in metrics)
        if name == "power_excursion":
            metrics = ("power_kw", "pdu_a_kw", "pdu_b_kw", "phase_l1_a", "phase_l2_a", "phase_l3_a")
            return tuple(campus.rack_key(index, metric) for metric in metrics)
        if name == "phase_imbalance":
            return tuple(campus.rack_key(index, f"phase_l{p}_a") for p in (1, 2, 3))
        if name == "leak":
            if on_cdu:
                return tuple(campus.cdu_key(index, m) for m in ("leak", "pressure_kpa", "flow_lpm"))
            return (campus.rack_key(index, "leak"),)
        if name == "stuck_sensor":
            return (channel,)
        if name in ("sensor_dropout", "publisher_restart"):
            return tuple(campus.node_keys(index))
        if name == "power_brake":
            first = index * campus.config.gpus_per_node
            gpus = range(first, first + campus.config.gpus_per_node)
            keys = [campus.gpu_key(g, m) for g in gpus for m in ("power_w", "sm_clock_mhz", "throttle")]
            return (campus.node_key(index, "psu_power_w"), *keys)
        site = campus.racks[index].site
        indicators = ("doors_forced_or_held", "privileged_sessions_open", "weight_store_access_anomalies")
        return (campus.rack_key(index, "door_open"), *(f"{site}/security/safeguards/{i}" for i in indicators))

    def advance(self, now: float, start: float, dt: float, plant: Plant, effects: Effects) -> None:
        """Start due faults, apply running ones to ``effects``, end finished ones."""
        while self.pending and start + self.pending[0].at <= now:
            spec, target = self.pending.pop(0), self.targets.pop(0)
            index, on_cdu, channel = target if target is not None else self._pick(spec, plant)
            begin = start + spec.at
            fault = Fault(spec, begin, begin + spec.length, index, on_cdu,
                          self._keys(spec, index, on_cdu, channel), channel)
            self.active.append(fault)
            self.labels.append(fault.label)
        for fault in list(self.active):
            # A fault shorter than a tick still acts for one tick, so its label is never empty.
            if now >= fault.end and fault.fired:
                self.active.remove(fault)
                if fault.spec.name == "publisher_restart":
                    effects.restarted_nodes.add(fault.target)
                continue
            fault.once("applied")
            apply_fault(fault, now, dt, self.campus, plant, effects, self.rng)
