"""A large multi-line sparkline with a title, as wide as the widget (one column per interval)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.widgets import Static

from netwatch_tui.model.sparkline import bars


class Graph(Static):
    """Call :meth:`plot` with the newest values last; the widget shows as many as it is wide."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._title = ""
        self._values: Sequence[float] = ()

    def plot(self, title: str, values: Sequence[float]) -> None:
        self._title = title
        self._values = values
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        width = max(1, self.content_size.width)
        height = max(1, self.content_size.height - 1)
        recent = list(self._values[-width:])
        recent = [0.0] * (width - len(recent)) + recent
        lines = [Text(self._title, no_wrap=True, overflow="ellipsis")]
        lines += [Text(line, no_wrap=True) for line in bars(recent, height)]
        self.update(Text("\n").join(lines))
