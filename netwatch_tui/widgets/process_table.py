"""The live process table: rows keyed by pid, updated cell by cell, the cursor pinned to its process."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowDoesNotExist

from netwatch_tui.model.cells import Cell, HistoryCell, row_cells
from netwatch_tui.model.columns import Col, ColumnSpec, layout, sorted_columns
from netwatch_tui.model.monitor import Frame
from netwatch_tui.model.table_rows import ProcessRow
from netwatch_tui.model.view import ViewOptions, visible_rows

_Shown = tuple[tuple[Cell, ...], bool]  # a row's cells and whether it is drawn as exited


class ProcessTable(DataTable[Text]):
    """Shows a Frame through ViewOptions; call :meth:`show` for every refresh."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Detail"),
        Binding("home", "scroll_top", "First row", show=False),  # as in htop; DataTable scrolls sideways
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "process-table--exited",
        "process-table--tx",
        "process-table--rx",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self._specs: tuple[ColumnSpec, ...] = ()
        self._shown: dict[int, _Shown] = {}
        self._order: list[int] = []
        self._labels: dict[Col, Text] = {}
        self._last: tuple[Frame, ViewOptions] | None = None

    @property
    def cursor_pid(self) -> int | None:
        """The pid of the row under the cursor."""
        if not self.row_count:
            return None
        row_key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key
        return int(row_key.value or 0)

    @property
    def pids(self) -> list[int]:
        """The pids of the rows, top to bottom."""
        return list(self._order)

    @property
    def columns_shown(self) -> tuple[Col, ...]:
        return tuple(spec.col for spec in self._specs)

    def show(self, frame: Frame, options: ViewOptions) -> None:
        self._last = (frame, options)
        rows = visible_rows(frame, options)
        specs = layout(self.app.size.width, options.totals_first)
        cursor_pid, cursor_row = self.cursor_pid, self.cursor_row
        with self.app.batch_update():
            if specs != self._specs:
                self._set_columns(specs)
            self._set_labels(options)
            self._sync_rows(rows, options, frame.snapshot.interval)
            self._restore_cursor(cursor_pid, cursor_row)

    def on_resize(self, event: events.Resize) -> None:
        if self._last is not None:
            self.show(*self._last)

    def _set_columns(self, specs: tuple[ColumnSpec, ...]) -> None:
        self.clear(columns=True)
        self._specs = specs
        self._shown.clear()
        self._order = []
        self._labels = {}
        for spec in specs:
            self.add_column(Text(spec.title), width=spec.width, key=spec.col.value)

    def _set_labels(self, options: ViewOptions) -> None:
        """Header titles, with the sort arrow on the sorted column(s)."""
        marked = sorted_columns(options.sort.key)
        changed = False
        for spec in self._specs:
            title = f"{spec.title} {options.sort.arrow}" if spec.col in marked else spec.title
            label = Text(title, justify="right" if spec.numeric else "left")
            if self._labels.get(spec.col) != label:
                self._labels[spec.col] = label
                self.columns[ColumnKey(spec.col.value)].label = label
                changed = True
        if changed:
            self.notify_style_update()  # DataTable has no API to relabel a column: drop its render caches

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"process-table--{name}", partial=True)

    def _text(self, spec: ColumnSpec, cell: Cell, exited: bool) -> Text:
        if isinstance(cell, HistoryCell):
            text = Text.assemble(
                (cell.tx, self._style("tx")), " ", (cell.rx, self._style("rx")), no_wrap=True
            )
        else:
            text = Text(cell, justify="right" if spec.numeric else "left", no_wrap=True, overflow="ellipsis")
        if exited:
            text.stylize(self._style("exited"))
        return text

    def _sync_rows(self, rows: list[ProcessRow], options: ViewOptions, interval: float) -> None:
        """Remove vanished rows, update changed cells, add new rows, then order them."""
        wanted: dict[int, _Shown] = {
            row.pid: (row_cells(row, self._specs, options, interval), row.exited) for row in rows
        }
        for pid in [pid for pid in self._shown if pid not in wanted]:
            self.remove_row(str(pid))
            del self._shown[pid]
        order = [pid for pid in self._order if pid in wanted]
        for pid, shown in wanted.items():
            before = self._shown.get(pid)
            if before is None:
                cells, exited = shown
                self.add_row(*(self._text(s, c, exited) for s, c in zip(self._specs, cells)), key=str(pid))
                order.append(pid)
            elif before != shown:
                self._update_row(pid, before, shown)
        self._shown = wanted
        target = [row.pid for row in rows]
        if order != target:
            rank = {pid: index for index, pid in enumerate(target)}
            self.sort(Col.PID.value, key=lambda cell: rank[int(cell.plain)])
        self._order = target

    def _update_row(self, pid: int, before: _Shown, shown: _Shown) -> None:
        (old_cells, was_exited), (cells, exited) = before, shown
        for spec, old, new in zip(self._specs, old_cells, cells):
            if old != new or was_exited != exited:
                self.update_cell(str(pid), spec.col.value, self._text(spec, new, exited))

    def _restore_cursor(self, pid: int | None, row: int) -> None:
        """Back onto the same process; if it is gone, onto whatever row took its place."""
        if not self.row_count:
            return
        try:
            index = self.get_row_index(str(pid)) if pid is not None else row
        except RowDoesNotExist:
            index = min(row, self.row_count - 1)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)
