"""What active faults do to the plant and to the reports in one tick.

Scenarios write an ``Effects``; the physics reads the plant part (heat, air, coolant, load,
power brake) and the telemetry reads the reporting part (stuck channels, silent nodes, XIDs).
A fresh one is made every tick, so a fault that ends simply stops writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensors.simulator.campus import Campus


@dataclass(slots=True)
class Effects:
    gpu_heat_c: np.ndarray
    """Extra steady-state GPU temperature (cold-plate fault), per GPU."""
    hbm_heat_c: np.ndarray
    """Extra HBM temperature above the GPU, per GPU."""
    rack_air_c: np.ndarray
    """Extra inlet air temperature from lost row cooling, per rack."""
    rack_extra_kw: np.ndarray
    """Load on the rack's PDUs that is not its GPU nodes, per rack."""
    rack_phase_skew: np.ndarray
    """Added share of each phase, per rack (rows sum to 0)."""
    rack_leak: np.ndarray
    rack_door: np.ndarray
    cdu_supply_c: np.ndarray
    """Extra coolant supply temperature (lost facility water), per CDU."""
    cdu_leak: np.ndarray
    node_power_brake: np.ndarray
    """External power-brake assertion on every GPU of a node."""
    gpu_xids: dict[int, list[int]] = field(default_factory=dict)
    gpu_new_dbe: dict[int, int] = field(default_factory=dict)
    silent_nodes: set[int] = field(default_factory=set)
    stuck: set[str] = field(default_factory=set)
    """Channel keys that repeat the value they had when they stuck."""
    offline_nodes: set[int] = field(default_factory=set)
    """Nodes whose agent stops this tick (publishes its status offline)."""
    restarted_nodes: set[int] = field(default_factory=set)
    """Nodes whose agent starts again this tick: new boot, seq from 0, meta and status again."""
    hold_nodes: dict[int, float] = field(default_factory=dict)
    """Nodes a fault needs busy -> until when (sim epoch)."""
    indicators: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    """Site -> security control -> indicator -> value, overriding the healthy baseline."""
    events: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    """Events raised this tick: (site, kind, severity, where, detail)."""

    @classmethod
    def none(cls, campus: Campus) -> Effects:
        gpus, racks, cdus = campus.gpu_count, campus.rack_count, len(campus.cdus)
        return cls(
            gpu_heat_c=np.zeros(gpus),
            hbm_heat_c=np.zeros(gpus),
            rack_air_c=np.zeros(racks),
            rack_extra_kw=np.zeros(racks),
            rack_phase_skew=np.zeros((racks, 3)),
            rack_leak=np.zeros(racks, dtype=np.int8),
            rack_door=np.zeros(racks, dtype=np.int8),
            cdu_supply_c=np.zeros(cdus),
            cdu_leak=np.zeros(cdus, dtype=np.int8),
            node_power_brake=np.zeros(campus.node_count, dtype=bool),
        )
