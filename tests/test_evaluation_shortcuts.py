"""The evaluation's shortcuts give exactly what the plain whole-array computation gives.

``Engine.evaluate`` runs once per second of stream time over every channel, so it skips work
that cannot change a result (a tracker's unknown subjects, the exit band of channels not
raised). Each shortcut is checked here against the plain computation on random inputs.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from console.core.detectors.limits import LimitDetector
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


def _reference_limit_level(limits: LimitDetector, values, known, active) -> np.ndarray:
    """Static limits with the exit band applied to every channel (no shortcut)."""
    frac = np.float32(limits.band_frac)
    warn_band = np.where(active >= 1, frac, np.float32(0.0))
    crit_band = np.where(active >= 2, frac, np.float32(0.0))

    def inside(limit, band):
        return limit + band * np.maximum(np.abs(limit), 1.0)

    count = values.shape[0]
    with np.errstate(invalid="ignore"):
        crit = ((values >= inside(limits.crit_hi[:count], -crit_band))
                | (values <= inside(limits.crit_lo[:count], crit_band)))
        warn = ((values >= inside(limits.warn_hi[:count], -warn_band))
                | (values <= inside(limits.warn_lo[:count], warn_band)))
    level = np.where(crit, 2, np.where(warn, 1, 0)).astype(np.int8)
    level[~known | np.isnan(values)] = UNKNOWN
    return level


bounds = st.sampled_from([np.nan, np.nan, 0.0, -0.0, 1.0, 26.5, 27.0, -5.0, 95.0, 1e39, np.inf, -np.inf])


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(bounds, bounds, bounds, bounds,
                               st.sampled_from([np.nan, 0.0, -0.0, 0.5, 26.6, 27.0, 94.0, 96.0, -6.0, 2e38]),
                               st.booleans(), st.sampled_from([0, 0, 1, 2])),
                     min_size=1, max_size=30))
def test_limit_level_with_the_band_on_raised_channels_only_equals_the_band_everywhere(rows):
    limits = LimitDetector(len(rows), band_frac=0.02)
    with np.errstate(over="ignore"):  # 1e39 is inf in float32
        for channel, (warn_hi, crit_hi, warn_lo, crit_lo, *_) in enumerate(rows):
            limits.set(channel, (warn_hi, crit_hi, warn_lo, crit_lo))
    values = np.array([row[4] for row in rows], dtype=np.float32)
    known = np.array([row[5] for row in rows])
    active = np.array([row[6] for row in rows], dtype=np.int8)
    expected = _reference_limit_level(limits, values, known, active)
    assert limits.level(values, known, active).tolist() == expected.tolist()
