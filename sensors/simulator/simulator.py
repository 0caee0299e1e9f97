"""The tick loop: jobs, faults and physics advance one interval, then become wire messages.

``Simulator`` has no I/O: ``initial_messages()`` and ``tick()`` return ``Outgoing`` messages that
a publisher sends to a broker, or that tests, the console demo and the scenario bench consume
directly. All randomness comes from one seed and sim time, never from the wall clock, so one seed
and start give the same bytes every run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sensors.codec import encode_event, encode_payload
from sensors.simulator.campus import Campus, CampusConfig
from sensors.simulator.effects import Effects
from sensors.simulator.faults import FaultBook
from sensors.simulator.jobs import JobScheduler
from sensors.simulator.physics import Plant
from sensors.simulator.scenarios import Label, ScenarioSpec
from sensors.simulator.security import CONTROLS, SecurityFeed
from sensors.simulator.telemetry import Reporter
from sensors.topics import (
    SEGMENT,
    cdu_topic,
    events_topic,
    meta_topic,
    node_topic,
    rack_topic,
    security_topic,
    status_topic,
)

WARM_UP_S = 600.0
"""Sim seconds run before the start so temperatures begin settled, not at their initial guess."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 0


class Simulator:
    """A simulated GPU campus: call ``initial_messages()`` once, then ``tick()`` per interval."""

    def __init__(
        self,
        campus: CampusConfig = CampusConfig(),  # noqa: B008 - frozen, so a shared default is safe
        seed: int = 0,
        scenarios: Sequence[ScenarioSpec] = (),
        start: float | None = None,
        interval: float = 1.0,
        prefix: str = "dc",
    ) -> None:
        if not interval > 0:
            raise ValueError("interval must be seconds > 0")
        if not SEGMENT.match(prefix):
            raise ValueError(f"prefix {prefix!r} is not [A-Za-z0-9_-]+")
        self.config = campus
        self.campus = Campus(campus)
        self.seed = seed
        self.interval = float(interval)
        self.prefix = prefix
        self.start = float(start) if start is not None else float(int(time.time()))
        self.now = self.start
        self.boot = f"sim-{seed}-{int(self.start)}"
        jobs_rng, plant_rng, fault_rng, report_rng, security_rng = (
            np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(5)
        )
        self.faults = FaultBook(self.campus, scenarios, fault_rng)
        self.jobs = JobScheduler(self.campus.node_count, campus.nodes_per_rack, jobs_rng, self.start)
        self.plant = Plant(self.campus, plant_rng)
        self.reporter = Reporter(self.campus, report_rng)
        sites = self.campus.sites
        self.security = {
            site: SecurityFeed(self.start, rng)
            for site, rng in zip(sites, security_rng.spawn(len(sites)), strict=True)
        }
        self._topics()
        self.seq: dict[str, int] = {}
        self.node_boot: dict[int, str] = {}
        self.restarts = 0
        self._warm_up()

    def _topics(self) -> None:
        campus, prefix = self.campus, self.prefix
        self.rack_topics = [rack_topic(r.site, r.hall, r.row, r.rack, prefix) for r in campus.racks]
        self.node_topics = []
        for node in range(campus.node_count):
            rack, name = campus.node_rack_and_name(node)
            self.node_topics.append(node_topic(rack.site, rack.hall, rack.row, rack.rack, name, prefix))
        self.cdu_topics = [cdu_topic(c.site, c.hall, c.cdu, prefix) for c in campus.cdus]
        self.security_topics = {
            site: {control: security_topic(site, control, prefix) for control in CONTROLS}
            for site in campus.sites
        }
        self.events_topics = {site: events_topic(site, prefix) for site in campus.sites}

    def _warm_up(self) -> None:
        util, intensity = self.jobs.advance(self.start, 0.0)
        quiet = Effects.none(self.campus)
        step = 10.0
        for _ in range(int(WARM_UP_S / step)):
            self.plant.step(step, util, intensity, quiet)

    @property
    def labels(self) -> list[Label]:
        """Ground truth of every scenario started so far."""
        return list(self.faults.labels)

    @property
    def active_scenarios(self) -> list[str]:
        """Names of the scenarios running now (for a status line)."""
        return sorted({fault.spec.name for fault in self.faults.active})

    def device_topics(self) -> list[str]:
        """Every device topic that has a retained meta and status."""
        security = [topic for controls in self.security_topics.values() for topic in controls.values()]
        return [*self.rack_topics, *self.cdu_topics, *self.node_topics, *security]

    def _meta(self) -> dict[str, dict[str, object]]:
        config = self.config
        rack = {"pdu_rating_kw": config.pdu_rating_kw, "nodes": config.nodes_per_rack, "cooling": "liquid"}
        node = {"gpu_model": config.gpu_model, "gpu_power_limit_w": config.gpu_power_limit_w,
                "gpu_slowdown_c": config.gpu_slowdown_c, "gpu_shutdown_c": config.gpu_shutdown_c,
                "mem_max_c": config.mem_max_c}
        meta: dict[str, dict[str, object]] = {topic: rack for topic in self.rack_topics}
        meta.update({topic: node for topic in self.node_topics})
        for index, topic in enumerate(self.cdu_topics):
            meta[topic] = {"design_flow_lpm": round(float(self.plant.cdu_nominal_lpm[index]), 1),
                           "racks": int(np.count_nonzero(self.campus.rack_cdu == index))}
        for controls in self.security_topics.values():
            for control, topic in controls.items():
                meta[topic] = {"control": control, "indicators": ",".join(CONTROLS[control])}
        return meta

    def _announce(self, topic: str, meta: dict[str, object]) -> list[Outgoing]:
        return [
            Outgoing(meta_topic(topic), encode_payload(meta), retain=True, qos=1),
            Outgoing(status_topic(topic), b"online", retain=True, qos=1),
        ]

    def initial_messages(self) -> list[Outgoing]:
        """Retained meta and status ``online`` of every device: send once after connecting."""
        out: list[Outgoing] = []
        for topic, meta in self._meta().items():
            out.extend(self._announce(topic, meta))
        return out

    def will(self) -> Outgoing:
        """The MQTT will: the wire contract has no topic for a publisher that speaks for many
        devices, so it marks the first rack offline; ``final_messages`` marks them all."""
        return Outgoing(status_topic(self.rack_topics[0]), b"offline", retain=True, qos=1)

    def final_messages(self) -> list[Outgoing]:
        """Retained status ``offline`` of every device: send before a clean disconnect."""
        topics = self.device_topics()
        return [Outgoing(status_topic(topic), b"offline", retain=True, qos=1) for topic in topics]

    def _data(self, topic: str, body: dict[str, object], boot: str | None = None) -> Outgoing:
        seq = self.seq.get(topic, 0)
        self.seq[topic] = seq + 1
        body = {"ts": self.now, "seq": seq, "boot": boot or self.boot, **body}
        return Outgoing(topic, encode_payload(body))

    def tick(self) -> list[Outgoing]:
        """Advance sim time by one interval and return that tick's messages."""
        dt = self.interval
        self.now = round(self.now + dt, 6)
        util, intensity = self.jobs.advance(self.now, dt)
        effects = Effects.none(self.campus)
        self.faults.advance(self.now, self.start, dt, self.plant, effects)
        for node, until in effects.hold_nodes.items():
            self.jobs.hold(node, until, self.now)
        self.plant.step(dt, util, intensity, effects)
        tables = self.reporter.readings(self.plant, effects)
        out: list[Outgoing] = []
        for topic, body in zip(self.rack_topics, self.reporter.rack_bodies(tables), strict=True):
            out.append(self._data(topic, body))
        for topic, body in zip(self.cdu_topics, self.reporter.cdu_bodies(tables), strict=True):
            out.append(self._data(topic, body))
        out.extend(self._node_messages(tables, effects))
        out.extend(self._security_messages(dt, effects))
        return out

    def _node_messages(self, tables: dict[str, dict[str, np.ndarray]], effects: Effects) -> list[Outgoing]:
        out: list[Outgoing] = []
        for node in sorted(effects.offline_nodes):
            out.append(Outgoing(status_topic(self.node_topics[node]), b"offline", retain=True, qos=1))
        node_meta = self._meta()[self.node_topics[0]] if effects.restarted_nodes else {}
        for node in sorted(effects.restarted_nodes):
            self.restarts += 1
            self.node_boot[node] = f"{self.boot}-restart{self.restarts}"
            self.seq.pop(self.node_topics[node], None)
            out.extend(self._announce(self.node_topics[node], node_meta))
        bodies = self.reporter.node_bodies(tables, self.plant, effects)
        for node, (topic, body) in enumerate(zip(self.node_topics, bodies, strict=True)):
            if node not in effects.silent_nodes:
                out.append(self._data(topic, body, self.node_boot.get(node)))
        return out

    def _security_messages(self, dt: float, effects: Effects) -> list[Outgoing]:
        out: list[Outgoing] = []
        for site, feed in self.security.items():
            due = feed.due(self.now, effects.indicators.get(site, {}))
            for control, indicators in due.items():
                out.append(self._data(self.security_topics[site][control], {"indicators": indicators}))
            events = [event[1:] for event in effects.events if event[0] == site]
            for kind, severity, where, detail in [*events, *feed.background_events(self.now, dt)]:
                topic = self.events_topics[site]
                seq = self.seq.get(topic, 0)
                self.seq[topic] = seq + 1
                payload = encode_event(self.now, kind, severity, where, detail, seq, self.boot)
                out.append(Outgoing(topic, payload, qos=1))
        return out
