"""What each scenario does to the plant and the reports while it runs, tick by tick."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from sensors.simulator.campus import Campus
from sensors.simulator.effects import Effects
from sensors.simulator.physics import Plant

if TYPE_CHECKING:
    from sensors.simulator.faults import Fault

XID_STORM_CODES = (94, 94, 48, 13, 79)
"""Contained ECC (94), DBE (48), graphics exception (13), fallen off the bus (79) (domain.md 2)."""
XID_STORM_EVERY_S = 8.0
EXCURSION_OF_RATING = 0.92
"""A power excursion drives the rack to 92 % of its PDU rating, past the 80 % rule (domain.md 5b)."""
PHASE_SKEW = np.array([0.09, -0.02, -0.07])
"""Added phase shares: max deviation 0.09 / mean 0.333 = 27 % imbalance, critical > 20 % (domain.md 5c)."""
HOLDS_NODE_BUSY = frozenset({"gpu_cooling", "hbm_overtemp", "xid_storm", "power_brake"})
"""Faults that show only under load, so their node keeps a job for the fault's duration."""
CAGE = "cage-w1"
WEIGHT_STORE = "weight-store-02"


def _ramp(now: float, start: float, seconds: float) -> float:
    return float(min(1.0, max(0.0, (now - start) / seconds)))


def apply_fault(
    fault: Fault,
    now: float,
    dt: float,
    campus: Campus,
    plant: Plant,
    effects: Effects,
    rng: np.random.Generator,
) -> None:
    """Write one running fault's effects for this tick."""
    name, index, elapsed = fault.spec.name, fault.target, now - fault.start
    if name in HOLDS_NODE_BUSY:
        node = index if name == "power_brake" else index // campus.config.gpus_per_node
        effects.hold_nodes[node] = fault.end
    if name == "cooling_failure":
        if fault.on_cdu:
            effects.cdu_supply_c[index] += 14.0 * _ramp(now, fault.start, 120.0)
        else:
            effects.rack_air_c[campus.racks_in_row(index)] += 12.0 * _ramp(now, fault.start, 240.0)
    elif name == "gpu_cooling":
        # Heat that grows with the GPU's power: a clogging cold plate raises its thermal resistance.
        share = elapsed / fault.spec.length
        effects.gpu_heat_c[index] += share * (4.0 + 0.045 * plant.gpu_power_w[index])
    elif name == "hbm_overtemp":
        effects.hbm_heat_c[index] += 38.0 * _ramp(now, fault.start, 0.5 * fault.spec.length)
    elif name == "power_excursion":
        rating = campus.config.pdu_rating_kw
        missing = max(0.0, EXCURSION_OF_RATING * rating - float(plant.rack_base_kw[index]))
        effects.rack_extra_kw[index] += missing * _ramp(now, fault.start, 30.0)
    elif name == "phase_imbalance":
        effects.rack_phase_skew[index] += PHASE_SKEW * _ramp(now, fault.start, 20.0)
    elif name == "leak":
        if fault.on_cdu:
            effects.cdu_leak[index] = 1
        else:
            effects.rack_leak[index] = 1
    elif name == "stuck_sensor":
        effects.stuck.add(fault.channel)
    elif name == "sensor_dropout":
        effects.silent_nodes.add(index)
    elif name == "xid_storm":
        if fault.once("first") or rng.random() < min(1.0, dt / XID_STORM_EVERY_S):
            code = int(XID_STORM_CODES[int(rng.integers(len(XID_STORM_CODES)))])
            effects.gpu_xids.setdefault(index, []).append(code)
            if code == 48:
                effects.gpu_new_dbe[index] = effects.gpu_new_dbe.get(index, 0) + 1
    elif name == "power_brake":
        effects.node_power_brake[index] = True
    elif name == "publisher_restart":
        if fault.once("stop"):
            effects.offline_nodes.add(index)
        effects.silent_nodes.add(index)
    elif name == "cage_intrusion":
        _cage_intrusion(fault, now, campus, effects)


def _cage_intrusion(fault: Fault, now: float, campus: Campus, effects: Effects) -> None:
    """Forced cage door, a held door, then a privileged session at night on a model-weight store.

    Steps are spaced by fractions of the duration (default 1200 s: session after 4 minutes).
    """
    rack = campus.racks[fault.target]
    cage, store = f"{rack.hall}/{CAGE}", f"{rack.hall}/{WEIGHT_STORE}"
    elapsed, length = now - fault.start, fault.spec.length
    clock = time.strftime("%H:%M UTC", time.gmtime(now))
    safeguards = effects.indicators.setdefault(rack.site, {}).setdefault("safeguards", {})
    safeguards["doors_forced_or_held"] = 1.0 if elapsed < 0.5 * length else 0.0
    if elapsed < 90.0:
        effects.rack_door[fault.target] = 1
    if fault.once("forced"):
        effects.events.append((rack.site, "door_forced", "critical", cage,
                               f"Cage door forced open at {clock}; no valid badge presented. "
                               f"Rack {rack.row}/{rack.rack} door open."))
    if elapsed >= 45.0 and fault.once("held"):
        effects.events.append((rack.site, "door_held", "warning", cage,
                               "Cage door held open for more than 45 s."))
    if elapsed >= 0.2 * length:
        safeguards["privileged_sessions_open"] = 1.0
        if fault.once("session"):
            effects.events.append((rack.site, "privileged_session", "critical", store,
                                   f"Root session opened at {clock} on the model-weight store from a "
                                   f"console port in {CAGE}; outside business hours, no change ticket."))
    if elapsed >= 0.25 * length:
        anomalies = 1.0 if elapsed < 0.35 * length else 2.0
        safeguards["weight_store_access_anomalies"] = anomalies
        if fault.once("read"):
            effects.events.append((rack.site, "weight_store_access", "critical", store,
                                   "Bulk read of checkpoint shards (1.9 TB) by the new root session."))
        if anomalies == 2.0 and fault.once("copy"):
            effects.events.append((rack.site, "weight_store_access", "critical", store,
                                   "Second bulk read: model weights copied to removable media."))
