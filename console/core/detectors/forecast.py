"""Trend per channel and time-to-limit: "critical in ~4 min".

An exponentially weighted least-squares line through each channel's recent samples, kept as
five running sums re-centred on the newest sample: O(1) per sample, the recursive equivalent of
Prometheus ``predict_linear`` (methods.md 2.4, 3). Irregular sample spacing is handled by
decaying the sums by ``exp(-dt / tau)``. The slope also serves the rate-of-change rule. After a
recognised load step the fit restarts (guard.py), so a settling job-start curve is not
extrapolated (the thermal caveat of methods.md 2.4).
"""

from __future__ import annotations

import numpy as np

from console.core.channels import as_slice, grow


class TrendFit:
    """Weighted line fit per channel: level at the newest sample and slope per second."""

    def __init__(self, capacity: int, tau_s: float) -> None:
        self.tau_s = tau_s
        self.sums = np.zeros((5, capacity))
        """Rows: weight, sum t, sum t^2, sum y, sum t*y with t relative to the newest sample."""
        self.last_t = np.full(capacity, np.nan)
        self.samples = np.zeros(capacity, dtype=np.int32)

    def resize(self, capacity: int) -> None:
        self.sums = grow(self.sums, capacity, 0.0)
        self.last_t = grow(self.last_t, capacity, np.nan)
        self.samples = grow(self.samples, capacity, 0)

    def update(self, channels: np.ndarray, t: np.ndarray, y: np.ndarray) -> None:
        valid = ~np.isnan(y)
        if not valid.all():
            channels, t, y = channels[valid], t[valid], y[valid]
        at = as_slice(channels)
        dt = t - self.last_t[at]
        np.nan_to_num(dt, copy=False, nan=0.0)
        np.maximum(dt, 0.0, out=dt)
        rows = self.sums[:, at]  # a view when the channels are one run: written in place below
        weight, st, stt, sy, sty = rows
        shifted_stt = stt - 2 * dt * st + dt * dt * weight
        shifted_st = st - dt * weight
        shifted_sty = sty - dt * sy
        decay = np.exp(-dt / self.tau_s)
        np.multiply(weight, decay, out=weight)
        weight += 1.0
        np.multiply(shifted_st, decay, out=st)
        np.multiply(shifted_stt, decay, out=stt)
        np.multiply(sy, decay, out=sy)
        sy += y
        np.multiply(shifted_sty, decay, out=sty)
        if not isinstance(at, slice):
            self.sums[:, at] = rows
        self.last_t[at] = t
        self.samples[at] += 1

    def restart(self, channels: np.ndarray) -> None:
        self.sums[:, channels] = 0.0
        self.samples[channels] = 0

    def line_at(self, channels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(level at the newest sample, slope per second) of the listed channels; NaN without a fit.

        Only the channels a rule will read are fitted: the forecast's and the rate rule's."""
        weight, st, stt, sy, sty = self.sums[:, channels]
        denominator = weight * stt - st * st
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(denominator > 1e-9, (weight * sty - st * sy) / denominator, np.nan)
            level = np.where(weight > 0, (sy - np.nan_to_num(slope) * st) / weight, np.nan)
        return level, slope


def forecast_level(
    level: np.ndarray,
    slope: np.ndarray,
    limit: np.ndarray,
    warn: np.ndarray,
    active: np.ndarray,
    horizon_s: float,
    clear_factor: float,
    min_slope: float,
    max_distance_frac: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(1 where the line rises to the upper ``limit`` within the horizon, seconds to the limit).

    Only channels already near the limit are forecast: within ``max_distance_frac`` of its size
    or twice the warn-to-limit gap, whichever is wider. For a lower limit pass everything negated.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        eta = np.where(slope > 0, (limit - level) / slope, np.inf)
        horizon = np.where(active > 0, horizon_s * clear_factor, horizon_s)
        rising = slope >= np.where(active > 0, 0.0, min_slope)
        window = np.fmax(max_distance_frac * np.maximum(np.abs(limit), 1.0), 2.0 * np.abs(limit - warn))
        on = rising & (limit - level <= window) & (eta >= 0) & (eta <= horizon)
    out = on.astype(np.int8)
    out[np.isnan(slope) | np.isnan(limit) | (level >= limit)] = -1
    return out, eta


def forecast_both(
    level: np.ndarray,
    slope: np.ndarray,
    limits: tuple[np.ndarray, ...],
    active: np.ndarray,
    **settings: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast toward the upper and the lower critical limit; (level, seconds to the nearer)."""
    warn_hi, crit_hi, warn_lo, crit_lo = limits
    high, eta_high = forecast_level(level, slope, crit_hi, warn_hi, active, **settings)
    low, eta_low = forecast_level(-level, -slope, -crit_lo, -warn_lo, active, **settings)
    out = np.maximum(high, low)
    return out, np.where(low > high, eta_low, eta_high)


def rate_level(slope_per_h: np.ndarray, warn: float, crit: float, active: np.ndarray) -> np.ndarray:
    """Rate of change against |warn| / |crit| per hour; half the limit to clear while raised."""
    factor = np.where(active > 0, 0.5, 1.0)
    magnitude = np.abs(slope_per_h)
    with np.errstate(invalid="ignore"):
        level = np.where(magnitude >= crit * factor, 2, np.where(magnitude >= warn * factor, 1, 0))
    level = level.astype(np.int8)
    level[np.isnan(slope_per_h)] = -1
    return level
