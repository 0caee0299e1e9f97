"""Static limits: the default table, each number with its source, resolved per channel.

A limit is (warn_hi, crit_hi, warn_lo, crit_lo); NaN means "no limit that side". GPU limits
come from the node's retained meta (``gpu_slowdown_c``, ``gpu_shutdown_c``, ``mem_max_c``,
``gpu_power_limit_w``) and fall back to per-model defaults; rack power limits come from the
rack meta ``pdu_rating_kw``. A ``[limits.<metric>]`` table in the TOML config replaces a row.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass

from console.core.config import LimitOverride

NAN = math.nan

Limits = tuple[float, float, float, float]
"""warn_hi, crit_hi, warn_lo, crit_lo."""
NO_LIMITS: Limits = (NAN, NAN, NAN, NAN)


@dataclass(frozen=True, slots=True)
class GpuModel:
    """Thermal and power limits of one GPU model (domain.md 1a, 1b)."""

    max_operating_c: float
    hw_slowdown_c: float
    shutdown_c: float
    mem_max_c: float
    power_limit_w: float


GPU_MODELS: dict[str, GpuModel] = {
    # H100/H800 SXM5: nvidia-smi -q of an H800 SXM5 (driver 525): max operating 87, HW slowdown 89,
    # shutdown 92, memory max 95 C; power 700 W (domain.md 1a, 1b).
    "H100": GpuModel(87.0, 89.0, 92.0, 95.0, 700.0),
    # A100 80GB: nvidia-smi -q in public issue text: 85 / 89 / 92 / 95 C (domain.md 1b); 400 W SXM.
    "A100": GpuModel(85.0, 89.0, 92.0, 95.0, 400.0),
    # H200: absolute limits unsourced (domain.md 8); H100 SXM values as the closest known part,
    # power 700 W per DCGM diag SKU table target_power (domain.md 1a). Override from meta.
    "H200": GpuModel(87.0, 89.0, 92.0, 95.0, 700.0),
    # B200 / GB200: thresholds unsourced (domain.md 8), same policy; power caps 1000 / 1200 W
    # from public nvidia-smi captures and the DCGM diag SKU table (domain.md 1a).
    "B200": GpuModel(87.0, 89.0, 92.0, 95.0, 1000.0),
    "GB200": GpuModel(87.0, 89.0, 92.0, 95.0, 1200.0),
}
DEFAULT_GPU = GPU_MODELS["H100"]
GPU_WARN_MARGIN_C = 5.0
"""Warn this far below the slowdown point (domain.md 7: "GPU Max Operating - 5 C", a policy)."""
MARGIN_WARN_C = 5.0
"""temp_margin_c: warn at <= 5 C headroom (domain.md 7, policy); critical at 0 = at the nearest
slowdown threshold (NVML margin temperature definition, domain.md 1b)."""
PDU_CONTINUOUS_FRACTION = 0.8
"""NEC 210.19(A)(1)/210.20(A): continuous load <= 80 % of the breaker rating (domain.md 5b)."""

RACK_LIMITS: dict[str, Limits] = {
    # ASHRAE TC 9.9 2021 Table 2.1 (domain.md 4a): recommended 18-27 C (warn), A1 allowable 15-32 C (crit).
    "inlet_temp_c": (27.0, 32.0, 18.0, 15.0),
    # ASHRAE recommended max dew point 15 C (warn), A1 allowable max 17 C (crit) (domain.md 4a).
    "dew_point_c": (15.0, 17.0, NAN, NAN),
    # ASHRAE recommended <= 70 % RH (warn); A1 allowable 8-80 % RH (crit) (domain.md 4a).
    "humidity_pct": (70.0, 80.0, NAN, 8.0),
    # 3-phase imbalance bands, calcspec.com PDU load balance calculator: >10 % marginal (warn),
    # >20 % critical (domain.md 5c). Derived channel, see derived.py.
    "phase_imbalance_pct": (10.0, 20.0, NAN, NAN),
}
CDU_LIMITS: dict[str, Limits] = {
    # Secondary (TCS) supply: ASHRAE W-class number = max facility supply C (W32 warn, W40 crit);
    # secondary source resistancezero.com (domain.md 4b, 5d). Site policy: override in TOML.
    "supply_temp_c": (32.0, 40.0, NAN, NAN),
    # Return ~45 C typical for GPU DLC loops (factryze.ai, domain.md 5d); 50/55 C is our policy.
    "return_temp_c": (50.0, 55.0, NAN, NAN),
}
LEAK_METRICS = ("leak",)
"""A leak flag is critical on sight (domain.md 5e: alarm, isolate)."""


def gpu_model(meta: Mapping[str, float | str]) -> GpuModel:
    """The model table row matching a node's ``gpu_model`` meta (``H100-SXM`` -> H100)."""
    name = str(meta.get("gpu_model", "")).upper()
    for key in sorted(GPU_MODELS, key=len, reverse=True):
        if name.startswith(key) or f"-{key}" in name or f" {key}" in name:
            return GPU_MODELS[key]
    return DEFAULT_GPU


def _meta_number(meta: Mapping[str, float | str], name: str, default: float) -> float:
    value = meta.get(name)
    return float(value) if isinstance(value, float | int) else default


def gpu_limits(metric: str, meta: Mapping[str, float | str]) -> Limits:
    """Limits of a GPU metric (``temp_c``...) from node meta, or the model's defaults."""
    model = gpu_model(meta)
    if metric == "temp_c":
        # Warn 5 C below the nearest slowdown point (max operating / SW slowdown); critical at HW
        # slowdown where the meta names it, else at the slowdown point the meta gives (domain.md 7).
        slowdown = _meta_number(meta, "gpu_slowdown_c", model.max_operating_c)
        fallback = slowdown if "gpu_slowdown_c" in meta else model.hw_slowdown_c
        crit = _meta_number(meta, "gpu_hw_slowdown_c", fallback)
        crit = min(crit, _meta_number(meta, "gpu_shutdown_c", model.shutdown_c))
        return (slowdown - GPU_WARN_MARGIN_C, crit, NAN, NAN)
    if metric == "mem_temp_c":
        mem_max = _meta_number(meta, "mem_max_c", model.mem_max_c)
        return (mem_max - GPU_WARN_MARGIN_C, mem_max, NAN, NAN)
    if metric == "temp_margin_c":
        return (NAN, NAN, MARGIN_WARN_C, 0.0)
    if metric == "power_w":
        # Power above the enforced limit should not persist (domain.md 7); 5 % slack is policy.
        return (_meta_number(meta, "gpu_power_limit_w", model.power_limit_w) * 1.05, NAN, NAN, NAN)
    return NO_LIMITS


def rack_limits(metric: str, rack_meta: Mapping[str, float | str]) -> Limits:
    if metric == "power_kw":
        rating = rack_meta.get("pdu_rating_kw")
        if isinstance(rating, float | int) and rating > 0:
            # Warn at the NEC 80 % continuous-load line; critical at the rating itself (policy).
            return (float(rating) * PDU_CONTINUOUS_FRACTION, float(rating), NAN, NAN)
        return NO_LIMITS
    return RACK_LIMITS.get(metric, NO_LIMITS)


def cdu_limits(metric: str, meta: Mapping[str, float | str]) -> Limits:
    if metric == "flow_lpm":
        design = meta.get("design_flow_lpm")
        if isinstance(design, float | int) and design > 0:
            # Flow below 80 % / 50 % of the CDU's design flow: policy (domain.md 5d gives only the
            # OCP design rule of 1.25-2.0 L/min per kW, no alarm bands).
            return (NAN, NAN, 0.8 * float(design), 0.5 * float(design))
        return NO_LIMITS
    return CDU_LIMITS.get(metric, NO_LIMITS)


def split_metric(metric: str) -> tuple[int | None, str]:
    """``gpu3/temp_c`` -> (3, "temp_c"); ``inlet_temp_c`` -> (None, "inlet_temp_c")."""
    head, sep, tail = metric.partition("/")
    if sep and head.startswith("gpu") and head[3:].isdigit():
        return int(head[3:]), tail
    return None, metric


def resolve_limits(
    kind: str,
    metric: str,
    device_meta: Mapping[str, float | str],
    rack_meta: Mapping[str, float | str],
    overrides: Mapping[str, LimitOverride],
) -> Limits:
    """The static limits of one channel, after TOML overrides (matched on the metric, fnmatch)."""
    gpu, base = split_metric(metric)
    if gpu is not None:
        limits = gpu_limits(base, device_meta)
    elif kind == "rack":
        limits = rack_limits(base, rack_meta)
    elif kind == "cdu":
        limits = cdu_limits(base, device_meta)
    elif kind == "csv":
        limits = RACK_LIMITS.get(base, NO_LIMITS)
    else:
        limits = NO_LIMITS
    for pattern, override in overrides.items():
        if fnmatch.fnmatchcase(metric, pattern) or fnmatch.fnmatchcase(base, pattern):
            limits = (override.warn_hi, override.crit_hi, override.warn_lo, override.crit_lo)
    return limits


def is_leak(metric: str) -> bool:
    return split_metric(metric)[1] in LEAK_METRICS


def matches(metric: str, patterns: tuple[str, ...]) -> bool:
    base = split_metric(metric)[1]
    return any(fnmatch.fnmatchcase(base, pattern) for pattern in patterns)
