"""Detector and rule settings, with defaults, overridable from a TOML file.

Every number that decides when an alert fires lives here so a site can tune it without code.
A TOML file names sections as the dataclasses below (``[deviation]``, ``[peer]``...) plus
``[limits.<metric>]`` for static limits; an unknown section or key is refused with the file,
the key and the nearest known name, never silently ignored.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration file that cannot be used: one line naming the file and the key."""


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    window_s: float = 900.0
    """How far back the ring buffers reach (sparklines, scan context). 15 minutes."""
    step_s: float = 1.0
    """Width of one history slot; samples falling in one slot keep the latest."""


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    raise_after_s: float = 10.0
    clear_after_s: float = 30.0
    band_frac: float = 0.02
    """Exit hysteresis: a raised limit clears only once the value is this fraction inside it."""


@dataclass(frozen=True, slots=True)
class RateConfig:
    raise_after_s: float = 60.0
    clear_after_s: float = 120.0
    inlet_crit_per_h: float = 20.0
    """ASHRAE TC 9.9 (2021) Table 2.1 footnote: max 20 C/h (5 C/h with tape), domain.md 4a, 7."""
    inlet_warn_per_h: float = math.nan


@dataclass(frozen=True, slots=True)
class DeviationConfig:
    raise_after_s: float = 30.0
    clear_after_s: float = 60.0
    z_enter: float = 8.0
    z_exit: float = 4.0
    warmup_samples: int = 300
    step: float = 0.05
    """Frugal median step as a fraction of the running MAD (methods.md 2.2)."""
    scale_step: float = 0.01
    floor_abs: float = 0.2
    floor_rel: float = 0.005
    metrics: tuple[str, ...] = ("*temp_c", "*_lpm", "*_kpa", "humidity_pct", "dew_point_c")


@dataclass(frozen=True, slots=True)
class PeerConfig:
    raise_after_s: float = 30.0
    clear_after_s: float = 60.0
    z_enter: float = 6.0
    z_exit: float = 3.0
    floor: float = 1.0
    """Scale floor in the channel's unit (C): identical peers must not make noise look huge."""
    min_group: int = 3
    offset_tau_s: float = 1800.0
    """Time constant of each member's learned offset from its peers (position effects)."""
    load_spread_pct: float = 25.0
    """GPU peers are compared only while their utilisations lie within this spread."""
    warmup_s: float = 120.0
    metrics: tuple[str, ...] = ("temp_c", "mem_temp_c", "inlet_temp_c")
    """Outlet and CPU temperatures follow their own rack/node load, which peers do not share."""


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """Fleet common-mode guard: synchronized job start/stop steps must not alert (methods.md 6, L6)."""

    load_z: float = 4.0
    hold_s: float = 300.0
    group_z: float = 3.0
    group_fraction: float = 0.3
    load_metrics: tuple[str, ...] = ("power_w", "util_pct", "power_kw", "psu_power_w", "pdu_*_kw")
    independent_metrics: tuple[str, ...] = ("inlet_temp_c", "dew_point_c", "humidity_pct", "supply_temp_c")
    """Metrics a device's own load does not drive: its load steps do not hold their forecast."""


@dataclass(frozen=True, slots=True)
class FlatlineConfig:
    raise_after_s: float = 0.0
    clear_after_s: float = 10.0
    min_s: float = 120.0
    false_alarm_p: float = 1e-9
    min_change_rate: float = 0.2
    """Only channels that changed on at least this fraction of samples are expected to move."""
    metrics: tuple[str, ...] = ("*temp_c", "*_w", "*_kw", "*_lpm", "*_kpa", "humidity_pct", "fan_pct", "*_a")


@dataclass(frozen=True, slots=True)
class StaleConfig:
    raise_after_s: float = 0.0
    clear_after_s: float = 5.0
    intervals: float = 5.0
    """A source is stale after this many of its usual intervals without a message."""
    min_s: float = 10.0


@dataclass(frozen=True, slots=True)
class EventRulesConfig:
    seq_hold_s: float = 120.0
    xid_hold_s: float = 300.0
    throttle_raise_after_s: float = 5.0
    throttle_clear_after_s: float = 30.0


@dataclass(frozen=True, slots=True)
class ForecastConfig:
    raise_after_s: float = 30.0
    clear_after_s: float = 60.0
    horizon_s: float = 600.0
    clear_horizon_factor: float = 2.0
    fit_tau_s: float = 90.0
    """Time constant of the exponentially weighted line fit (Holt-like, O(1) per channel)."""
    min_rise_per_min: float = 0.2
    max_distance_frac: float = 0.25
    """Forecast only within this fraction of the limit's size from it: far-off extrapolation is noise."""
    warmup_samples: int = 60


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    incident_min_alerts: int = 2
    cleared_kept: int = 1000


@dataclass(frozen=True, slots=True)
class LimitOverride:
    warn_hi: float = math.nan
    crit_hi: float = math.nan
    warn_lo: float = math.nan
    crit_lo: float = math.nan


@dataclass(frozen=True, slots=True)
class CoreConfig:
    history: HistoryConfig = field(default_factory=HistoryConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    rate: RateConfig = field(default_factory=RateConfig)
    deviation: DeviationConfig = field(default_factory=DeviationConfig)
    peer: PeerConfig = field(default_factory=PeerConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)
    flatline: FlatlineConfig = field(default_factory=FlatlineConfig)
    stale: StaleConfig = field(default_factory=StaleConfig)
    events: EventRulesConfig = field(default_factory=EventRulesConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    limit_overrides: dict[str, LimitOverride] = field(default_factory=dict)
    """Per metric (``inlet_temp_c``, ``gpu*/temp_c`` style names) static limits replacing the table."""


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _section(cls: type, values: Any, where: str, path: Path) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: '{where}' must be a table")
    known = {f.name: f for f in fields(cls)}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown key '{where}.{key}'{_suggest(key, list(known))}")
        default = getattr(cls(), key)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: '{where}.{key}' must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool) or not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(f"{path}: '{where}.{key}' must be a number")
        elif isinstance(default, int) and not isinstance(default, bool):
            value = int(value)
        else:
            value = float(value)
        out[key] = value
    return cls(**out)


def load_config(path: Path | str) -> CoreConfig:
    """Read a TOML file of overrides on top of the defaults; ConfigError names what is wrong."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return config_from_dict(raw, path)


def config_from_dict(raw: dict[str, Any], path: Path | str = "<config>") -> CoreConfig:
    path = Path(path)
    config = CoreConfig()
    sections = {f.name: f for f in fields(CoreConfig) if f.name != "limit_overrides"}
    changes: dict[str, Any] = {}
    for name, values in raw.items():
        if name == "limits" and isinstance(values, dict):
            plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
            changes["limits"] = _section(LimitsConfig, plain, "limits", path)
            changes["limit_overrides"] = {
                metric: _section(LimitOverride, rule, f"limits.{metric}", path)
                for metric, rule in values.items()
                if isinstance(rule, dict)
            }
            continue
        if name not in sections:
            raise ConfigError(f"{path}: unknown section '{name}'{_suggest(name, [*sections, 'limits'])}")
        changes[name] = _section(type(getattr(config, name)), values, name, path)
    return replace(config, **changes)
