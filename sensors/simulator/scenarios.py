"""Fault scenarios by name: what an operator asks for, and the ground truth the simulator writes.

A scenario is asked for as ``NAME@SECONDS[+DURATION][:TARGET]``: its name, when it starts in
seconds of sim time after the start, optionally how long it lasts, optionally what it hits
(a row, rack, node, GPU, CDU or channel, short form ``r03/rk04/n2/gpu5``). Without a target the
simulator picks one deterministically from its seed. Each scenario writes a ``Label``: the
channel keys it affects, with start and end, so a detector can be scored against it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class ScenarioKind:
    """What a scenario does, what it targets and how long it lasts by default."""

    name: str
    target: str
    """What a target names: row, rack, node, gpu, channel (``row|cdu``: either)."""
    duration: float
    label_kind: str
    summary: str


SCENARIOS: dict[str, ScenarioKind] = {
    kind.name: kind
    for kind in (
        ScenarioKind("cooling_failure", "row|cdu", 600.0, "cooling",
                     "row cooling lost (or a CDU's facility water): inlets ramp up over minutes"),
        ScenarioKind("gpu_cooling", "gpu", 900.0, "thermal",
                     "one GPU's cold plate fails slowly: it creeps hot while its siblings hold"),
        ScenarioKind("power_excursion", "rack", 300.0, "power",
                     "unplanned load on a rack's PDUs pushes it past 80 % of its rating"),
        ScenarioKind("phase_imbalance", "rack", 600.0, "power",
                     "load moves onto one phase: about 27 % imbalance"),
        ScenarioKind("leak", "rack|cdu", 300.0, "leak", "leak detector trips on a rack or a CDU"),
        ScenarioKind("stuck_sensor", "channel", 600.0, "stuck",
                     "a sensor flatlines at its last value"),
        ScenarioKind("sensor_dropout", "node", 300.0, "stale", "a node stops publishing"),
        ScenarioKind("xid_storm", "gpu", 300.0, "xid", "repeated XIDs 94/48/13/79 on one GPU"),
        ScenarioKind("hbm_overtemp", "gpu", 600.0, "thermal",
                     "one GPU's HBM heats past its 95 C max operating temperature"),
        ScenarioKind("power_brake", "node", 120.0, "throttle",
                     "external power brake: every GPU of a node throttles, clocks and power drop"),
        ScenarioKind("publisher_restart", "node", 10.0, "restart",
                     "a node's agent restarts: offline, then seq from 0 under a new boot"),
        ScenarioKind("cage_intrusion", "rack", 1200.0, "security",
                     "a cage door is forced, then a privileged session opens on a model-weight store"),
    )
}


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """One scenario asked for: name, start (seconds after the sim start), target, duration."""

    name: str
    at: float
    target: str | None = None
    duration: float | None = None
    strict: bool = True
    """A target not in the campus is an error; False: the seed picks one instead (the storyline's
    places exist on the default campus and fall back on a smaller one)."""

    def __post_init__(self) -> None:
        if self.name not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.name!r}; valid: {', '.join(SCENARIOS)}")
        if not math.isfinite(self.at) or self.at < 0:
            raise ValueError(f"scenario {self.name}: start must be seconds >= 0")
        if self.duration is not None and (not math.isfinite(self.duration) or self.duration <= 0):
            raise ValueError(f"scenario {self.name}: duration must be seconds > 0")

    @property
    def kind(self) -> ScenarioKind:
        return SCENARIOS[self.name]

    @property
    def length(self) -> float:
        return self.duration if self.duration is not None else self.kind.duration

    def __str__(self) -> str:
        text = f"{self.name}@{self.at:g}"
        if self.duration is not None:
            text += f"+{self.duration:g}"
        return text + (f":{self.target}" if self.target else "")


def _seconds(text: str, what: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"scenario {spec!r}: {what} {text!r} is not a number of seconds") from None
    return value


def parse_scenario(text: str) -> ScenarioSpec:
    """Parse ``NAME@SECONDS[+DURATION][:TARGET]``; a ValueError says what is wrong and what is valid."""
    valid = f"valid names: {', '.join(SCENARIOS)}"
    name, at_sign, rest = text.strip().partition("@")
    if not at_sign:
        raise ValueError(f"scenario {text!r} is not NAME@SECONDS[+DURATION][:TARGET]; {valid}")
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; {valid}")
    when, _, target = rest.partition(":")
    start_text, plus, duration_text = when.partition("+")
    at = _seconds(start_text, "start", text)
    duration = _seconds(duration_text, "duration", text) if plus else None
    return ScenarioSpec(name=name, at=at, target=target or None, duration=duration)


@dataclass(frozen=True, slots=True)
class Label:
    """Ground truth of one scenario: which channels it affects, from when to when (sim epoch)."""

    scenario: str
    kind: str
    keys: tuple[str, ...]
    start: float
    end: float | None

    def as_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["keys"] = list(self.keys)
        return record

    def to_json_line(self) -> bytes:
        return orjson.dumps(self.as_dict()) + b"\n"
