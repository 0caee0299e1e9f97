"""A simulated GPU campus publishing the wire contract, with fault scenarios and ground truth.

Names are imported lazily so that ``rackwatch --help`` (which reads the scenario list) does not
pay for numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CampusConfig": "sensors.simulator.campus",
    "SCENARIOS": "sensors.simulator.scenarios",
    "Label": "sensors.simulator.scenarios",
    "ScenarioSpec": "sensors.simulator.scenarios",
    "parse_scenario": "sensors.simulator.scenarios",
    "Outgoing": "sensors.simulator.simulator",
    "Simulator": "sensors.simulator.simulator",
    "demo_storyline": "sensors.simulator.storyline",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sensors.simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
