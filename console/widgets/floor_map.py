"""The floor map: one cell per rack, rows of the hall as lines, coloured by a chosen metric.

Uses Textual's line API (``ScrollView.render_line`` returning a ``Strip``) reading the
snapshot's numpy arrays, so only visible lines are drawn: a ``DataTable`` updated cell by cell
costs about 170 ms per 16k cells, a line-API grid 25-45 ms for a 50k-channel hall
(../shared/style.md, "Big views use the line API").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.core.snapshot import RackView
from sensors.sanitize import sanitize_text

UNKNOWN, STALE, OK, WARN, CRITICAL = range(5)
STATE_CLASSES = ("floor-map--unknown", "floor-map--stale", "floor-map--ok", "floor-map--warn",
                 "floor-map--critical")
MIN_CELL, MAX_CELL = 3, 7
"""Cell width including a one-column gap: at 3, 24 racks of a row fit 80 columns; wider
terminals get wider cells with a decimal."""


@dataclass(frozen=True, slots=True)
class MapMetric:
    """What the cells show, and the bands that colour them."""

    name: str
    unit: str
    warn: float
    critical: float
    band_note: str


class Metric(Enum):
    """The metrics ``m`` cycles through, in order."""

    INLET = MapMetric("inlet temp", "°C", 27.0, 32.0,
                      "ASHRAE recommended ≤27 °C, A1 allowable ≤32 °C")
    POWER = MapMetric("power % of PDU rating", "%", 80.0, 100.0,
                      "NEC continuous load ≤80 % of rating")
    HOTTEST_GPU = MapMetric("hottest GPU", "°C", 83.0, 87.0,
                            "H100 max operating 87 °C (T.Limit 0)")
    ALERTS = MapMetric("alert state", "", 1.0, 2.0, "worst active, unsilenced alert")

    def next(self) -> Metric:
        members = list(Metric)
        return members[(members.index(self) + 1) % len(members)]


def _values(racks: RackView, metric: Metric) -> np.ndarray:
    if metric is Metric.INLET:
        return racks.inlet_c
    if metric is Metric.POWER:
        return racks.power_pct
    if metric is Metric.HOTTEST_GPU:
        return racks.hottest_gpu_c
    return racks.alert_level.astype(np.float32)


def rack_states(racks: RackView, metric: Metric) -> np.ndarray:
    """The colour state of every rack for ``metric`` (vectorised over the hall)."""
    values = np.asarray(_values(racks, metric), dtype=np.float32)
    bands = metric.value
    known = np.isfinite(values)
    states = np.full(values.shape, OK, dtype=np.int8)
    states[known & (values >= bands.warn)] = WARN
    states[known & (values >= bands.critical)] = CRITICAL
    states[~known] = UNKNOWN
    states[np.asarray(racks.stale, dtype=bool) & (states < WARN)] = STALE
    return states


def _cell_text(value: float, state: int, metric: Metric, width: int) -> str:
    """The value in ``width`` characters: ``22`` in narrow cells, ``22.4`` where there is room."""
    if metric is Metric.ALERTS:
        return ("··", "--", "·", "w", "C!")[state].center(width)
    if not np.isfinite(value):
        return "··".center(width)
    if width >= 4 and metric is not Metric.POWER and -9.9 < value < 99.95:
        return f"{value:.1f}".rjust(width)
    limit = 10 ** width - 1
    return f"{min(max(round(value), -9), limit):d}".rjust(width)


@dataclass(frozen=True, slots=True)
class MapLine:
    """One drawn line: a hall title, or one row of racks (indices into ``RackView.racks``)."""

    label: str
    cells: tuple[int, ...] = ()
    header: tuple[str, ...] = ()
    """Rack names over the columns (a line under each hall title)."""


def layout(racks: tuple[str, ...]) -> list[MapLine]:
    """Halls in order, each a title line and one line per row, racks in name order."""
    halls: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for index, path in enumerate(racks):
        parts = path.split("/")
        if len(parts) != 4:
            continue
        site, hall, row, rack = parts
        halls.setdefault(f"{site}/{hall}", {}).setdefault(row, []).append((rack, index))
    lines: list[MapLine] = []
    for hall in sorted(halls):
        if lines:
            lines.append(MapLine(""))
        lines.append(MapLine(hall))
        widest = max(halls[hall].values(), key=len)
        lines.append(MapLine("", header=tuple(rack for rack, _ in sorted(widest))))
        for row in sorted(halls[hall]):
            lines.append(MapLine(row, tuple(index for _, index in sorted(halls[hall][row]))))
    return lines


class FloorMap(ScrollView, can_focus=True):
    """Every rack of the campus as a coloured cell; arrows move the cursor, Enter drills in."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *STATE_CLASSES, "floor-map--cursor", "floor-map--title", "floor-map--label"
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(0, -1)", "Up", show=False),
        Binding("down,j", "move(0, 1)", "Down", show=False),
        Binding("left,h", "move(-1, 0)", "Left", show=False),
        Binding("right,l", "move(1, 0)", "Right", show=False),
        Binding("enter", "choose", "Drill down"),
    ]
    DEFAULT_CSS = """
    FloorMap { height: 1fr; background: $surface; }
    FloorMap > .floor-map--unknown { background: $rack-unknown; color: $text-muted; }
    FloorMap > .floor-map--stale { background: $stale; color: $text-muted; }
    FloorMap > .floor-map--ok { background: $rack-ok; color: $text; }
    FloorMap > .floor-map--warn { background: $rack-warn; color: $text; text-style: bold; }
    FloorMap > .floor-map--critical { background: $rack-critical; color: $text; text-style: bold; }
    FloorMap > .floor-map--cursor { text-style: reverse bold; }
    FloorMap > .floor-map--title { color: $accent; text-style: bold; }
    FloorMap > .floor-map--label { color: $text-muted; }
    """

    metric: reactive[Metric] = reactive(Metric.INLET)
    """What the cells show and are coloured by."""

    class RackChosen(Message):
        """The operator pressed Enter on a rack."""

        def __init__(self, rack: str) -> None:
            super().__init__()
            self.rack = rack

    class CursorMoved(Message):
        """The cursor is on another rack (the screen shows its details)."""

        def __init__(self, rack: str | None) -> None:
            super().__init__()
            self.rack = rack

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._racks: RackView | None = None
        self._lines: list[MapLine] = []
        self._states = np.zeros(0, dtype=np.int8)
        self._label_width = 4
        self._cell_width = MIN_CELL
        self._cursor: tuple[int, int] = (0, 0)
        self._strips: LRUCache[int, Strip] = LRUCache(256)

    @property
    def cursor_rack(self) -> str | None:
        """Path of the rack under the cursor, if any."""
        y, x = self._cursor
        if self._racks is None or y >= len(self._lines) or x >= len(self._lines[y].cells):
            return None
        return self._racks.racks[self._lines[y].cells[x]]

    @property
    def rack_count(self) -> int:
        """Racks drawn on the map."""
        return sum(len(line.cells) for line in self._lines)

    def show(self, racks: RackView) -> None:
        """Draw a new snapshot's racks (keeps the cursor on the same rack)."""
        previous = self.cursor_rack
        if self._racks is None or racks.racks != self._racks.racks:
            self._lines = layout(racks.racks)
            self._label_width = max((len(line.label) for line in self._lines if line.cells), default=3) + 1
            self._racks = racks
            self._fit()
            self._place_cursor(previous)
        self._racks = racks
        self._states = rack_states(racks, self.metric)
        self._refresh_lines()

    def _fit(self) -> None:
        """Choose the cell width for the terminal's width and set the scrollable size."""
        columns = max((len(line.cells) for line in self._lines), default=0)
        room = (self.size.width - self._label_width) // columns if columns else MIN_CELL
        self._cell_width = max(MIN_CELL, min(MAX_CELL, room))
        self.virtual_size = Size(self._label_width + self._cell_width * columns, len(self._lines))

    def on_resize(self) -> None:
        self._fit()
        self._refresh_lines()

    def go_to(self, rack: str) -> bool:
        """Put the cursor on ``rack``; False when the map has no such rack."""
        if self._place_cursor(rack):
            self._refresh_lines()
            self.post_message(self.CursorMoved(self.cursor_rack))
            return True
        return False

    def _place_cursor(self, rack: str | None) -> bool:
        for y, line in enumerate(self._lines):
            for x, index in enumerate(line.cells):
                if self._racks is not None and self._racks.racks[index] == rack:
                    self._cursor = (y, x)
                    return True
        if rack is None or self.cursor_rack is None:
            first = next((y for y, line in enumerate(self._lines) if line.cells), 0)
            self._cursor = (first, 0)
        return False

    def watch_metric(self) -> None:
        if self._racks is not None:
            self._states = rack_states(self._racks, self.metric)
            self._refresh_lines()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _refresh_lines(self) -> None:
        self._strips.clear()
        self.refresh()

    def action_move(self, dx: int, dy: int) -> None:
        y, x = self._cursor
        if dy:
            target = y + dy
            while 0 <= target < len(self._lines) and not self._lines[target].cells:
                target += dy
            if not 0 <= target < len(self._lines):
                return
            y, x = target, min(x, len(self._lines[target].cells) - 1)
        elif self._lines:
            x = max(0, min(x + dx, len(self._lines[y].cells) - 1))
        self._cursor = (y, x)
        self._refresh_lines()
        self.scroll_to_region(self._cursor_region(), animate=False)
        self.post_message(self.CursorMoved(self.cursor_rack))

    def _cursor_region(self):
        from textual.geometry import Region

        y, x = self._cursor
        return Region(self._label_width + x * self._cell_width, y, self._cell_width, 1)

    def action_choose(self) -> None:
        rack = self.cursor_rack
        if rack is not None:
            self.post_message(self.RackChosen(rack))

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line_number = y + scroll_y
        strip = self._strips.get(line_number)
        if strip is None:
            strip = self._line_strip(line_number)
            self._strips[line_number] = strip
        return strip.crop(scroll_x, scroll_x + self.size.width).extend_cell_length(
            self.size.width, self.rich_style
        )

    def _line_strip(self, line_number: int) -> Strip:
        if self._racks is None or line_number >= len(self._lines):
            return Strip.blank(self.size.width, self.rich_style)
        line = self._lines[line_number]
        label_style = self.get_component_rich_style("floor-map--label")
        text_width = self._cell_width - 1
        if line.header:
            names = "".join(sanitize_text(name)[-text_width:].rjust(text_width) + " " for name in line.header)
            return Strip([Segment(" " * self._label_width + names, label_style)])
        if not line.cells:
            title = self.get_component_rich_style("floor-map--title")
            return Strip([Segment(sanitize_text(line.label), title)])
        styles = [self.get_component_rich_style(name) for name in STATE_CLASSES]
        cursor_style = self.get_component_rich_style("floor-map--cursor")
        gap = self.rich_style
        segments = [Segment(sanitize_text(line.label).ljust(self._label_width), label_style)]
        values = _values(self._racks, self.metric)
        cursor_y, cursor_x = self._cursor
        for x, index in enumerate(line.cells):
            state = int(self._states[index])
            style: Style = styles[state]
            if (line_number, x) == (cursor_y, cursor_x) and self.has_focus:
                style = style + cursor_style
            segments.append(Segment(_cell_text(float(values[index]), state, self.metric, text_width), style))
            segments.append(Segment(" ", gap))
        return Strip(segments)

    def on_focus(self) -> None:
        self._refresh_lines()

    def on_blur(self) -> None:
        self._refresh_lines()
