"""TableCell draws exactly what a one-line, no-wrap, ellipsis Text would, in fewer steps."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from netwatch_tui.widgets.table_cell import TableCell

RED = Style(color="red")
DIM = Style(italic=True)


def drawn(renderable: object, width: int) -> list[Segment]:
    console = Console(width=80, color_system="truecolor")
    options = console.options.update_dimensions(width, 1).update(no_wrap=True)
    (line,) = console.render_lines(renderable, options, pad=False)
    return [segment for segment in line if segment.text]


def as_text(segments: list[Segment]) -> str:
    return "".join(segment.text for segment in segments)


@pytest.mark.parametrize(
    ("value", "width", "right"),
    [
        ("firefox", 12, False),
        ("12.5 KiB/s", 12, True),
        ("exactly-ten", 11, False),
        ("a-very-long-command-name", 10, False),
        ("a-very-long-command-name", 1, False),
        ("日本語のコマンド", 9, False),  # wide characters: cut by terminal cells, not code points
        ("日本語のコマンド", 9, True),
    ],
)
def test_same_characters_as_text(value: str, width: int, right: bool) -> None:
    text = Text(value, justify="right" if right else "left", no_wrap=True, overflow="ellipsis")
    assert as_text(drawn(TableCell((value, None), right=right), width)) == as_text(drawn(text, width))


def test_cut_text_ends_in_an_ellipsis_and_fills_the_width_exactly() -> None:
    segments = drawn(TableCell(("日本語のコマンド", None)), 9)
    shown = as_text(segments)
    assert shown.endswith("…")
    assert Text(shown).cell_len == 9


def test_padding_is_unstyled_and_the_overlay_reaches_every_part() -> None:
    cell = TableCell(("▁▂", RED), (" ", None), ("▃", None), right=True, style=DIM)
    segments = drawn(cell, 7)
    assert as_text(segments) == "   ▁▂ ▃"
    assert segments[0].style is None or not segments[0].style.italic  # padding, as Text pads
    assert segments[1].style == RED + DIM
    assert segments[2].style == DIM and segments[3].style == DIM


def test_later_parts_are_dropped_when_an_earlier_one_fills_the_cell() -> None:
    cell = TableCell(("abcdef", RED), ("ghi", None))
    assert as_text(drawn(cell, 4)) == "abc…"
    assert cell.plain == "abcdefghi"
