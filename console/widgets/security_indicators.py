"""One control's indicators: status, number, when it was measured, and the evidence behind it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from console.core.security.model import ControlView, IndicatorView
from console.widgets.security_look import STATUS_CLASSES, status_css, status_text
from console.widgets.timefmt import clock, duration
from console.widgets.wire_text import wire_text


def age_text(view: IndicatorView) -> str:
    evidence = view.evidence
    if evidence.age_s is None:
        return "-"
    return duration(evidence.age_s)


class SecurityIndicatorsTable(DataTable):
    """The indicators of one control; the highlighted one's evidence is posted for the panel below."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(STATUS_CLASSES.values())
    DEFAULT_CSS = "SecurityIndicatorsTable { height: auto; max-height: 8; }\n" + status_css(
        "SecurityIndicatorsTable"
    )

    class Highlighted(Message):
        """The indicator under the cursor changed (or its evidence did)."""

        def __init__(self, view: IndicatorView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._views: tuple[IndicatorView, ...] = ()

    def on_mount(self) -> None:
        self.add_column("status", width=7)
        self.add_column("indicator", width=30)
        self.add_column("value", width=10)
        self.add_column("measured", width=8)
        self.add_column("age", width=6)

    def show(self, control: ControlView) -> None:
        views = control.indicators
        if views == self._views:
            return
        cursor = self.cursor_row
        self.clear()
        for view in views:
            when = clock(view.evidence.when) if view.evidence.when is not None else "never"
            self.add_row(
                status_text(self, view.status),
                wire_text(view.indicator.label, max_length=60),
                wire_text(view.evidence.value_text(view.indicator.unit)),
                Text(when),
                Text(age_text(view)),
                key=view.indicator.name,
            )
        self._views = views
        if views:
            self.move_cursor(row=min(cursor, len(views) - 1))
            self.post_message(self.Highlighted(views[self.cursor_row]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self._views):
            self.post_message(self.Highlighted(self._views[event.cursor_row]))
