"""Overview: the campus in one screen, the floor map with a legend and a summary line."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from console.core.snapshot import Alert, AlertState, Severity, Snapshot
from console.pipeline import Frame
from console.screens.base import ConsoleScreen
from console.widgets.alert_table import AlertOrder, order_alerts
from console.widgets.floor_map import STATE_CLASSES, FloorMap, Metric
from console.widgets.timefmt import clock
from console.widgets.wire_text import wire_text


def _fmt(value: float, unit: str, digits: int = 1) -> str:
    return "N/A" if not math.isfinite(value) else f"{value:.{digits}f}{unit}"


def _max(values: np.ndarray) -> float:
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else math.nan


def campus_summary(snapshot: Snapshot) -> Text:
    """Racks, halls, alerts and the hottest readings of the whole campus, on one line."""
    racks = snapshot.racks
    halls = {"/".join(path.split("/")[:2]) for path in racks.racks}
    active = [a for a in snapshot.alerts if a.state != AlertState.CLEARED]
    critical = sum(1 for a in active if a.severity == Severity.CRITICAL)
    stale = int(np.count_nonzero(racks.stale))
    return Text.assemble(
        (f"{len(halls)} hall{'s' if len(halls) != 1 else ''} · {len(racks.racks)} racks", "bold"),
        f" · alerts {critical} crit {len(active) - critical} warn",
        f" · inlet max {_fmt(_max(racks.inlet_c), ' °C')}",
        f" · power max {_fmt(_max(racks.power_pct), ' %', 0)}",
        f" · GPU max {_fmt(_max(racks.hottest_gpu_c), ' °C', 0)}",
        f" · stale {stale}",
        no_wrap=True, overflow="ellipsis",
    )


def top_alerts(alerts: tuple[Alert, ...], limit: int = 12) -> Text:
    """The worst, newest active alerts, one line each (all of them are on the Alerts screen)."""
    active = order_alerts(tuple(a for a in alerts if a.state != AlertState.CLEARED), AlertOrder.SEVERITY)
    if not active:
        return Text("no active alerts", style="dim")
    lines = []
    for alert in active[:limit]:
        critical = alert.severity == Severity.CRITICAL
        lines.append(Text.assemble(
            ("CRIT " if critical else "warn ", "bold" if critical else ""),
            f"{clock(alert.raised_at)} ",
            ("ack " if alert.state == AlertState.ACKNOWLEDGED else "", "dim"),
            wire_text(alert.key, max_length=48), "  ",
            wire_text(alert.message, max_length=90),
            no_wrap=True, overflow="ellipsis",
        ))
    if len(active) > limit:
        lines.append(Text(f"… {len(active) - limit} more: press 2 for Alerts", style="dim"))
    joined = Text("\n").join(lines)
    joined.no_wrap, joined.overflow = True, "ellipsis"
    return joined


class OverviewScreen(ConsoleScreen):
    """The floor map of every hall; ``m`` cycles what the cells show, Enter drills into a rack."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("m", "cycle_metric", "Metric")]
    DEFAULT_CSS = """
    OverviewScreen #summary { height: 1; padding: 0 1; }
    OverviewScreen #legend { height: 1; padding: 0 1; }
    OverviewScreen #rack-line { height: 1; padding: 0 1; background: $panel; }
    OverviewScreen FloorMap { height: auto; max-height: 75%; }
    OverviewScreen #top-alerts { height: 1fr; min-height: 2; padding: 0 1; text-wrap: nowrap;
                                 text-overflow: ellipsis; }
    """

    def compose_body(self) -> ComposeResult:
        yield Static("waiting for data…", id="summary", markup=False)
        yield Static("", id="legend", markup=False)
        yield FloorMap(id="floor-map")
        yield Static("", id="rack-line", markup=False)
        yield Static("", id="top-alerts", markup=False)

    def on_mount(self) -> None:
        self.query_one(FloorMap).focus()
        self._draw_legend()

    @property
    def floor_map(self) -> FloorMap:
        return self.query_one(FloorMap)

    def draw(self, frame: Frame) -> None:
        self.query_one("#summary", Static).update(campus_summary(frame.snapshot), layout=False)
        self.floor_map.show(frame.snapshot.racks)
        self._draw_rack_line(frame.snapshot)
        self.query_one("#top-alerts", Static).update(top_alerts(frame.snapshot.alerts), layout=False)

    def action_cycle_metric(self) -> None:
        self.floor_map.metric = self.floor_map.metric.next()
        self._draw_legend()

    def set_metric(self, metric: Metric) -> None:
        self.floor_map.metric = metric
        self._draw_legend()

    def _draw_legend(self) -> None:
        floor_map = self.floor_map
        bands = floor_map.metric.value
        styles = {name: floor_map.get_component_rich_style(name) for name in STATE_CLASSES}
        if floor_map.metric is Metric.ALERTS:
            labels = [("floor-map--ok", " ok "), ("floor-map--warn", " w warning "),
                      ("floor-map--critical", " C! critical "), ("floor-map--stale", " -- stale ")]
        else:
            unit = bands.unit
            labels = [("floor-map--ok", f" <{bands.warn:g}{unit} "),
                      ("floor-map--warn", f" ≥{bands.warn:g}{unit} "),
                      ("floor-map--critical", f" ≥{bands.critical:g}{unit} "),
                      ("floor-map--stale", " stale "), ("floor-map--unknown", " ·· no data ")]
        parts: list[Text | tuple[str, object]] = [Text(f"[m] {bands.name}: ", style="bold")]
        for name, label in labels:
            parts += [Text(label, style=styles[name]), Text(" ")]
        legend = Text.assemble(*parts, no_wrap=True, overflow="ellipsis")
        self.query_one("#legend", Static).update(legend, layout=False)

    def _draw_rack_line(self, snapshot: Snapshot) -> None:
        rack = self.floor_map.cursor_rack
        line = self.query_one("#rack-line", Static)
        if rack is None:
            line.update("no racks reported yet", layout=False)
            return
        index = snapshot.racks.racks.index(rack) if rack in snapshot.racks.racks else None
        if index is None:
            return
        racks = snapshot.racks
        level = ("ok", "warning", "CRITICAL")[int(racks.alert_level[index])]
        line.update(Text.assemble(
            wire_text(rack, style="bold"),
            f"  inlet {_fmt(float(racks.inlet_c[index]), ' °C')}",
            f"  power {_fmt(float(racks.power_pct[index]), ' %', 0)}",
            f"  GPU {_fmt(float(racks.hottest_gpu_c[index]), ' °C', 0)}",
            f"  {level}{'  STALE' if racks.stale[index] else ''}",
            "   Enter: drill down",
            no_wrap=True, overflow="ellipsis",
        ), layout=False)

    @on(FloorMap.CursorMoved)
    def _cursor_moved(self) -> None:
        frame = getattr(self.app, "frame", None)
        if frame is not None:
            self._draw_rack_line(frame.snapshot)

    @on(FloorMap.RackChosen)
    def _rack_chosen(self, message: FloorMap.RackChosen) -> None:
        self.app.open_drilldown(tuple(message.rack.split("/")))
