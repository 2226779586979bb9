"""Host totals and what the table is showing, above the table."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from netwatch_tui.model.status import Segment, host_line, info_line
from netwatch_tui.model.view import DisplayState


class StatusBar(Static):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-bar--badge",
        "status-bar--warn",
        "status-bar--tx",
        "status-bar--rx",
        "status-bar--dim",
    }

    def show(self, state: DisplayState, shown: int) -> None:
        lines = (self._line(host_line(state)), self._line(info_line(state, shown)))
        # No layout: its height is fixed (styles.tcss), so laying out the whole screen every interval
        # bought nothing (with 1,000 rows it cost some 10 % of the TUI's CPU).
        self.update(Text("\n").join(lines), layout=False)

    def _line(self, segments: list[Segment]) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for content, role in segments:
            style = self.get_component_rich_style(f"status-bar--{role}", partial=True) if role else ""
            text.append(content, style)
        return text
