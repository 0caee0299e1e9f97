"""Sparklines as text cells: eight block heights, scaled to the window's own range.

Table cells need plain strings, so this is a function rather than Textual's Sparkline widget.
A long history is folded into ``width`` buckets, each drawn at its highest value, so a short
spike in the last 15 minutes still shows.
"""

from __future__ import annotations

import numpy as np

BLOCKS = "▁▂▃▄▅▆▇█"


def _buckets(values: np.ndarray, width: int) -> np.ndarray:
    if values.size <= width:
        return values
    chunks = np.array_split(values, width)
    return np.array([np.nanmax(chunk) if np.isfinite(chunk).any() else np.nan for chunk in chunks])


def sparkline(values: np.ndarray, width: int = 16) -> str:
    """``values`` (oldest first) as at most ``width`` block characters; gaps (NaN) are spaces."""
    recent = _buckets(np.asarray(values, dtype=np.float64), width)
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
        filled = np.where(finite, recent, low)
        levels = np.clip(((filled - low) / span * (len(BLOCKS) - 1)).round(), 0, len(BLOCKS) - 1)
    return "".join(BLOCKS[int(level)] if ok else " " for level, ok in zip(levels, finite, strict=True))
