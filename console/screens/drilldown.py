"""Drill-down: hall -> row -> rack -> node -> GPU, a table per level with trends and limits.

Enter goes one level down, Esc one level up (from the hall back to the overview). Channel rows
show the latest value, a sparkline of recent history (the screen asks the pipeline for the
history of exactly the channels it shows) and the warning/critical limits next to the value.
At a rack or below, the screen tells the app which rack it shows: a campus console fetches the
raw telemetry of that rack only, while it is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from console.core.snapshot import Snapshot
from console.pipeline import Frame
from console.screens.base import ConsoleScreen
from console.widgets.sparkline import sparkline
from console.widgets.units import with_unit
from console.widgets.wire_text import wire_text

LEVELS = ("site", "hall", "row", "rack", "node", "gpu")


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of the level's table; ``child`` is set where Enter can drill into it."""

    key: str
    cells: tuple[Text | str, ...]
    child: tuple[str, ...] | None = None


def device_prefix(path: tuple[str, ...]) -> str:
    """The channel-key prefix of a rack, node or GPU path."""
    if len(path) == 4:
        return "/".join(path) + "/rack/"
    if len(path) == 5:
        return "/".join(path[:4]) + f"/node/{path[4]}/"
    return "/".join(path[:4]) + f"/node/{path[4]}/{path[5]}/"


def _num(value: float, digits: int = 1) -> str:
    return "N/A" if not math.isfinite(value) else f"{value:.{digits}f}"


def _worst(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else math.nan


class Level:
    """Builds the table of one level from a snapshot."""

    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = path

    @property
    def columns(self) -> tuple[str, ...]:
        if len(self.path) <= 3:
            return ("", "racks" if len(self.path) == 2 else "nodes", "inlet °C", "power %", "GPU max °C",
                    "alerts", "stale")
        return ("", "value", "trend", "warn", "crit", "")

    def history_keys(self, snapshot: Snapshot) -> tuple[str, ...]:
        if len(self.path) <= 3:
            return ()
        prefix = device_prefix(self.path)
        return tuple(key for key in snapshot.channels.keys if key.startswith(prefix)
                     and "/" not in key[len(prefix):])

    def rows(self, snapshot: Snapshot) -> list[TableRow]:
        if len(self.path) <= 3:
            return self._rack_groups(snapshot)
        return self._children(snapshot) + self._channels(snapshot)

    def _rack_groups(self, snapshot: Snapshot) -> list[TableRow]:
        racks = snapshot.racks
        depth = len(self.path)
        groups: dict[str, list[int]] = {}
        for index, rack in enumerate(racks.racks):
            parts = tuple(rack.split("/"))
            if parts[:depth] == self.path and len(parts) == 4:
                groups.setdefault(parts[depth], []).append(index)
        rows = []
        for name in sorted(groups):
            members = np.array(groups[name])
            count = len(members) if depth == 2 else self._node_count(snapshot, (*self.path, name))
            level = int(racks.alert_level[members].max())
            rows.append(TableRow(
                key=f"child:{name}",
                cells=(Text(f"▸ {name}", style="bold"), str(count),
                       _num(_worst(racks.inlet_c[members])),
                       _num(_worst(racks.power_pct[members]), 0),
                       _num(_worst(racks.hottest_gpu_c[members]), 0),
                       ("ok", "warning", "CRITICAL")[level],
                       str(int(np.count_nonzero(racks.stale[members])))),
                child=(*self.path, name),
            ))
        return rows

    @staticmethod
    def _node_count(snapshot: Snapshot, rack: tuple[str, ...]) -> int:
        prefix = "/".join(rack) + "/node/"
        keys = snapshot.channels.keys
        return len({key[len(prefix):].split("/")[0] for key in keys if key.startswith(prefix)})

    def _children(self, snapshot: Snapshot) -> list[TableRow]:
        if len(self.path) >= 6:
            return []
        channels = snapshot.channels
        if len(self.path) == 4:
            prefix, label = "/".join(self.path) + "/node/", "node"
        else:
            prefix, label = device_prefix(self.path), "gpu"
        found: dict[str, list[int]] = {}
        for index, key in enumerate(channels.keys):
            if key.startswith(prefix):
                rest = key[len(prefix):].split("/")
                if len(rest) >= 2 and (label == "node" or rest[0].startswith("gpu")):
                    found.setdefault(rest[0], []).append(index)
        rows = []
        for name in sorted(found, key=_natural):
            temps = [i for i in found[name] if channels.keys[i].endswith("/temp_c")]
            powers = [i for i in found[name] if channels.keys[i].endswith(("/power_w", "psu_power_w"))]
            stale = bool(np.asarray(channels.stale)[found[name]].any())
            hottest = _worst(np.asarray(channels.latest)[temps]) if temps else math.nan
            power = float(np.nansum(np.asarray(channels.latest)[powers])) if powers else math.nan
            summary = f"hottest {_num(hottest, 0)} °C · {_num(power, 0)} W"
            rows.append(TableRow(key=f"child:{name}",
                                 cells=(Text(f"▸ {name}", style="bold"), summary, "", "", "",
                                        "STALE" if stale else ""),
                                 child=(*self.path, name)))
        return rows

    def _channels(self, snapshot: Snapshot) -> list[TableRow]:
        channels = snapshot.channels
        rows = []
        for key in self.history_keys(snapshot):
            index = channels.index(key)
            if index is None:
                continue
            metric = key.rsplit("/", 1)[1]
            value = float(channels.latest[index])
            warn, critical = channels.limits.get(key, (math.nan, math.nan))
            times_values = snapshot.history.get(key)
            trend = sparkline(times_values[1]) if times_values is not None else ""
            state = "STALE" if channels.stale[index] else ""
            if math.isfinite(critical) and math.isfinite(value) and value >= critical:
                state = "CRIT"
            elif math.isfinite(warn) and math.isfinite(value) and value >= warn:
                state = state or "warn"
            rows.append(TableRow(key=f"chan:{key}",
                                 cells=(wire_text(metric), with_unit(metric, value), trend,
                                        with_unit(metric, warn) if math.isfinite(warn) else "",
                                        with_unit(metric, critical) if math.isfinite(critical) else "",
                                        state)))
        return rows


def _natural(name: str) -> tuple[str, int]:
    digits = "".join(c for c in name if c.isdigit())
    return (name.rstrip("0123456789"), int(digits) if digits else -1)


class DrilldownScreen(ConsoleScreen):
    """One level of the campus at a time."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "up", "Back"),
        Binding("backspace", "up", "Back", show=False),
    ]
    DEFAULT_CSS = """
    DrilldownScreen #where { height: 1; padding: 0 1; background: $panel; }
    DrilldownScreen #meta { height: 1; padding: 0 1; color: $text-muted; }
    DrilldownScreen DataTable { height: 1fr; }
    """

    def __init__(self, path: tuple[str, ...]) -> None:
        super().__init__()
        self.path = path
        self._level = Level(path)
        self._shown: list[TableRow] = []

    def compose_body(self) -> ComposeResult:
        yield Static("", id="where", markup=False)
        yield Static("", id="meta", markup=False)
        yield DataTable(id="level", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._enter(self.path)
        self.query_one(DataTable).focus()

    def _enter(self, path: tuple[str, ...], cursor_on: str | None = None) -> None:
        self.path = path
        self._level = Level(path)
        self._shown = []
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for number, name in enumerate(self._level.columns):
            table.add_column(name, key=f"c{number}")
        crumbs = [f"{LEVELS[i]} {part}" for i, part in enumerate(path) if i > 0 or len(path) == 1]
        self.query_one("#where", Static).update(Text.assemble(
            wire_text(" › ".join(crumbs), style="bold"), "   Enter: down · Esc: up"))
        frame = getattr(self.app, "frame", None)
        if frame is not None:
            self.draw(frame)
            if cursor_on is not None:
                for row, item in enumerate(self._shown):
                    if item.key == f"child:{cursor_on}":
                        table.move_cursor(row=row, animate=False)
        self.app.set_history_keys(self._level.history_keys(frame.snapshot) if frame else ())
        self.app.set_drilled_rack(path)

    def on_screen_resume(self) -> None:
        """Back on top (a drill-down above this one closed): this one's rack is the focus again."""
        self.app.set_drilled_rack(self.path)

    def draw(self, frame: Frame) -> None:
        snapshot = frame.snapshot
        rows = self._level.rows(snapshot)
        table = self.query_one(DataTable)
        columns = [column.key for column in table.ordered_columns]
        if [row.key for row in rows] != [row.key for row in self._shown]:
            cursor = table.cursor_row
            table.clear()
            for row in rows:
                table.add_row(*row.cells, key=row.key)
            if rows:
                table.move_cursor(row=min(cursor, len(rows) - 1), animate=False)
            wanted = self._level.history_keys(snapshot)
            if set(wanted) - set(getattr(self.app, "history_keys", ())):
                self.app.set_history_keys(wanted)
        else:
            for row, old in zip(rows, self._shown, strict=True):
                for column, cell, before in zip(columns, row.cells, old.cells, strict=True):
                    if cell != before:
                        table.update_cell(row.key, column, cell, update_width=True)
        self._shown = rows
        self._draw_meta(snapshot)

    def _draw_meta(self, snapshot: Snapshot) -> None:
        meta_line = self.query_one("#meta", Static)
        if len(self.path) < 4:
            meta_line.update("")
            return
        device = device_prefix(self.path if len(self.path) < 6 else self.path[:5]).rstrip("/")
        facts = snapshot.device_meta.get(device, {})
        parts = [f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"
                 for name, value in sorted(facts.items())]
        meta_line.update(wire_text(" · ".join(parts) if parts else "no meta reported", max_length=300))

    @on(DataTable.RowSelected)
    def _drill(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        for row in self._shown:
            if row.key == key and row.child is not None:
                self._enter(row.child)
                return

    def action_up(self) -> None:
        if len(self.path) <= 2:
            self.app.set_history_keys(())
            self.app.set_drilled_rack(None)
            self.dismiss()
            return
        self._enter(self.path[:-1], cursor_on=self.path[-1])
