"""The controls at a glance: one row per control with its status, trend and what sets it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from console.core.security.model import ControlView, SecurityStatus, SecurityView
from console.widgets.security_look import STATUS_CLASSES, status_css, status_text, trend_text
from console.widgets.wire_text import wire_text

TREND_WIDTH = 12
"""Trend cells shown on a wide terminal; 8 below 100 columns."""
_FIXED = 1 + 7 + 5 * 2 + 2
"""Columns of fixed width (#, status), cell padding and the scrollbar."""


def why_text(control: ControlView) -> Text:
    """What sets the control's status: the worst indicator's number, then its label (the number
    first, so a narrow column still shows it)."""
    worst = control.worst_indicator
    if worst is None:
        return Text("")
    if control.status is SecurityStatus.OK:
        return Text(f"all {len(control.indicators)} within limits")
    if worst.evidence.value is None:
        return wire_text(f"no data: {worst.indicator.label}", max_length=80)
    value = worst.evidence.value_text(worst.indicator.unit)
    return wire_text(f"{value} {worst.indicator.label}", max_length=80)


def column_widths(width: int) -> tuple[int, int, int]:
    """Widths of the title, trend and "why" columns: what the fixed columns leave, split."""
    trend = TREND_WIDTH if width >= 100 else 8
    free = max(24, width - _FIXED - trend)
    title = max(12, free // 2)
    return title, trend, max(10, free - title)


class SecurityControlsTable(DataTable):
    """Controls of the profile; Enter posts ``ControlChosen`` for the row under the cursor."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(STATUS_CLASSES.values())
    DEFAULT_CSS = "SecurityControlsTable { height: auto; max-height: 9; }\n" + status_css(
        "SecurityControlsTable"
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Indicators", show=True)]

    class ControlChosen(Message):
        """The operator asked to see one control's indicators and evidence."""

        def __init__(self, control_id: str) -> None:
            super().__init__()
            self.control_id = control_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._shown: tuple[tuple[object, ...], ...] = ()
        self._ids: tuple[str, ...] = ()
        self._widths: tuple[int, int, int] | None = None
        self._view: SecurityView | None = None

    def on_resize(self) -> None:
        """Give the title and "why" columns whatever width the terminal has."""
        widths = column_widths(self.size.width)
        if widths == self._widths:
            return
        self._widths = widths
        self.clear(columns=True)
        self.add_column("#", width=1)
        self.add_column("status", width=7)
        self.add_column("control", width=widths[0])
        self.add_column("trend", width=widths[1])
        self.add_column("why", width=widths[2])
        self._shown = ()
        if self._view is not None:
            self.show(self._view)

    def show(self, view: SecurityView) -> None:
        """Redraw the rows if anything they show changed."""
        self._view = view
        rows = tuple(
            (control.control.id, control.status, control.trend, why_text(control).plain)
            for control in view.controls
        )
        if rows == self._shown or self._widths is None:
            return
        cursor = self.cursor_row
        self.clear()
        for number, control in enumerate(view.controls, start=1):
            self.add_row(
                Text(str(number)),
                status_text(self, control.status),
                wire_text(control.control.title, max_length=60),
                trend_text(self, control.trend, self._widths[1]),
                why_text(control),
                key=control.control.id,
            )
        self._shown = rows
        self._ids = tuple(control.control.id for control in view.controls)
        if self._ids:
            self.move_cursor(row=min(cursor, len(self._ids) - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self._ids):
            self.post_message(self.ControlChosen(self._ids[event.cursor_row]))
