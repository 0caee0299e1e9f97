"""Values with their units, read from the metric name (../shared/spec/wire.md: units are in the name)."""

from __future__ import annotations

import math

_SUFFIXES = (("_c", "°C", 1), ("_pct", "%", 0), ("_kw", "kW", 1), ("_w", "W", 0), ("_a", "A", 1),
             ("_mhz", "MHz", 0), ("_lpm", "l/min", 1), ("_kpa", "kPa", 0))


def unit_of(metric: str) -> tuple[str, int]:
    """The unit and the decimals to show for a metric name."""
    for suffix, unit, digits in _SUFFIXES:
        if metric.endswith(suffix):
            return unit, digits
    return "", 0


def with_unit(metric: str, value: float) -> str:
    """``24.1 °C``; ``N/A`` when not measured."""
    if not math.isfinite(value):
        return "N/A"
    unit, digits = unit_of(metric)
    if not unit and value != int(value):
        digits = 2
    return f"{value:,.{digits}f} {unit}".rstrip()
