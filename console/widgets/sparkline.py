"""Sparklines as text cells: eight block heights, scaled to the window's own range.

Table cells need plain strings, so this is a function rather than Textual's Sparkline widget.
"""

from __future__ import annotations

import numpy as np

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: np.ndarray, width: int = 12) -> str:
    """The last ``width`` samples as block characters; gaps (NaN) are spaces."""
    recent = np.asarray(values, dtype=np.float64)[-width:]
    if recent.size == 0:
        return ""
    finite = np.isfinite(recent)
    if not finite.any():
        return " " * recent.size
    low = float(recent[finite].min())
    span = float(recent[finite].max()) - low
    if span <= 0:
        levels = np.full(recent.shape, 3)
    else:
        levels = np.clip(((recent - low) / span * (len(BLOCKS) - 1)).round(), 0, len(BLOCKS) - 1)
    return "".join(BLOCKS[int(level)] if ok else " " for level, ok in zip(levels, finite, strict=True))
