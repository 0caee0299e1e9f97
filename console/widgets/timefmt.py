"""Times as the operator reads them: stream time in UTC, durations short."""

from __future__ import annotations

import math
import time


def clock(ts: float) -> str:
    """``HH:MM:SS`` UTC of an epoch time (stream time, never the wall clock)."""
    if not math.isfinite(ts) or ts <= 0:
        return "--:--:--"
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def stamp(ts: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` UTC."""
    if not math.isfinite(ts) or ts <= 0:
        return "----------  --:--:--"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def duration(seconds: float) -> str:
    """``45s``, ``12m``, ``3h05m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h``, ``1d`` in seconds; ValueError for anything else."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    factor = units.get(text[-1:])
    number = float(text[:-1] if factor else text)
    seconds = number * (factor or 1)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"not a positive duration: {text!r}")
    return seconds
