"""The detail view's list of one process's connections, brought up to date in place.

A busy server holds thousands of connections, and the list comes afresh every interval. Cleared and
filled again each time, the DataTable measured every cell of every row for its auto-width columns:
with 2,000 connections the TUI took 60 % of a core while the detail view was open, and the list
jumped back to its top every second. Here the columns take their widths from the texts, and while
the same connections come in the same order (most intervals), only the cells whose text changed
are replaced, and the widths set anew if they changed: the list stays where it was scrolled to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from netwatch_tui.model.sanitize import clean
from netwatch_tui.model.snapshot import Connection
from netwatch_tui.model.units import format_bytes
from netwatch_tui.widgets.table_cell import TableCell

COLUMNS = ("PROTO", "LOCAL", "REMOTE", "STATE", "TX total", "RX total")  # bytes since netwatch started
_KEYS = tuple(ColumnKey(title) for title in COLUMNS)
_RIGHT_ALIGNED = {"TX total", "RX total"}
_IDENTITY = 3  # PROTO, LOCAL and REMOTE name a connection; its state and bytes change


def connection_texts(connection: Connection) -> tuple[str, ...]:
    """What a connection's row shows, column by column."""
    return (
        clean(connection.protocol),
        clean(connection.local),
        clean(connection.remote),
        clean(connection.state),
        format_bytes(connection.traffic.tx),
        format_bytes(connection.traffic.rx),
    )


def _cell(title: str, text: str) -> TableCell:
    return TableCell((text, None), right=title in _RIGHT_ALIGNED)


class ConnectionTable(DataTable[TableCell]):
    """Call :meth:`show` with every new list of connections."""

    BINDINGS: ClassVar[list[BindingType]] = [  # DataTable's Home and End scroll sideways
        Binding("home", "scroll_top", "First connection", show=False),
        Binding("end", "scroll_bottom", "Last connection", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="none", zebra_stripes=True)
        self._texts: list[tuple[str, ...]] = []  # what each row shows, top to bottom

    def show(self, connections: Sequence[Connection]) -> None:
        texts = [connection_texts(connection) for connection in connections]
        widths = [
            max(cell_len(title), max((cell_len(row[index]) for row in texts), default=0))
            for index, title in enumerate(COLUMNS)
        ]
        same_rows = len(texts) == len(self._texts) and all(
            new[:_IDENTITY] == old[:_IDENTITY] for new, old in zip(texts, self._texts)
        )
        if not same_rows or not self.columns:  # (no columns: the first list)
            self._rebuild(texts, widths)
        else:
            self._update_cells(texts)
            if widths != [column.width for column in self.columns.values()]:
                self._set_widths(widths)
        self._texts = texts

    def _update_cells(self, texts: list[tuple[str, ...]]) -> None:
        """Replace the cells whose text changed, straight in DataTable's cell store (its update_cell
        measures the cell and refreshes the whole table, for each cell)."""
        changed = False
        for index, (new, old) in enumerate(zip(texts, self._texts)):
            if new == old:
                continue
            cells = self._data[RowKey(str(index))]
            for title, key, new_text, old_text in zip(COLUMNS, _KEYS, new, old):
                if new_text != old_text:
                    cells[key] = _cell(title, new_text)
            changed = True
        if changed:
            self._update_count += 1  # DataTable's render caches are keyed by it
            self.refresh()

    def _set_widths(self, widths: list[int]) -> None:
        """New column widths (a figure grew from B to KiB, say), for the same rows."""
        for key, width in zip(_KEYS, widths):
            self.columns[key].width = width
        self._require_update_dimensions = True  # the table's width, when next idle
        self.check_idle()
        self.refresh()  # the rows are drawn again: a width changes only with a text, which counted an update

    def _rebuild(self, texts: list[tuple[str, ...]], widths: list[int]) -> None:
        """Other connections, or in another order: every row again, scrolled as it was."""
        scroll_y = self.scroll_y
        self.clear(columns=True)
        for title, key, width in zip(COLUMNS, _KEYS, widths):
            self.add_column(title, width=width, key=key.value)
        for index, row in enumerate(texts):
            self.add_row(*(_cell(title, text) for title, text in zip(COLUMNS, row)), key=str(index))
        # DataTable measures every cell of a new row when next idle, for auto-width columns and
        # auto-height rows; these have neither.
        self._new_rows.clear()
        self.call_after_refresh(self.scroll_to, y=scroll_y, animate=False)
