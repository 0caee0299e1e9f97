"""The demo storyline: a quiet start, then four things go wrong, told in about five minutes.

Spaced for real speed: a quiet start that shows normal training load (synchronised job steps and
checkpoint dips), the first acts within a minute, every act started by 2.5 minutes and the
privileged session on the model-weight store at 4.5 minutes. Targets are fixed places of the
campus so the story reads the same every time; on a smaller campus the seed picks instead.
"""

from __future__ import annotations

from sensors.simulator.scenarios import ScenarioSpec


def demo_storyline() -> list[ScenarioSpec]:
    """The scenarios of the demo, in the order they start."""
    return [
        # A GPU's cold plate starts failing: it drifts away from its siblings long before 82 C.
        # No fixed target: the seed picks a GPU of a busy node, where the fault shows.
        ScenarioSpec("gpu_cooling", at=10.0, duration=420.0),
        # One row loses its cooling: every inlet of the row climbs over the next minutes.
        ScenarioSpec("cooling_failure", at=45.0, target="r05", duration=300.0, strict=False),
        # Maintenance moves a neighbour's load onto one rack's PDUs: past 80 % of the rating.
        ScenarioSpec("power_excursion", at=100.0, target="r07/rk02", duration=120.0,
                     strict=False),
        # Night shift: a cage door is forced, then a root session opens on the model-weight store.
        ScenarioSpec("cage_intrusion", at=150.0, target="r08/rk09", duration=600.0,
                     strict=False),
    ]
