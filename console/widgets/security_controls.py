"""The controls at a glance: one row per control with its status, trend and what sets it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from console.core.security.model import ControlView, SecurityView
from console.widgets.security_look import STATUS_CLASSES, status_css, status_text, trend_text
from console.widgets.wire_text import wire_text

TREND_WIDTH = 12


def why_text(control: ControlView) -> Text:
    """What sets the control's status: its worst indicator and that indicator's number."""
    worst = control.worst_indicator
    if worst is None:
        return Text("")
    value = worst.evidence.value_text(worst.indicator.unit)
    return wire_text(f"{worst.indicator.name} = {value}", max_length=60)


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

    def on_mount(self) -> None:
        self.add_column("#", width=1)
        self.add_column("status", width=7)
        self.add_column("control", width=30)
        self.add_column("trend", width=TREND_WIDTH)
        self.add_column("why", width=20)

    def show(self, view: SecurityView) -> None:
        """Redraw the rows if anything they show changed."""
        rows = tuple(
            (control.control.id, control.status, control.trend, why_text(control).plain)
            for control in view.controls
        )
        if rows == self._shown:
            return
        cursor = self.cursor_row
        self.clear()
        for number, control in enumerate(view.controls, start=1):
            self.add_row(
                Text(str(number)),
                status_text(self, control.status),
                wire_text(control.control.title, max_length=60),
                trend_text(self, control.trend, TREND_WIDTH),
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
