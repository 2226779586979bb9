"""One line of styled text cut to its column: the cheapest thing a DataTable cell can be.

A DataTable redraws every visible cell after any update (1,000 processes: about 450 cells a second),
and a ``rich.text.Text`` cell goes through wrapping and justification machinery each time, which
is half the cost of the whole paint. A table cell here is never wrapped and always fits one line,
so this renderable yields its segments directly: padded or cut (with an ellipsis) to the width it
is given, measured in terminal cells so that wide characters stay aligned.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

_ELLIPSIS = "…"


class TableCell:
    """Text in one or more styled parts, drawn on one line, aligned right or left."""

    __slots__ = ("parts", "right", "style")

    def __init__(
        self, *parts: tuple[str, Style | None], right: bool = False, style: Style | None = None
    ) -> None:
        self.parts = parts
        self.right = right
        self.style = style  # laid over every part (the exited rows' dimming)

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.parts)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = cell_len(self.plain)
        return Measurement(width, width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for text, style in self.segments(options.max_width):
            yield Segment(text, style)

    def segments(self, width: int) -> Iterator[tuple[str, Style | None]]:
        """The text and style of each segment that draws the cell ``width`` terminal cells wide."""
        parts, room = self._cut(width)
        padding = (" " * room, None) if room else None  # unstyled, as Text pads
        if padding and self.right:
            yield padding
        for text, style in parts:
            yield text, self._styled(style)
        if padding and not self.right:
            yield padding

    def _cut(self, width: int) -> tuple[list[tuple[str, Style | None]], int]:
        """The parts that fit in ``width`` cells, the first one that does not ending in an
        ellipsis, and the cells left over."""
        fitted: list[tuple[str, Style | None]] = []
        room = width
        for text, style in self.parts:
            size = cell_len(text)
            if size > room:
                fitted.append((set_cell_size(text, room - 1) + _ELLIPSIS if room else "", style))
                return fitted, 0
            fitted.append((text, style))
            room -= size
        return fitted, room

    def _styled(self, style: Style | None) -> Style | None:
        if self.style is None:
            return style
        return self.style if style is None else style + self.style
