"""Minimum durations to raise and to clear, vectorized over all subjects of one rule.

A detector hands in a level per subject each evaluation: -1 unknown (no data, held by a guard:
timers frozen), 0 normal, 1 warning, 2 critical. A level must hold for ``raise_after_s`` before
it raises (Prometheus ``for:``), and normal must hold for ``clear_after_s`` before a raised
alert clears (``keep_firing_for``), so one noisy sample neither raises nor clears
(methods.md 4). Severity can escalate while raised; it is reported again on escalation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from console.core.channels import grow

UNKNOWN = -1


@dataclass(frozen=True, slots=True)
class Changes:
    """Subjects that raised (or escalated) and that cleared in one evaluation."""

    raised: np.ndarray
    raised_level: np.ndarray
    cleared: np.ndarray
    cleared_level: np.ndarray
    """The severity each cleared subject had while raised."""

    def __bool__(self) -> bool:
        return bool(self.raised.size or self.cleared.size)


class Tracker:
    """Raise/clear state machine of one rule over ``capacity`` subjects."""

    def __init__(self, capacity: int, raise_after_s: float, clear_after_s: float) -> None:
        self.raise_after_s = raise_after_s
        self.clear_after_s = clear_after_s
        self.active = np.zeros(capacity, dtype=np.int8)
        self.on_since = np.full(capacity, np.nan)
        self.crit_since = np.full(capacity, np.nan)
        self.off_since = np.full(capacity, np.nan)

    def resize(self, capacity: int) -> None:
        self.active = grow(self.active, capacity, 0)
        self.on_since = grow(self.on_since, capacity, np.nan)
        self.crit_since = grow(self.crit_since, capacity, np.nan)
        self.off_since = grow(self.off_since, capacity, np.nan)

    def step(self, now: float, level: np.ndarray) -> Changes:
        """Advance to ``now`` with this evaluation's levels (length <= capacity)."""
        count = level.shape[0]
        state = (self.active[:count], self.on_since[:count], self.crit_since[:count], self.off_since[:count])
        return self._advance(now, level, *state)

    def step_at(self, now: float, subjects: np.ndarray, level: np.ndarray) -> Changes:
        """``step`` with ``level`` for the listed subjects (sorted, unique) and UNKNOWN for all others.

        UNKNOWN changes nothing (timers frozen, no raise, no clear), so only the listed subjects
        are read and written: a rule whose level is known on a few channels of 50,000 pays for
        those few. Same changes, in the same order, as the equivalent ``step``.
        """
        if subjects.size == 0:
            return NO_CHANGES
        state = (self.active[subjects], self.on_since[subjects], self.crit_since[subjects],
                 self.off_since[subjects])
        changes = self._advance(now, level, *state)
        active, on_since, crit_since, off_since = state
        self.on_since[subjects] = on_since
        self.crit_since[subjects] = crit_since
        self.off_since[subjects] = off_since
        if not changes:
            return changes
        self.active[subjects] = active
        return Changes(subjects[changes.raised], changes.raised_level, subjects[changes.cleared],
                       changes.cleared_level)

    def _advance(
        self, now: float, level: np.ndarray, active: np.ndarray, on_since: np.ndarray,
        crit_since: np.ndarray, off_since: np.ndarray,
    ) -> Changes:
        """The state machine over arrays of equal length, updated in place."""
        on = level > 0
        off = level == 0
        if not on.any() and not active.any():
            # The usual evaluation: nothing on, nothing raised, so nothing can raise or clear;
            # only timers move (the same assignments as below, with ``on`` and ``crit`` empty).
            on_since[off] = np.nan
            crit_since[off] = np.nan
            off_since[off & np.isnan(off_since)] = now
            return NO_CHANGES
        crit = level >= 2
        on_since[on & np.isnan(on_since)] = now
        on_since[off] = np.nan
        crit_since[crit & np.isnan(crit_since)] = now
        crit_since[(level >= 0) & ~crit] = np.nan
        off_since[off & np.isnan(off_since)] = now
        off_since[on] = np.nan
        reached = np.where(
            now - crit_since >= self.raise_after_s, 2, np.where(now - on_since >= self.raise_after_s, 1, 0)
        ).astype(np.int8)
        raised = np.flatnonzero((reached > active) & (level >= reached))
        cleared = np.flatnonzero((active > 0) & off & (now - off_since >= self.clear_after_s))
        levels = reached[raised]
        was = active[cleared].copy()
        active[raised] = levels
        active[cleared] = 0
        return Changes(raised, levels, cleared, was)


def _frozen(dtype: type) -> np.ndarray:
    empty = np.zeros(0, dtype=dtype)
    empty.setflags(write=False)
    return empty


NO_CHANGES = Changes(_frozen(np.intp), _frozen(np.int8), _frozen(np.intp), _frozen(np.int8))
"""What an evaluation with nothing to evaluate changes: nothing (shared, read-only)."""
