"""The evaluation's shortcuts give exactly what the plain whole-array computation gives.

``Engine.evaluate`` runs once per second of stream time over every channel, so it skips work
that cannot change a result (a tracker's unknown subjects, the exit band of channels not
raised). Each shortcut is checked here against the plain computation on random inputs.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from console.core.hysteresis import UNKNOWN, Tracker


def _rows(choices: list[int]) -> st.SearchStrategy[list[int]]:
    return st.lists(st.sampled_from(choices), min_size=12, max_size=12)


levels = st.lists(st.one_of(_rows([-1, 0, 0, 0, 1, 2]), _rows([-1, 0])), min_size=1, max_size=40)
"""Per second, a level for each of 12 subjects; quiet seconds (nothing on) are common, as in a stream."""


def _reference_step(tracker: Tracker, now: float, level: np.ndarray) -> tuple[list[int], list[int]]:
    """The raise/clear state machine written plainly over every subject (no shortcut)."""
    active, on_since = tracker.active, tracker.on_since
    crit_since, off_since = tracker.crit_since, tracker.off_since
    on, off, crit = level > 0, level == 0, level >= 2
    on_since[on & np.isnan(on_since)] = now
    on_since[off] = np.nan
    crit_since[crit & np.isnan(crit_since)] = now
    crit_since[(level >= 0) & ~crit] = np.nan
    off_since[off & np.isnan(off_since)] = now
    off_since[on] = np.nan
    reached = np.where(now - crit_since >= tracker.raise_after_s, 2,
                       np.where(now - on_since >= tracker.raise_after_s, 1, 0)).astype(np.int8)
    raised = np.flatnonzero((reached > active) & (level >= reached))
    cleared = np.flatnonzero((active > 0) & off & (now - off_since >= tracker.clear_after_s))
    active[raised] = reached[raised]
    active[cleared] = 0
    return raised.tolist(), cleared.tolist()


def _same_state(a: Tracker, b: Tracker) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True)
        for name in ("active", "on_since", "crit_since", "off_since")
    )


@settings(max_examples=200, deadline=None)
@given(steps=levels, known=st.lists(st.booleans(), min_size=12, max_size=12),
       seeded=st.one_of(st.just([0] * 12), _rows([0, 0, 0, 1, 2])))
def test_step_and_step_at_equal_the_plain_state_machine(steps, known, seeded):
    reference, plain, subset = (Tracker(12, raise_after_s=2.0, clear_after_s=3.0) for _ in range(3))
    for tracker in (reference, plain, subset):
        tracker.active[:] = seeded  # alerts restored after a restart start raised
    subjects = np.flatnonzero(known)
    for second, row in enumerate(steps):
        level = np.array(row, dtype=np.int8)
        level[~np.array(known)] = UNKNOWN
        raised, cleared = _reference_step(reference, float(second), level)
        whole = plain.step(float(second), level)
        part = subset.step_at(float(second), subjects, level[subjects])
        for changes in (whole, part):
            assert (changes.raised.tolist(), changes.cleared.tolist()) == (raised, cleared)
            assert changes.raised_level.tolist() == reference.active[raised].tolist()
        assert whole.cleared_level.tolist() == part.cleared_level.tolist()
        assert _same_state(reference, plain) and _same_state(reference, subset)
