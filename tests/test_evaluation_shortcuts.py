"""The evaluation's shortcuts give exactly what the plain whole-array computation gives.

``Engine.evaluate`` runs once per second of stream time over every channel, so it skips work
that cannot change a result (a tracker's unknown subjects, the exit band of channels not
raised). Each shortcut is checked here against the plain computation on random inputs.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from console.core.detectors.forecast import TrendFit
from console.core.detectors.limits import LimitDetector
from console.core.history import History
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


def _reference_trend_update(fit: TrendFit, channels: np.ndarray, t: np.ndarray, y: np.ndarray) -> None:
    """The weighted line's running sums updated with whole-array temporaries and copies."""
    valid = ~np.isnan(y)
    channels, t, y = channels[valid], t[valid], y[valid].astype(np.float64)
    dt = np.maximum(np.nan_to_num(t - fit.last_t[channels], nan=0.0), 0.0)
    weight, st, stt, sy, sty = fit.sums[:, channels]
    decay = np.exp(-dt / fit.tau_s)
    fit.sums[:, channels] = np.stack([
        weight * decay + 1.0, (st - dt * weight) * decay, (stt - 2 * dt * st + dt * dt * weight) * decay,
        sy * decay + y, (sty - dt * sy) * decay,
    ])
    fit.last_t[channels] = t
    fit.samples[channels] += 1


@settings(max_examples=100, deadline=None)
@given(seconds=st.lists(st.tuples(st.floats(-2.0, 30.0), st.integers(0, 2**32 - 1)), min_size=1, max_size=25),
       every=st.booleans())
def test_trend_update_in_place_equals_the_plain_sums(seconds, every):
    """In place on a run of channels (views) and through a copy for scattered ones: same bits."""
    reference, fit = TrendFit(12, tau_s=90.0), TrendFit(12, tau_s=90.0)
    now = 1_767_225_600.0
    for step, seed in seconds:
        rng = np.random.default_rng(seed)
        now += step
        channels = np.arange(12) if every else np.flatnonzero(rng.random(12) < 0.6)
        t = now - rng.integers(0, 3, channels.size).astype(np.float64)
        y = (60 + rng.normal(0, 5, channels.size)).astype(np.float32)
        y[rng.random(channels.size) < 0.1] = np.nan
        _reference_trend_update(reference, channels, t, y)
        fit.update(channels, t, y)
        assert np.array_equal(fit.sums, reference.sums, equal_nan=True)
        assert np.array_equal(fit.last_t, reference.last_t, equal_nan=True)
        assert np.array_equal(fit.samples, reference.samples)


def _reference_history_write(
    history: History, ts: np.ndarray, channels: np.ndarray, values: np.ndarray
) -> None:
    """Every reading scattered by (slot row, channel), whatever the batch holds."""
    slots = np.floor(ts / history.step_s).astype(np.int64)
    newest = int(slots.max())
    if newest > history.newest:
        history._advance(newest)
    keep = slots > history.newest - history.slots
    history.values[slots[keep] % history.slots, channels[keep]] = values[keep]


@settings(max_examples=100, deadline=None)
@given(batches=st.lists(st.tuples(st.integers(-12, 3), st.integers(0, 2), st.integers(0, 2**32 - 1)),
                        min_size=1, max_size=30))
def test_history_write_of_one_second_equals_the_scatter_by_slot(batches):
    reference, history = History(8, window_s=6.0), History(8, window_s=6.0)
    now = 1_767_225_600.0
    for step, spread, seed in batches:
        rng = np.random.default_rng(seed)
        now = max(now, now + step)
        size = int(rng.integers(1, 12))
        ts = now + step - rng.integers(0, spread + 1, size) + rng.random(size) * 0.5  # old ones included
        channels = rng.integers(0, 8, size)  # duplicates too: the last one written stays
        values = rng.normal(0, 1, size).astype(np.float32)
        _reference_history_write(reference, ts, channels, values)
        history.write(ts, channels, values)
        assert np.array_equal(history.values, reference.values, equal_nan=True)
        assert np.array_equal(history.slot_number, reference.slot_number)
