"""Freeze the engine's state into a Snapshot (console/core/snapshot.py) for the UI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from console.core.channels import device_place
from console.core.rules import split_metric
from console.core.snapshot import ChannelView, IngestStats, RackView, Severity, Snapshot

if TYPE_CHECKING:
    from console.core.engine import Engine


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.array(array, copy=True)
    out.setflags(write=False)
    return out


class _RackLayout:
    """Which channels feed each rack's rollups; rebuilt when channels are added."""

    def __init__(self, engine: Engine) -> None:
        registry = engine.registry
        self.version = registry.version
        racks: dict[str, int] = {}
        for rack in registry.device_rack:
            if rack:
                racks.setdefault(rack, len(racks))
        self.racks = tuple(sorted(racks))
        order = {rack: i for i, rack in enumerate(self.racks)}
        self.device_rack = np.array(
            [order.get(rack, -1) for rack in registry.device_rack], dtype=np.intp
        )
        count = len(self.racks)
        self.inlet = np.full(count, -1, dtype=np.intp)
        self.power = np.full(count, -1, dtype=np.intp)
        gpu_channels: list[int] = []
        gpu_racks: list[int] = []
        for channel, metric in enumerate(registry.metrics):
            device = int(registry.device_of[channel])
            rack = int(self.device_rack[device]) if device < self.device_rack.size else -1
            if rack < 0:
                continue
            gpu, base = split_metric(metric)
            kind = registry.device_kind[device]
            if kind == "rack" and base == "inlet_temp_c":
                self.inlet[rack] = channel
            elif kind == "rack" and base == "power_kw":
                self.power[rack] = channel
            elif gpu is not None and base == "temp_c":
                gpu_channels.append(channel)
                gpu_racks.append(rack)
        self.gpu_channels = np.array(gpu_channels, dtype=np.intp)
        self.gpu_racks = np.array(gpu_racks, dtype=np.intp)


def _pick(latest: np.ndarray, indices: np.ndarray) -> np.ndarray:
    out = np.where(indices >= 0, latest[np.maximum(indices, 0)], np.nan)
    return out.astype(np.float32)


def _rejected(engine: Engine) -> dict[str, int]:
    """Codec rejections by reason plus the messages the store refused (clock skew, overflow)."""
    out = {str(reason): n for reason, n in engine.ingestor.decoder.rejects.by_reason.items()}
    for reason, count in engine.ingestor.refused.items():
        out[reason] = out.get(reason, 0) + count
    return out


def _limits(engine: Engine, count: int) -> dict[str, tuple[float, float]]:
    """Warning and critical (high side) limit per key, rebuilt only when a limit changed."""
    cached = getattr(engine, "_limits_view", None)
    stamp = (engine.limits.version, count)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    limits = {}
    warn_hi, crit_hi = engine.limits.warn_hi[:count], engine.limits.crit_hi[:count]
    for channel in np.flatnonzero(~np.isnan(warn_hi) | ~np.isnan(crit_hi)).tolist():
        limits[engine.registry.keys[channel]] = (float(warn_hi[channel]), float(crit_hi[channel]))
    engine._limits_view = (stamp, limits)  # type: ignore[attr-defined]
    return limits


def build_snapshot(engine: Engine, history_keys: Iterable[str]) -> Snapshot:
    registry = engine.registry
    count = len(registry)
    devices = len(registry.devices)
    now = engine.now
    device_level = engine.stale.level(now, devices) if devices else np.zeros(0, dtype=np.int8)
    device_stale = device_level == 1
    channel_stale = device_stale[registry.device_of[:count]] if devices else np.zeros(count, dtype=bool)

    layout = getattr(engine, "_rack_layout", None)
    if layout is None or layout.version != registry.version or layout.device_rack.size != devices:
        # Devices also arrive without channels (a retained status or meta first): rebuild then too.
        layout = _RackLayout(engine)
        engine._rack_layout = layout  # type: ignore[attr-defined]
    latest = engine.latest
    racks = len(layout.racks)
    hottest = np.full(racks, np.nan, dtype=np.float32)
    if layout.gpu_channels.size:
        np.fmax.at(hottest, layout.gpu_racks, latest[layout.gpu_channels])
    power_pct = np.full(racks, np.nan, dtype=np.float32)
    for rack, channel in enumerate(layout.power.tolist()):
        if channel >= 0:
            rating = engine.meta.get(f"{layout.racks[rack]}/rack", {}).get("pdu_rating_kw")
            if isinstance(rating, float | int) and rating > 0:
                power_pct[rack] = latest[channel] / float(rating) * 100.0
    stale = np.zeros(racks, dtype=bool)
    in_rack = layout.device_rack[:devices] >= 0
    if in_rack.any():
        np.logical_or.at(stale, layout.device_rack[:devices][in_rack], device_stale[in_rack])

    alerts = engine.alerts.alerts(now)
    level = np.zeros(racks, dtype=np.int8)
    rack_order = {rack: i for i, rack in enumerate(layout.racks)}
    for alert in alerts:
        if alert.silenced_until is not None:
            continue
        parts = alert.key.split("/")
        kind = parts[4] if len(parts) > 4 else ""
        rack, _ = device_place(kind, alert.key)
        number = rack_order.get(rack)
        if number is not None:
            level[number] = max(level[number], 2 if alert.severity is Severity.CRITICAL else 1)

    limits = _limits(engine, count)

    history = {}
    for key in history_keys:
        channel = registry.index.get(key)
        if channel is not None:
            times, values = engine.history.series(channel)
            history[key] = (_frozen(times), _frozen(values))

    ingest = engine.ingestor
    offline = engine.stale.offline[:devices] if devices else np.zeros(0, dtype=bool)
    stats = IngestStats(
        received=ingest.received,
        decoded=ingest.decoded,
        rejected=_rejected(engine),
        dropped=ingest.dropped,
        duplicates=ingest.duplicates,
        messages_per_second=ingest.messages_per_second,
        sources_online=int((~device_stale & ~offline).sum()),
        sources_stale=int((device_stale & ~offline).sum()),
        sources_offline=int(offline.sum()),
    )
    return Snapshot(
        now=now,
        channels=ChannelView(
            keys=tuple(registry.keys),
            latest=_frozen(latest[:count]),
            updated=_frozen(engine.updated[:count]),
            stale=_frozen(channel_stale),
            limits=limits,
        ),
        racks=RackView(
            racks=layout.racks,
            inlet_c=_frozen(_pick(latest, layout.inlet)),
            power_pct=_frozen(power_pct),
            hottest_gpu_c=_frozen(hottest),
            alert_level=_frozen(level),
            stale=_frozen(stale),
        ),
        alerts=alerts,
        incidents=engine.alerts.incidents(now),
        events=tuple(engine.events),
        stats=stats,
        history=history,
        device_meta={device: dict(facts) for device, facts in engine.meta.items()},
    )
