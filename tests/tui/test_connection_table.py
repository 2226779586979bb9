"""The detail view's connection list: updated in place while the same connections come back (it stays
where it was scrolled to), built again when they change, its columns as wide as their texts."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets.data_table import ColumnKey

from netwatch_tui.model.snapshot import Connection, Traffic
from netwatch_tui.synthetic import server_connections
from netwatch_tui.widgets.connection_table import COLUMNS, ConnectionTable, connection_texts

SIZE = (100, 12)


class _ListOnly(App[None]):
    def compose(self) -> ComposeResult:
        yield ConnectionTable()


def _rows(table: ConnectionTable) -> list[tuple[str, ...]]:
    return [tuple(cell.plain for cell in table.get_row_at(index)) for index in range(table.row_count)]


def _drawn(table: ConnectionTable, row: int) -> str:
    """The row's line as drawn (DataTable's line cache included), below the header."""
    return table._render_line(row + 1, 0, table.size.width, table.rich_style).text


async def test_the_same_connections_are_updated_in_place_and_stay_scrolled() -> None:
    app = _ListOnly()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ConnectionTable)
        first = server_connections(50, received=100)
        table.show(first)
        await pilot.pause()
        assert _rows(table) == [connection_texts(connection) for connection in first]
        table.scroll_to(y=20, animate=False)
        await pilot.pause()
        rows_before, drawn_before = dict(table.rows), _drawn(table, 25)
        assert "125 B" in drawn_before
        second = server_connections(50, received=5000)
        table.show(second)
        await pilot.pause()
        assert _rows(table) == [connection_texts(connection) for connection in second]
        assert table.rows == rows_before and all(table.rows[key] is row for key, row in rows_before.items())
        assert "4.9 KiB" in _drawn(table, 25) and _drawn(table, 25) != drawn_before
        assert table.virtual_size.width == sum(
            column.get_render_width(table) for column in table.columns.values()
        )
        assert table.scroll_y == 20
        table.show(server_connections(50, received=6000))  # other figures, as wide as before
        await pilot.pause()
        assert "5.9 KiB" in _drawn(table, 25)


async def test_other_connections_are_listed_afresh_still_scrolled_and_columns_fit_them() -> None:
    app = _ListOnly()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ConnectionTable)
        table.show(server_connections(50, received=100))
        await pilot.pause()
        table.scroll_to(y=20, animate=False)
        await pilot.pause()
        wider = Connection("TCP", "[2001:db8::1]:443", "[2001:db8::2]:51000", "CLOSE_WAIT", Traffic(7, 0))
        third = [*server_connections(50, received=100)[:30], wider]  # the last 20 closed, one opened
        table.show(third)
        await pilot.pause()
        assert _rows(table) == [connection_texts(connection) for connection in third]
        assert table.scroll_y == 20
        widths = {title: table.columns[ColumnKey(title)].width for title in COLUMNS}
        assert widths == {
            "PROTO": 5,
            "LOCAL": len("[2001:db8::1]:443"),
            "REMOTE": len("[2001:db8::2]:51000"),
            "STATE": len("ESTABLISHED"),
            "TX total": len("TX total"),  # wider than its figures
            "RX total": len("RX total"),
        }
        table.show([])
        await pilot.pause()
        assert table.row_count == 0 and table.columns[ColumnKey("LOCAL")].width == len("LOCAL")


async def test_an_empty_list_first_thenserver_connections() -> None:
    app = _ListOnly()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ConnectionTable)
        table.show([])
        await pilot.pause()
        titles = [column.label.plain for column in table.ordered_columns]
        assert table.row_count == 0 and titles == list(COLUMNS)
        table.show(server_connections(2, received=10))
        await pilot.pause()
        assert _rows(table) == [
            connection_texts(connection) for connection in server_connections(2, received=10)
        ]


async def test_home_and_end_go_to_the_first_and_last_connection() -> None:
    """DataTable's own Home and End scroll sideways, which a list as wide as its texts never needs."""
    app = _ListOnly()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ConnectionTable)
        table.show(server_connections(50, received=100))
        table.focus()
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        assert table.scroll_y == table.max_scroll_y > 0
        await pilot.press("home")
        await pilot.pause()
        assert table.scroll_y == 0
