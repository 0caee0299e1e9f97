"""Training jobs: whole nodes start, pause for checkpoints and stop together.

A job holds a block of whole nodes (one node up to several racks). All its GPUs step from idle to
full load in the same tick, dip together during checkpoints and drop together when it ends: sharp,
synchronised power steps that are legitimate operations and must not be flagged as faults.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BUSY_TARGET = 0.75
"""Fraction of nodes the scheduler tries to keep busy."""
ARRIVAL_S = 40.0
"""Mean seconds between job submissions while the campus is below its busy target."""
CHECKPOINT_UTIL = 4.0
"""GPU utilisation while a job writes a checkpoint (the GPUs wait on storage)."""


@dataclass(slots=True)
class Job:
    first_node: int
    node_count: int
    start: float
    end: float
    intensity: float
    """How hard the model drives its GPUs: scales busy power (0.88-1.0)."""
    checkpoint_every: float
    checkpoint_for: float
    checkpoint_phase: float

    def in_checkpoint(self, now: float) -> bool:
        since = (now - self.start + self.checkpoint_phase) % self.checkpoint_every
        return now - self.start > self.checkpoint_for and since < self.checkpoint_for


class JobScheduler:
    """Places jobs on free blocks of nodes and reports each node's utilisation and intensity."""

    def __init__(self, node_count: int, nodes_per_rack: int, rng: np.random.Generator, now: float) -> None:
        self.node_count = node_count
        self.nodes_per_rack = nodes_per_rack
        self.rng = rng
        self.active: dict[int, Job] = {}
        self.next_id = 0
        self.owner = np.full(node_count, -1, dtype=np.intp)
        sizes = [1, 2, nodes_per_rack, 2 * nodes_per_rack, 4 * nodes_per_rack, 8 * nodes_per_rack]
        self.sizes = sorted({size for size in sizes if size <= max(1, node_count // 2)})
        while self.busy_fraction() < BUSY_TARGET:
            job = self._place(now, already_running=True)
            if job is None:
                break

    def busy_fraction(self) -> float:
        return float(np.count_nonzero(self.owner >= 0)) / self.node_count

    def _place(self, now: float, already_running: bool = False) -> Job | None:
        size = int(self.rng.choice(self.sizes))
        align = self.nodes_per_rack if size >= self.nodes_per_rack else size
        free = self.owner < 0
        starts = [
            first for first in range(0, self.node_count - size + 1, align) if free[first : first + size].all()
        ]
        if not starts:
            return None
        first = int(starts[int(self.rng.integers(len(starts)))])
        duration = float(self.rng.uniform(600.0, 2400.0))
        started = now - float(self.rng.uniform(0.0, duration)) if already_running else now
        job = Job(
            first_node=first,
            node_count=size,
            start=started,
            end=started + duration,
            intensity=float(self.rng.uniform(0.88, 1.0)),
            checkpoint_every=float(self.rng.uniform(180.0, 600.0)),
            checkpoint_for=float(self.rng.uniform(15.0, 40.0)),
            checkpoint_phase=float(self.rng.uniform(0.0, 600.0)),
        )
        self.active[self.next_id] = job
        self.owner[first : first + size] = self.next_id
        self.next_id += 1
        return job

    def hold(self, node: int, until: float, now: float) -> None:
        """Keep a node busy until ``until``: a fault on an idle GPU would not show (operators
        debugging a node keep a job on it). Extends its job, or starts a one-node job."""
        owner = int(self.owner[node])
        if owner >= 0:
            job = self.active[owner]
            job.end = max(job.end, until)
            return
        self.active[self.next_id] = Job(
            first_node=node, node_count=1, start=now, end=until, intensity=1.0,
            checkpoint_every=float(self.rng.uniform(180.0, 600.0)), checkpoint_for=20.0,
            checkpoint_phase=float(self.rng.uniform(0.0, 600.0)),
        )
        self.owner[node] = self.next_id
        self.next_id += 1

    def advance(self, now: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """End due jobs, maybe start one, and return (node utilisation %, node intensity)."""
        for ident, job in list(self.active.items()):
            if job.end <= now:
                self.owner[job.first_node : job.first_node + job.node_count] = -1
                del self.active[ident]
        if self.busy_fraction() < BUSY_TARGET and self.rng.random() < min(1.0, dt / ARRIVAL_S):
            self._place(now)
        util = np.zeros(self.node_count)
        intensity = np.ones(self.node_count)
        for job in self.active.values():
            nodes = slice(job.first_node, job.first_node + job.node_count)
            util[nodes] = CHECKPOINT_UTIL if job.in_checkpoint(now) else 99.0
            intensity[nodes] = job.intensity
        return util, intensity
