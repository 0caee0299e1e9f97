"""Campus layout: sites, halls, rows, racks, nodes, GPUs and CDUs, with names and index arrays.

Every device gets an index; numpy arrays map GPUs to nodes, nodes to racks and racks to CDUs, so
the physics runs over whole arrays. Names follow the wire contract (``[A-Za-z0-9_-]+``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

RACK_METRICS = (
    "inlet_temp_c", "outlet_temp_c", "humidity_pct", "dew_point_c", "power_kw", "pdu_a_kw", "pdu_b_kw",
    "phase_l1_a", "phase_l2_a", "phase_l3_a", "leak", "door_open",
)
NODE_METRICS = ("cpu_temp_c", "psu_power_w", "fan_pct")
GPU_METRICS = ("temp_c", "mem_temp_c", "power_w", "util_pct", "sm_clock_mhz", "ecc_dbe", "temp_margin_c")
GPU_LISTS = ("xid", "throttle")
"""GPU fields that are lists on the wire; their channel keys name the GPU's events, not a number."""
CDU_METRICS = ("supply_temp_c", "return_temp_c", "flow_lpm", "pressure_kpa", "leak")


@dataclass(frozen=True, slots=True)
class CampusConfig:
    """How big the simulated campus is, and the facts its devices announce in their meta."""

    sites: int = 1
    halls: int = 1
    rows: int = 8
    racks_per_row: int = 10
    nodes_per_rack: int = 4
    gpus_per_node: int = 8
    rows_per_cdu: int = 2
    pdu_rating_kw: float = 60.0
    gpu_model: str = "H100-SXM"
    gpu_power_limit_w: float = 700.0
    """H100 SXM5 max power limit (../shared/domain.md section 1a)."""
    gpu_slowdown_c: float = 87.0
    """Nearest slowdown point: GPU max operating / SW slowdown, 87 C on H100 SXM (domain.md 1b)."""
    gpu_hw_slowdown_c: float = 89.0
    """HW slowdown (clocks halved), 89 C on H100/H800 SXM5 (domain.md 1b)."""
    gpu_shutdown_c: float = 92.0
    mem_max_c: float = 95.0

    def __post_init__(self) -> None:
        for name in ("sites", "halls", "rows", "racks_per_row", "nodes_per_rack", "gpus_per_node",
                     "rows_per_cdu"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be a whole number of at least 1")
        if self.gpus_per_node > 64:
            raise ValueError("gpus per node must be at most 64 (the wire contract's limit)")
        if self.nodes_per_rack > 64 or self.racks_per_row > 999 or self.rows > 99:
            raise ValueError("campus too large: at most 99 rows, 999 racks per row, 64 nodes per rack")


def _name(stem: str, number: int, width: int) -> str:
    return f"{stem}{number:0{width}d}"


@dataclass(frozen=True, slots=True)
class Rack:
    site: str
    hall: str
    row: str
    rack: str

    @property
    def path(self) -> str:
        """Device path of the rack's location (``s1/h1/r01/rk01``), without the ``rack`` leaf."""
        return f"{self.site}/{self.hall}/{self.row}/{self.rack}"


@dataclass(frozen=True, slots=True)
class Cdu:
    site: str
    hall: str
    cdu: str

    @property
    def path(self) -> str:
        return f"{self.site}/{self.hall}/cdu/{self.cdu}"


class Campus:
    """The devices of one configuration and the index arrays that tie them together."""

    def __init__(self, config: CampusConfig) -> None:
        self.config = config
        racks: list[Rack] = []
        cdus: list[Cdu] = []
        rack_cdu: list[int] = []
        rack_row: list[int] = []
        row_index = 0
        for s in range(1, config.sites + 1):
            for h in range(1, config.halls + 1):
                site, hall = f"s{s}", f"h{h}"
                hall_cdu_base = len(cdus)
                for cdu in range((config.rows + config.rows_per_cdu - 1) // config.rows_per_cdu):
                    cdus.append(Cdu(site, hall, f"cdu{cdu + 1}"))
                for r in range(config.rows):
                    for k in range(config.racks_per_row):
                        racks.append(Rack(site, hall, _name("r", r + 1, 2), _name("rk", k + 1, 2)))
                        rack_cdu.append(hall_cdu_base + r // config.rows_per_cdu)
                        rack_row.append(row_index)
                    row_index += 1
        self.racks = racks
        self.cdus = cdus
        self.rack_cdu = np.asarray(rack_cdu, dtype=np.intp)
        self.rack_row = np.asarray(rack_row, dtype=np.intp)
        """Global row number of each rack (rows of different halls are different rows)."""
        self.row_count = row_index
        self.node_names = [f"n{i + 1}" for i in range(config.nodes_per_rack)]
        self.node_rack = np.repeat(np.arange(len(racks)), config.nodes_per_rack)
        self.gpu_node = np.repeat(np.arange(self.node_count), config.gpus_per_node)
        self.hall_of_rack = np.asarray(
            [(int(r.site[1:]) - 1) * config.halls + int(r.hall[1:]) - 1 for r in racks], dtype=np.intp
        )
        self.hall_count = config.sites * config.halls

    @property
    def rack_count(self) -> int:
        return len(self.racks)

    @property
    def node_count(self) -> int:
        return len(self.racks) * self.config.nodes_per_rack

    @property
    def gpu_count(self) -> int:
        return self.node_count * self.config.gpus_per_node

    @property
    def sites(self) -> list[str]:
        return [f"s{s + 1}" for s in range(self.config.sites)]

    def node_rack_and_name(self, node: int) -> tuple[Rack, str]:
        rack = self.racks[node // self.config.nodes_per_rack]
        return rack, self.node_names[node % self.config.nodes_per_rack]

    def node_path(self, node: int) -> str:
        """Device path of a node (``s1/h1/r01/rk01/node/n1``)."""
        rack, name = self.node_rack_and_name(node)
        return f"{rack.path}/node/{name}"

    def rack_key(self, rack: int, metric: str) -> str:
        return f"{self.racks[rack].path}/rack/{metric}"

    def gpu_key(self, gpu: int, metric: str) -> str:
        node, index = divmod(gpu, self.config.gpus_per_node)
        return f"{self.node_path(node)}/gpu{index}/{metric}"

    def node_key(self, node: int, metric: str) -> str:
        return f"{self.node_path(node)}/{metric}"

    def cdu_key(self, cdu: int, metric: str) -> str:
        return f"{self.cdus[cdu].path}/{metric}"

    @cached_property
    def _rack_lookup(self) -> dict[str, int]:
        lookup: dict[str, int] = {}
        for index, rack in enumerate(self.racks):
            lookup[rack.path] = index
            if rack.site == "s1" and rack.hall == "h1":
                lookup[f"{rack.row}/{rack.rack}"] = index
        return lookup

    @cached_property
    def _row_lookup(self) -> dict[str, int]:
        lookup: dict[str, int] = {}
        for index, rack in enumerate(self.racks):
            row = int(self.rack_row[index])
            lookup[f"{rack.site}/{rack.hall}/{rack.row}"] = row
            if rack.site == "s1" and rack.hall == "h1":
                lookup[rack.row] = row
        return lookup

    def find_row(self, target: str) -> int | None:
        """Row number of ``r03`` (first hall) or ``s1/h1/r03``."""
        return self._row_lookup.get(target)

    def find_rack(self, target: str) -> int | None:
        """Rack index of ``r03/rk04`` (first hall) or ``s1/h1/r03/rk04``."""
        return self._rack_lookup.get(target)

    def find_node(self, target: str) -> int | None:
        """Node index of ``r03/rk04/n2`` or ``s1/h1/r03/rk04/n2`` (``node/`` may precede the name)."""
        head, _, name = target.replace("/node/", "/").rpartition("/")
        rack = self.find_rack(head)
        if rack is None or name not in self.node_names:
            return None
        return rack * self.config.nodes_per_rack + self.node_names.index(name)

    def find_gpu(self, target: str) -> int | None:
        """GPU index of ``r03/rk04/n2/gpu5`` (or with site and hall)."""
        head, _, name = target.rpartition("/")
        node = self.find_node(head)
        if node is None or not name.startswith("gpu") or not name[3:].isdigit():
            return None
        index = int(name[3:])
        if index >= self.config.gpus_per_node:
            return None
        return node * self.config.gpus_per_node + index

    def find_cdu(self, target: str) -> int | None:
        """CDU index of ``cdu2`` (first hall) or ``s1/h1/cdu/cdu2``."""
        for index, cdu in enumerate(self.cdus):
            if target == cdu.path or (target == cdu.cdu and cdu.site == "s1" and cdu.hall == "h1"):
                return index
        return None

    def node_keys(self, node: int) -> list[str]:
        """Every channel key of a node: its own metrics, then each GPU's."""
        keys = [self.node_key(node, metric) for metric in NODE_METRICS]
        first = node * self.config.gpus_per_node
        for gpu in range(first, first + self.config.gpus_per_node):
            keys.extend(self.gpu_key(gpu, metric) for metric in GPU_METRICS)
        return keys

    def channel_key(self, target: str) -> str | None:
        """The full channel key a short target names, or None if there is no such channel.

        ``r03/rk04/rack/inlet_temp_c``, ``r03/rk04/n2/gpu5/temp_c``, ``r03/rk04/n2/cpu_temp_c``,
        ``cdu2/supply_temp_c`` and full keys (``s1/h1/r03/rk04/node/n2/gpu5/temp_c``) all work.
        """
        head, _, metric = target.rpartition("/")
        if head.endswith("/rack"):
            rack = self.find_rack(head[: -len("/rack")])
            return None if rack is None or metric not in RACK_METRICS else self.rack_key(rack, metric)
        cdu = self.find_cdu(head)
        if cdu is not None:
            return self.cdu_key(cdu, metric) if metric in CDU_METRICS else None
        gpu = self.find_gpu(head)
        if gpu is not None:
            return self.gpu_key(gpu, metric) if metric in GPU_METRICS else None
        node = self.find_node(head)
        if node is not None and metric in NODE_METRICS:
            return self.node_key(node, metric)
        return None

    def racks_in_row(self, row: int) -> np.ndarray:
        return np.flatnonzero(self.rack_row == row)

    def racks_of_cdu(self, cdu: int) -> np.ndarray:
        return np.flatnonzero(self.rack_cdu == cdu)
