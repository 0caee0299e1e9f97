"""The demo storyline: a quiet start, then four things go wrong, told in about five minutes.

Spaced for real speed: a quiet start that shows normal training load (synchronised job steps and
checkpoint dips), the first visible trouble within a minute, every act started by 2.5 minutes and
the privileged session on the model-weight store at 4.5 minutes. Targets are fixed places of the
campus (clamped to a smaller one) so the story reads the same every time.
"""

from __future__ import annotations

from sensors.simulator.campus import CampusConfig
from sensors.simulator.scenarios import ScenarioSpec


def _place(campus: CampusConfig, row: int, rack: int) -> str:
    return f"r{min(row, campus.rows):02d}/rk{min(rack, campus.racks_per_row):02d}"


def demo_storyline(campus: CampusConfig = CampusConfig()) -> list[ScenarioSpec]:  # noqa: B008 - frozen
    """The scenarios of the demo, in the order they start."""
    return [
        # A GPU's cold plate starts failing: it drifts away from its siblings long before 82 C.
        # No fixed target: the seed picks a GPU of a busy node, where the fault shows.
        ScenarioSpec("gpu_cooling", at=20.0, duration=420.0),
        # One row loses its cooling: every inlet of the row climbs over the next minutes.
        ScenarioSpec("cooling_failure", at=75.0, target=f"r{min(5, campus.rows):02d}", duration=300.0),
        # Maintenance moves a neighbour's load onto one rack's PDUs: past 80 % of the rating.
        ScenarioSpec("power_excursion", at=140.0, target=_place(campus, 7, 2), duration=120.0),
        # Night shift: a cage door is forced, then a root session opens on the model-weight store.
        ScenarioSpec("cage_intrusion", at=150.0, target=_place(campus, 8, 9), duration=600.0),
    ]
