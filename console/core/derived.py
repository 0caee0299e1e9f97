"""Channels computed from others: three-phase current imbalance per rack.

Imbalance % = max |I_phase - I_avg| / I_avg x 100 (calcspec.com, domain.md 5c); it becomes an
ordinary channel ``<rack>/phase_imbalance_pct`` so the limits table, history and the UI treat it
like any measured one.
"""

from __future__ import annotations

import numpy as np

PHASES = ("phase_l1_a", "phase_l2_a", "phase_l3_a")
IMBALANCE = "phase_imbalance_pct"
MIN_AVERAGE_A = 1.0
"""Below this average current the ratio is noise: no imbalance is reported."""


class PhaseImbalance:
    """Triples of phase-current channels and the derived channel each feeds."""

    def __init__(self) -> None:
        self._triples: list[tuple[int, int, int]] = []
        self._targets: list[int] = []
        self._known: set[int] = set()
        self._phases = np.zeros((0, 3), dtype=np.intp)
        self._out = np.zeros(0, dtype=np.intp)

    def add(self, phases: tuple[int, int, int], target: int) -> None:
        if target in self._known:
            return
        self._known.add(target)
        self._triples.append(phases)
        self._targets.append(target)
        self._phases = np.array(self._triples, dtype=np.intp)
        self._out = np.array(self._targets, dtype=np.intp)

    def compute(self, latest: np.ndarray, updated: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(target channels, values, timestamps) for every rack with phase currents."""
        if not self._targets:
            return self._out, np.zeros(0, dtype=np.float32), np.zeros(0)
        currents = latest[self._phases]
        average = currents.mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            imbalance = np.abs(currents - average[:, None]).max(axis=1) / average * 100.0
        imbalance[~(average >= MIN_AVERAGE_A)] = np.nan
        return self._out, imbalance.astype(np.float32), updated[self._phases].max(axis=1)
