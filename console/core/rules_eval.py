"""One evaluation tick: every detector over every channel, then raise/clear with hysteresis.

Order matters and is causal: readings that arrived since the last tick are scored against the
state learned *before* them, the guard decides holds from them, and only then is state learned.
Messages are formatted only for the few channels that changed state.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from console.core.channels import as_slice
from console.core.detectors.forecast import forecast_both, rate_level
from console.core.detectors.peers import peer_level
from console.core.detectors.robust import deviation_level
from console.core.hysteresis import UNKNOWN, Changes
from console.core.snapshot import AlertTransition, Severity

if TYPE_CHECKING:
    from console.core.engine import Engine


def _severity(level: int) -> Severity:
    return Severity.CRITICAL if level >= 2 else Severity.WARNING


class RuleEvaluation:
    """Runs the detectors of an engine for one stream time and formats the transitions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.z = np.zeros(0, dtype=np.float32)
        self.peer_z = np.zeros(0, dtype=np.float32)
        self.eta = np.zeros(0)
        self.slope = np.zeros(0)
        """Slope and time to the critical limit of the channels the rate and forecast rules read
        in the last evaluation (NaN elsewhere): only their messages use them."""

    def evaluate(self, now: float) -> list[AlertTransition]:
        e = self.engine
        cfg = e.config
        registry = e.registry
        self._derive()
        count = len(registry)
        devices = len(registry.devices)
        device_of = registry.device_of[:count]
        updated = e.updated[:count]
        with np.errstate(invalid="ignore"):
            fresh = (updated > e.processed[:count]) & (updated <= now + 1.0)
        channels = np.flatnonzero(fresh)
        at = as_slice(channels)  # every channel reported: views, not copies (nothing writes them here)
        values = e.latest[at]
        stamps = updated[at]
        e.processed[at] = stamps
        masks = {name: mask[:count] for name, mask in e.masks.items()}

        z = np.full(count, np.nan, dtype=np.float32)
        z[at] = e.robust.update(channels, values)
        self.z = z
        held, device_held = e.guard.update(
            now, fresh, z, masks["load"], masks["deviation"], device_of,
            e.groups.group_of[:count] if e.groups.group_of.size >= count else _pad(e.groups.group_of, count),
            e.groups.sizes, devices,
        )
        with np.errstate(invalid="ignore"):
            stepped_load = fresh & masks["load"] & (np.abs(z) >= cfg.guard.load_z)
        rebase = np.flatnonzero(fresh & ((held & masks["deviation"]) | stepped_load))
        e.robust.rebase(rebase, e.latest[rebase])
        device_held &= ~masks["independent"]
        e.trend.update(channels, stamps, values)
        e.trend.restart(np.flatnonzero(fresh & device_held & (masks["forecast"] | masks["rate"])))
        e.flatline.update(channels, stamps, values)

        device_level = e.stale.level(now, devices)
        device_stale = device_level == 1
        channel_ok = ~np.isnan(e.latest[:count]) & ~device_stale[device_of]
        self.peer_z = e.peers.evaluate(now, e.latest[:count], channel_ok)

        levels = self._levels(now, count, fresh, held, device_held, masks)
        out: list[AlertTransition] = []
        for rule, tracker in e.trackers.items():
            subjects, level = levels[rule]
            changes = tracker.step(now, level) if subjects is None else tracker.step_at(now, subjects, level)
            out.extend(self._channel_transitions(now, rule, changes))
        out.extend(self._stale_transitions(now, device_level))
        for rule, sparse in e.sparse.items():
            changes = sparse.step(now)
            for number, lvl in zip(changes.raised.tolist(), changes.raised_level.tolist(), strict=True):
                out.append(
                    AlertTransition(now, sparse.keys[number], "raised", _severity(lvl), rule,
                                    float(sparse.value[number]), sparse.messages[number])
                )
            for number, was in zip(changes.cleared.tolist(), changes.cleared_level.tolist(), strict=True):
                out.append(
                    AlertTransition(now, sparse.keys[number], "cleared", _severity(was), rule,
                                    float(sparse.value[number]), f"{rule} back to normal")
                )
        return out

    def _levels(
        self, now: float, count: int, fresh: np.ndarray, held: np.ndarray, device_held: np.ndarray,
        masks: dict[str, np.ndarray],
    ) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
        """Per channel rule, in tracker order: (channels whose level is known, their levels);
        None for every channel. Every other channel is unknown, which freezes its timers, so
        levels are computed, and trackers stepped, on the known ones alone. All levels are taken
        before any tracker steps: the limit level reads the leak tracker's state too."""
        e = self.engine
        cfg = e.config
        active = {rule: tracker.active[:count] for rule, tracker in e.trackers.items()}
        limit = e.limits.level(e.latest[:count], fresh, np.maximum(active["limit"], active["leak"]))
        leak_at = np.flatnonzero(masks["leak"])
        leak = limit[leak_at]
        limit[leak_at] = UNKNOWN

        warm = e.trend.samples[:count] >= cfg.forecast.warmup_samples
        rate_at = np.flatnonzero(masks["rate"] & fresh & warm)
        forecast_at = np.flatnonzero(masks["forecast"] & fresh & warm & ~device_held)
        self.slope = np.full(count, np.nan)
        self.eta = np.full(count, np.nan)
        _, slope = e.trend.line_at(rate_at)
        self.slope[rate_at] = slope
        rate = rate_level(slope * 3600.0, cfg.rate.inlet_warn_per_h, cfg.rate.inlet_crit_per_h,
                          active["rate"][rate_at])
        fitted, slope = e.trend.line_at(forecast_at)
        self.slope[forecast_at] = slope
        lim = e.limits
        bounds = tuple(side[forecast_at] for side in (lim.warn_hi, lim.crit_hi, lim.warn_lo, lim.crit_lo))
        forecast, eta = forecast_both(
            fitted, slope, bounds, active["forecast"][forecast_at], horizon_s=cfg.forecast.horizon_s,
            clear_factor=cfg.forecast.clear_horizon_factor, min_slope=cfg.forecast.min_rise_per_min / 60.0,
            max_distance_frac=cfg.forecast.max_distance_frac,
        )
        self.eta[forecast_at] = eta

        deviation_at = np.flatnonzero(
            fresh & masks["deviation"] & (e.robust.samples[:count] > cfg.deviation.warmup_samples) & ~held
        )
        deviation = deviation_level(self.z[deviation_at], active["deviation"][deviation_at],
                                    cfg.deviation.z_enter, cfg.deviation.z_exit)
        peer_at = np.flatnonzero(~np.isnan(self.peer_z))
        peer = peer_level(self.peer_z[peer_at], active["peer"][peer_at], cfg.peer.z_enter, cfg.peer.z_exit)
        return {
            "limit": (None, limit),
            "leak": (leak_at, leak),
            "rate": (rate_at, rate),
            "deviation": (deviation_at, deviation),
            "peer": (peer_at, peer),
            "flatline": e.flatline.levels(now, count, masks["flatline"]),
            "forecast": (forecast_at, forecast),
        }

    def _derive(self) -> None:
        e = self.engine
        targets, values, stamps = e.derived.compute(e.latest, e.updated)
        if targets.size == 0:
            return
        with np.errstate(invalid="ignore"):
            newer = ~(stamps <= e.updated[targets])
        if newer.any():
            e.store(targets[newer], values[newer], stamps[newer])

    def _channel_transitions(self, now: float, rule: str, changes: Changes) -> list[AlertTransition]:
        if not changes:
            return []
        e = self.engine
        keys = e.registry.keys
        out = []
        for channel, lvl in zip(changes.raised.tolist(), changes.raised_level.tolist(), strict=True):
            value = float(e.latest[channel])
            out.append(
                AlertTransition(now, keys[channel], "raised", _severity(lvl), rule, value,
                                self._message(rule, channel, lvl, value))
            )
        for channel, was in zip(changes.cleared.tolist(), changes.cleared_level.tolist(), strict=True):
            value = float(e.latest[channel])
            out.append(
                AlertTransition(now, keys[channel], "cleared", _severity(was), rule, value,
                                f"{rule} back to normal ({value:.4g})")
            )
        return out

    def _stale_transitions(self, now: float, device_level: np.ndarray) -> list[AlertTransition]:
        e = self.engine
        tracker = e.stale_tracker
        if tracker.active.shape[0] < device_level.shape[0]:
            tracker.resize(max(device_level.shape[0], 2 * tracker.active.shape[0]))
        changes = tracker.step(now, device_level)
        if not changes:
            return []
        age = e.stale.age(now, device_level.shape[0])
        out = []
        for device in changes.raised.tolist():
            offline = bool(e.stale.offline[device])
            seconds = float(age[device])
            message = "source offline (status)" if offline else f"no data for {seconds:.0f} s"
            out.append(AlertTransition(now, e.registry.devices[device], "raised", Severity.WARNING, "stale",
                                       seconds, message))
        for device in changes.cleared.tolist():
            out.append(AlertTransition(now, e.registry.devices[device], "cleared", Severity.WARNING, "stale",
                                       float(age[device]), "data flowing again"))
        return out

    def _message(self, rule: str, channel: int, level: int, value: float) -> str:
        e = self.engine
        metric = e.registry.metrics[channel]
        warn_hi, crit_hi, warn_lo, crit_lo = e.limits.limits_of(channel)
        if rule == "limit":
            severity = "critical" if level >= 2 else "warning"
            high, low = (crit_hi, crit_lo) if level >= 2 else (warn_hi, warn_lo)
            if math.isnan(low) or (not math.isnan(high) and abs(value - high) <= abs(value - low)):
                return f"{metric} {value:.1f} over {severity} limit {high:g}"
            return f"{metric} {value:.1f} under {severity} limit {low:g}"
        if rule == "leak":
            return "leak detected"
        if rule == "rate":
            per_hour = float(self.slope[channel]) * 3600.0
            return f"{metric} changing {per_hour:+.1f} per hour (limit {e.config.rate.inlet_crit_per_h:g}/h)"
        if rule == "deviation":
            median = float(e.robust.median[channel])
            z = float(self.z[channel])
            return f"{metric} {value:.4g} is {z:+.1f} robust sigma from its usual {median:.4g}"
        if rule == "peer":
            return f"{metric} {value:.1f} runs hot against its peers (z {float(self.peer_z[channel]):.1f})"
        if rule == "flatline":
            run = e.now - float(e.flatline.run_start[channel])
            return f"{metric} stuck at {value:.4g} for {run:.0f} s while it normally moves"
        if rule == "forecast":
            eta = float(self.eta[channel])
            minutes = max(1, math.ceil(eta / 60.0)) if math.isfinite(eta) else 0
            per_min = float(self.slope[channel]) * 60.0
            target = crit_hi if per_min > 0 else crit_lo
            return f"critical in ~{minutes} min ({metric} {value:.1f}, {per_min:+.2f}/min toward {target:g})"
        return rule


def _pad(group_of: np.ndarray, count: int) -> np.ndarray:
    out = np.full(count, -1, dtype=np.int32)
    out[: group_of.size] = group_of
    return out
