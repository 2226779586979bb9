"""The process table draws its cells itself, bypassing DataTable's generic path: the segments must
be the very ones DataTable's own rendering yields, styles included, in every state a cell can be in."""

from __future__ import annotations

import itertools

from rich.segment import Segment
from rich.style import Style
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from netwatch_tui.synthetic import DEMO, HOSTILE, FakeProcess
from netwatch_tui.widgets.process_table import ProcessTable
from netwatch_tui.widgets.table_cell import TableCell

from .conftest import feed, synthetic_app


async def test_cells_are_drawn_exactly_as_datatable_draws_them() -> None:
    app = synthetic_app(DEMO + HOSTILE, ticks=0)
    async with app.run_test(size=(96, 30)) as pilot:  # narrow: long names and commands are cut
        await feed(pilot, 0, 1, 2, 3)  # a process exits at tick 3: its row is dimmed
        table = app.query_one(ProcessTable)
        widths = [column.get_render_width(table) for column in table.ordered_columns]
        drawn = cut = dimmed = 0
        for base_style in (table.rich_style, Style(bgcolor="grey15", meta={"line": 1})):
            for row_index in range(table.row_count):
                for column_index, width in enumerate(widths):
                    cell = table.get_cell_at((row_index, column_index))
                    assert isinstance(cell, TableCell)
                    for cursor, hover in ((False, False), (True, False), (False, True), (True, True)):
                        where = (row_index, column_index, base_style, width, cursor, hover)
                        ours = table._draw_cell(cell, *where)
                        theirs = [list(Segment.simplify(DataTable._render_cell(table, *where)[0]))]
                        assert ours == theirs, (row_index, column_index, cursor, hover)
                        drawn += 1
                    text = "".join(segment.text for segment in ours[0])
                    cut += text.rstrip().endswith("…")
                    dimmed += cell.style is not None
        assert drawn and cut and dimmed  # the cases that matter were among them


async def test_lines_are_drawn_exactly_as_datatable_draws_them() -> None:
    app = synthetic_app(DEMO + HOSTILE, ticks=0)
    async with app.run_test(size=(160, 30)) as pilot:  # wide: each line ends in a blank that fills it
        await feed(pilot, 0, 1, 2, 3)
        table = app.query_one(ProcessTable)
        rows = [table._row_locations.get_key(index) for index in range(table.row_count)]
        places = [Coordinate(row, 0) for row in (0, 1, len(rows) - 1)] + [Coordinate(-1, 0)]
        compared = 0
        styles = (table.rich_style, Style(bgcolor="grey15", meta={"line": 1}))
        for base_style, show_hover_cursor in itertools.product(styles, (False, True)):
            table._show_hover_cursor = show_hover_cursor  # the mouse moved over the table
            for row_key in rows:
                for cursor in places:
                    for hover in places:
                        ours = table._body_line(row_key, 0, base_style, cursor, hover)
                        theirs = DataTable._render_line_in_row(table, row_key, 0, base_style, cursor, hover)
                        assert ([], ours) == theirs, (row_key, cursor, hover)
                        compared += 1
                for y in range(table.row_count + 1):  # whole lines, the header's too
                    table._line_cache.clear()
                    ours_line = table._render_line(y, 0, table.size.width, base_style)
                    table._line_cache.clear()
                    theirs_line = DataTable._render_line(table, y, 0, table.size.width, base_style)
                    assert ours_line == theirs_line and ours_line.cell_length == theirs_line.cell_length
        assert ours is not None
        extended = ours[-1][0]
        assert compared and extended.text.strip() == "" and extended.cell_length > 0
        width, style = table.size.width, table.rich_style
        before = table._render_line(0, 0, width, style)
        await pilot.press("n")  # sorted by command: the header's arrow moves, the kept header goes
        await pilot.pause()
        table._line_cache.clear()
        header = table._render_line(0, 0, width, style)
        assert header == DataTable._render_line(table, 0, 0, width, style) and header != before


async def test_a_screen_of_unchanged_cells_is_not_drawn_again() -> None:
    """Steady traffic: from one interval to the next only the totals change. Every other cell on
    screen is served from the kept renders, which must hold a screen's worth (they are sized when
    the screen's size is known, after they were first filled)."""
    steady = [
        FakeProcess(pid=5000 + index, name=f"steady-{index}", user="u", cmdline="c", tx=(1000,), rx=(2000,))
        for index in range(100)
    ]
    app = synthetic_app(steady, ticks=0)
    async with app.run_test(size=(200, 50)) as pilot:
        await feed(pilot, *range(30))  # the sparklines fill up and stop changing
        table = app.query_one(ProcessTable)
        kept = table._kept_renders
        kept.hits = kept.misses = 0
        await feed(pilot, 30)
        rows_on_screen = table.size.height - 1  # below the header
        assert kept.misses == 2 * rows_on_screen  # TX total and RX total
        assert kept.hits == (len(table.columns) - 2) * rows_on_screen
