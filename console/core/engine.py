"""The engine: decoded messages in, alert transitions and snapshots out.

One pipeline for every driver (the console, ``scan``, a headless analyzer): ``ingest`` decodes
and stores readings with one vectorized scatter per call, ``evaluate(now)`` runs every detector
over every channel for stream time ``now`` (call it about once per second of stream time) and
updates the alert book, ``snapshot`` freezes what the UI draws.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import replace

import numpy as np

from console.core.alert_book import AlertBook
from console.core.channels import ChannelRegistry, grow
from console.core.config import CoreConfig
from console.core.derived import IMBALANCE, PHASES, PhaseImbalance
from console.core.detectors.events import SparseRule
from console.core.detectors.forecast import TrendFit
from console.core.detectors.guard import CommonModeGuard
from console.core.detectors.limits import LimitDetector
from console.core.detectors.peers import PeerDetector
from console.core.detectors.quality import FlatlineDetector, StaleDetector
from console.core.detectors.robust import RobustBaseline
from console.core.groups import Groups
from console.core.history import History
from console.core.hysteresis import Tracker
from console.core.incidents import place_of_key
from console.core.ingest import MessageIngest
from console.core.rules import is_leak, matches, resolve_limits, split_metric
from console.core.rules_eval import RuleEvaluation
from console.core.security import Profile, SecurityState, builtin_profile
from console.core.snapshot import AlertTransition, Snapshot
from console.core.views import build_snapshot
from sensors.codec import Decoder
from sensors.messages import RawMessage

CHANNEL_RULES = ("limit", "leak", "rate", "deviation", "peer", "flatline", "forecast")
ROLE_MASKS = ("leak", "deviation", "load", "independent", "flatline", "rate")
"""Per-channel masks set from the channel's kind and metric alone (``Engine._roles_of``)."""


class Engine:
    """Headless anomaly core over every channel of a stream."""

    def __init__(
        self, config: CoreConfig | None = None, alert_book: AlertBook | None = None, prefix: str = "dc",
        security_profile: Profile | None = None,
    ) -> None:
        self.config = config = config or CoreConfig()
        self.prefix = prefix
        self.registry = registry = ChannelRegistry()
        capacity = registry.capacity
        self.latest = np.full(capacity, np.nan, dtype=np.float32)
        self.updated = np.full(capacity, np.nan)
        self.processed = np.full(capacity, -np.inf)
        self.history = History(capacity, config.history.window_s, config.history.step_s)
        self.limits = LimitDetector(capacity, config.limits.band_frac)
        self.robust = RobustBaseline(capacity, config.deviation)
        self.trend = TrendFit(capacity, config.forecast.fit_tau_s)
        self.flatline = FlatlineDetector(capacity, config.flatline)
        self.peers = PeerDetector(capacity, config.peer)
        self.guard = CommonModeGuard(config.guard)
        self.stale = StaleDetector(config.stale)
        self.groups = Groups()
        self.derived = PhaseImbalance()
        self.masks: dict[str, np.ndarray] = {
            name: np.zeros(capacity, dtype=bool)
            for name in ("leak", "deviation", "load", "independent", "flatline", "rate", "forecast")
        }
        timing = {
            "limit": config.limits, "leak": config.limits, "rate": config.rate,
            "deviation": config.deviation, "peer": config.peer, "flatline": config.flatline,
            "forecast": config.forecast,
        }
        self.trackers = {
            rule: Tracker(capacity, timing[rule].raise_after_s, timing[rule].clear_after_s)
            for rule in CHANNEL_RULES
        }
        self.stale_tracker = Tracker(64, config.stale.raise_after_s, config.stale.clear_after_s)
        ev = config.events
        self.sparse = {
            "xid": SparseRule(0.0, 0.0, ev.xid_hold_s),
            "throttle": SparseRule(ev.throttle_raise_after_s, ev.throttle_clear_after_s, 30.0),
            "seq": SparseRule(0.0, 0.0, ev.seq_hold_s),
        }
        self.meta: dict[str, dict[str, float | str]] = {}
        self._roles: dict[tuple[str, str], tuple[tuple[bool, ...], bool]] = {}
        self._cdu_map: dict[str, str] | None = None
        self.alerts = alert_book or AlertBook(
            incident_min_alerts=config.alerts.incident_min_alerts, cleared_kept=config.alerts.cleared_kept
        )
        self.alerts.place_of = self.place_of
        self.security = SecurityState(security_profile or builtin_profile(), prefix)  # security panel
        self.ingestor = MessageIngest(self, Decoder(prefix))
        self.rules = RuleEvaluation(self)
        self.events: deque = deque(maxlen=500)
        self.now = 0.0
        self.stream_time = 0.0
        """Newest sample time stored so far: what a log replay evaluates at."""
        self._structure_version = -1
        registry.on_resize(self._resize)
        registry.on_add(self._added)

    # -- ingest --------------------------------------------------------------------------
    def ingest(self, messages: Iterable[RawMessage]) -> None:
        """Decode, de-duplicate and store a batch of raw messages (any size, any mix of topics)."""
        self.ingestor.ingest(messages)

    def ingest_values(self, ts: float, values: Mapping[str, float], device: str = "") -> None:
        """Store one row of named values at ``ts`` (CSV columns, tests): keys are the names."""
        self.ingestor.ingest_values(ts, values, device)

    def store(self, channels: np.ndarray, values: np.ndarray, ts: np.ndarray) -> None:
        """One vectorized write of readings into latest values, their times and the history."""
        if channels.size == 0:
            return
        self.latest[channels] = values
        self.updated[channels] = ts
        self.history.write(ts, channels, values)
        self.stream_time = max(self.stream_time, float(ts.max()))

    # -- evaluate ------------------------------------------------------------------------
    def evaluate(self, now: float) -> list[AlertTransition]:
        """Run every detector for stream time ``now``; returns (and books) the alert transitions."""
        self.now = max(self.now, now)
        self._refresh_structure()
        transitions = self.rules.evaluate(now) + self.security.evaluate(now)
        self.alerts.apply(transitions)
        transitions += self.alerts.expire_restored(now)
        self.ingestor.tick(now)
        return transitions

    def _refresh_structure(self) -> None:
        if self.registry.version == self._structure_version:
            return
        self._structure_version = self.registry.version
        self.groups.refresh(self.registry)
        self.peers.rebuild(self.registry, self.groups)

    def restore_alert(self, rule: str, key: str, level: int, value: float, message: str, now: float) -> bool:
        """Hold an alert raised before a restart as raised (level 1 warning, 2 critical), so it is
        neither raised again nor forgotten: the rule's tracker clears it as if it had raised it.
        False while the alert's subject (channel, device) has not reported yet."""
        if rule in CHANNEL_RULES:
            channel = self.registry.index.get(key)
            if channel is None:
                return False
            tracker = self.trackers[rule]
            tracker.active[channel] = max(int(tracker.active[channel]), level)
            return True
        if rule == "stale":
            device = self.registry.device_index.get(key)
            if device is None:
                return False
            tracker = self.stale_tracker
            if tracker.active.shape[0] <= device:
                tracker.resize(max(device + 1, 2 * tracker.active.shape[0]))
            tracker.active[device] = max(int(tracker.active[device]), level)
            return True
        sparse = self.sparse.get(rule)
        if sparse is None:
            return False
        # A pulse rule holds its level hold_s after the last sighting; the restart counts as one.
        sparse.observe(key, level, value, message, now)
        number = sparse.index[key]
        sparse.tracker.active[number] = max(int(sparse.tracker.active[number]), level)
        return True

    # -- snapshot ------------------------------------------------------------------------
    def snapshot(self, history_keys: Iterable[str] = ()) -> Snapshot:
        """A frozen view of everything the UI draws at the latest evaluated stream time."""
        return replace(build_snapshot(self, history_keys), security=self.security.view(self.now))

    # -- channels, limits, places -----------------------------------------------------------
    def _resize(self, capacity: int) -> None:
        self.latest = grow(self.latest, capacity, np.nan)
        self.updated = grow(self.updated, capacity, np.nan)
        self.processed = grow(self.processed, capacity, -np.inf)
        for part in (self.history, self.limits, self.robust, self.trend, self.flatline, self.peers):
            part.resize(capacity)
        for tracker in self.trackers.values():
            tracker.resize(capacity)
        self.masks = {name: grow(mask, capacity, False) for name, mask in self.masks.items()}

    def _added(self, channels: np.ndarray) -> None:
        masks = self.masks
        for channel in channels.tolist():
            metric = self.registry.metrics[channel]
            kind = self.registry.kind_of(channel)
            found = self._roles.get((kind, metric))
            if found is None:
                found = self._roles[(kind, metric)] = self._roles_of(kind, metric)
            flags, phase = found
            for name, flag in zip(ROLE_MASKS, flags, strict=True):
                masks[name][channel] = flag
            self._set_limits(channel, kind, metric)
            if phase:
                self._maybe_imbalance(self.registry.device_path(channel))

    def _roles_of(self, kind: str, metric: str) -> tuple[tuple[bool, ...], bool]:
        """(a flag per ``ROLE_MASKS``, whether it is a rack's phase current) of a channel. The same
        for every device, so worked out once per kind and metric: the patterns' fnmatch was most
        of the time it took to register a hall's 50,000 channels."""
        config = self.config
        _, base = split_metric(metric)
        csv = kind == "csv"  # single-series mode (methods.md 6): every column gets the per-channel layers
        flags = (
            is_leak(metric),
            csv or matches(metric, config.deviation.metrics),
            matches(metric, config.guard.load_metrics),
            matches(metric, config.guard.independent_metrics),
            csv or matches(metric, config.flatline.metrics),
            base == "inlet_temp_c",
        )
        return flags, base in PHASES and kind == "rack"

    def _set_limits(self, channel: int, kind: str, metric: str) -> None:
        device = self.registry.device_path(channel)
        meta = self.meta.get(device, {})
        if is_leak(metric):
            limits = (np.nan, 0.5, np.nan, np.nan)
        else:
            limits = resolve_limits(kind, metric, meta, meta, self.config.limit_overrides)
        self.limits.set(channel, limits)
        has_critical = not (np.isnan(limits[1]) and np.isnan(limits[3]))
        self.masks["forecast"][channel] = has_critical and not is_leak(metric)

    def _maybe_imbalance(self, device: str) -> None:
        found = [self.registry.index.get(f"{device}/{phase}") for phase in PHASES]
        if any(f is None for f in found):
            return
        target = self.registry.channel(device, "rack", IMBALANCE)
        self.derived.add((found[0], found[1], found[2]), target)

    def apply_meta(self, device: str, facts: dict[str, float | str]) -> None:
        """New retained meta for a device: store it and re-resolve its channels' limits."""
        self.meta[device] = facts
        self._cdu_map = None
        number = self.registry.device_index.get(device)
        if number is None:
            return
        kind = self.registry.device_kind[number]
        for channel in self.registry.device_channels[number]:
            self._set_limits(channel, kind, self.registry.metrics[channel])

    def cdu_of_rack(self) -> dict[str, str]:
        """Racks whose meta names their CDU (optional ``cdu`` fact: ``<site>/<hall>/cdu/<c>`` or ``<c>``)."""
        if self._cdu_map is not None:
            return self._cdu_map
        out: dict[str, str] = {}
        for device, facts in self.meta.items():
            cdu = facts.get("cdu")
            parts = device.split("/")
            if isinstance(cdu, str) and len(parts) == 5 and parts[4] == "rack":
                out["/".join(parts[:4])] = cdu if "/" in cdu else f"{parts[0]}/{parts[1]}/cdu/{cdu}"
        self._cdu_map = out
        return out

    def place_of(self, key: str) -> str | None:
        return place_of_key(key, self.cdu_of_rack())
