"""The live process table: rows keyed by pid, updated cell by cell, the cursor pinned to its process
(or, on the first row, to the top).

Every row is in the DataTable (so scrolling and sorting see them all), but only the rows on screen
get their cells formatted and updated each interval; the others are marked stale and brought up to
date the moment they scroll into view. With 1,000 processes that is a few dozen rows of work per
interval instead of a thousand (bench/bench_ui.py measures it).
"""

from __future__ import annotations

from itertools import chain
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual._two_way_dict import TwoWayDict
from textual._types import SegmentLines
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowDoesNotExist, RowKey

from netwatch_tui.model.cells import Cell, HistoryCell, row_cells
from netwatch_tui.model.columns import Col, ColumnSpec, layout, sorted_columns
from netwatch_tui.model.monitor import Frame
from netwatch_tui.model.table_rows import ProcessRow
from netwatch_tui.model.view import ViewOptions, visible_rows
from netwatch_tui.widgets.table_cell import TableCell

_Shown = tuple[tuple[Cell, ...], bool]  # a row's cells and whether it is drawn as exited
# A cell, where it is drawn and how: its row and column, the row's style, its width, and whether the
# cursor is on it, and the mouse over it: DataTable's _render_cell arguments.
_CellPlace = tuple[object, int, int, Style, int, bool, bool]
_MARGIN = 5  # rows above and below the viewport kept current too, so a small scroll shows no stale row
_STYLES = ("exited", "tx", "rx")
_BLANK = TableCell()  # what a row off screen shows (it is never drawn as such)


class ProcessTable(DataTable[TableCell]):
    """Shows a Frame through ViewOptions; call :meth:`show` for every refresh."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Detail"),
        Binding("home", "scroll_top", "First row", show=False),  # as in htop; DataTable scrolls sideways
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {f"process-table--{name}" for name in _STYLES}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self._specs: tuple[ColumnSpec, ...] = ()
        self._column_keys: tuple[ColumnKey, ...] = ()  # the specs' columns, as DataTable keys them
        self._labels: dict[Col, Text] = {}
        self._order: list[int] = []  # pids, top to bottom, as the DataTable has them
        self._rows: dict[int, ProcessRow] = {}  # the latest data of every row
        self._shown: dict[int, _Shown] = {}  # what each row's cells show now (absent: not drawn yet)
        self._stale: set[int] = set()  # rows whose cells may not match _rows
        self._options = ViewOptions()
        self._interval = 1.0
        self._styles: dict[str, Style] = {}
        self._last: tuple[Frame, ViewOptions] | None = None
        self._kept_renders: LRUCache[tuple[object, ...], SegmentLines] = LRUCache(1)
        self._kept_styles: LRUCache[tuple[object, ...], Style] = LRUCache(1)
        self._kept_header: LRUCache[tuple[object, ...], Strip] = LRUCache(4)  # and as hovered, or not
        self._painting_style: Style | None = None  # the widget's style, while a paint is under way
        self._fit_caches_to_screen()

    def on_mount(self) -> None:
        self.watch(self, "scroll_y", self._refresh_visible, init=False)

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
            self._options, self._interval = options, frame.snapshot.interval
            self._set_rows(rows)
            self._restore_cursor(cursor_pid, cursor_row)
            self._refresh_visible()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_caches_to_screen()
        if self._last is not None:
            self.show(*self._last)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}  # the theme or the CSS changed: look the component styles up again
        self._kept_renders.clear()
        self._kept_styles.clear()
        self._kept_header.clear()
        self._shown.clear()  # and redraw every row with them
        self._stale = set(self._rows)

    def _fit_caches_to_screen(self) -> None:
        """Size the render caches to what one screen shows.

        DataTable's own caches are keyed by its update count, so after an update (every interval)
        nothing in them serves again; at their default sizes (10,000 cells, 1,000 rows and lines)
        they held about 10 MB of dead renders with 1,000 processes. Our kept renders serve only the
        cells on screen (and rows that leave it drop their cells), so one screen's worth is enough.
        """
        rows = max(1, self.size.height) + 2 * _MARGIN
        columns = max(1, len(self._specs))
        cells = rows * columns * 3 // 2  # and the cursor row, drawn both ways
        sizes: list[tuple[LRUCache[Any, Any], int]] = [
            (self._kept_renders, cells),
            (self._kept_styles, 4 * cells),  # a cell has up to four styles
            (self._cell_render_cache, 2 * columns),  # only the header's cells go DataTable's way
            (self._row_render_cache, rows),
            (self._row_renderable_cache, rows),
            (self._line_cache, rows),
        ]
        for cache, maxsize in sizes:
            if cache.maxsize != maxsize:
                # Cleared too: once an LRUCache has been full, it keeps the size it had then,
                # whatever its maxsize becomes (each new entry evicts the oldest).
                cache.maxsize = maxsize
                cache.clear()

    @property
    def rich_style(self) -> Style:
        """The widget's style: DataTable reads it for every line it paints, and Textual computes it
        each time from every ancestor's styles. It cannot change within one paint, so a paint reads
        it once."""
        if self._painting_style is not None:
            return self._painting_style
        return super().rich_style

    def render_lines(self, crop: Region) -> list[Strip]:
        self._painting_style = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._painting_style = None

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """DataTable's line, for a body row that fits the widget's width: its cells come simplified
        (each cell's segments merged where their styles are equal; no two cells' can be, their meta
        differ), so the line needs no cropping, measuring or simplifying again, which DataTable does
        to every line it paints."""
        width = self.size.width
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        cursor, hover = self.cursor_coordinate, self.hover_coordinate
        key = (y, x1, x2, width, cursor, hover, base_style, self.cursor_type, self._show_hover_cursor)
        if row_key is self._header_row_key:
            return self._header_line((*key, self._pseudo_class_state), y, x1, x2, base_style)
        key += (self._update_count, self._pseudo_class_state)  # DataTable's own key for the line
        strip = self._line_cache.get(key)
        if strip is not None:
            return strip
        line = None
        if x1 == 0 and x2 >= width:
            line = self._body_line(row_key, line_no, base_style, cursor, hover)
        if line is None:
            return super()._render_line(y, x1, x2, base_style)
        strip = Strip(list(chain.from_iterable(line)), width)
        self._line_cache[key] = strip
        return strip

    def _header_line(self, key: tuple[object, ...], y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """DataTable's header line, kept until the columns, their titles or the styles change (each
        clears it). DataTable draws it again after every update, through its generic cell rendering:
        that was a third as much as all the body lines together."""
        strip = self._kept_header.get(key)
        if strip is None:
            strip = super()._render_line(y, x1, x2, base_style)
            self._kept_header[key] = strip
        return strip

    def _body_line(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> list[list[Segment]] | None:
        """DataTable's rendering of one line of a body row, for the table as we set it up (a row cursor,
        one-line rows, no row labels, no fixed columns, as wide as the widget at most): the same
        segments, without its general loop; None for anything else, which goes DataTable's way.

        DataTable looks up the cursor's reach, the column widths (a list of columns built twice) and
        several reactives for every cell of every line it paints, which was more than half of the
        table's paint. Here they are read once per line. tests/tui/test_table_drawing.py holds the
        two side by side."""
        row_index = self._row_locations.get(row_key)
        if (
            row_index is None
            or line_no
            or self.cursor_type != "row"
            or self.fixed_columns
            or (self._labelled_row_exists and self.show_row_labels)
        ):
            return None
        widths = self._column_widths()
        remaining_space = self.size.width - sum(widths)
        if remaining_space < 0:
            return None
        cursor, hover = cursor_location.row == row_index, hover_location.row == row_index
        row_style = self._get_row_style(row_index, base_style)
        state = self._drawing_state()
        cells = self._data[row_key]
        line: list[list[Segment]] = [
            self._kept_cell((cells[key], row_index, index, row_style, width, cursor, hover), state)[0]
            for index, (key, width) in enumerate(zip(self._column_keys, widths))
        ]
        line.append([Segment(" " * remaining_space, self._extend_style(row_style, row_index, cursor, hover))])
        return line

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        if row_index < 0 or column_index < 0:  # the header and row labels: DataTable's way
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cell = self.get_cell_at(Coordinate(row_index, column_index))
        place = (cell, row_index, column_index, base_style, width, cursor, hover)
        return self._kept_cell(place, self._drawing_state())

    def _drawing_state(self) -> tuple[object, ...]:
        """What else, beyond a cell and its place, a drawn cell depends on."""
        return (self._show_hover_cursor, self._pseudo_class_state, self.show_cursor, self.cell_padding)

    def _column_widths(self) -> list[int]:
        padding = 2 * self.cell_padding
        columns = self.columns
        return [
            padding + (column.content_width if column.auto_width else column.width)
            for column in (columns[key] for key in self._column_keys)
        ]

    def _kept_cell(self, place: _CellPlace, state: tuple[object, ...]) -> SegmentLines:
        """DataTable's rendering of a cell, kept across updates for as long as the cell is unchanged.

        DataTable forgets every rendered cell on any update (its cache key holds an update count), so
        each interval would render every visible cell again, although most of them (PID, USER,
        COMMAND, the idle processes' figures) did not change. Our cells are immutable objects,
        replaced only when their text or style changes, so the cell object itself (hashed by
        identity) stands for its content in the key; the rest of the key is DataTable's own.
        """
        key = (place, state)  # the row is part of the rendered style (the row a click lands on)
        lines = self._kept_renders.get(key)
        if lines is None:
            lines = self._draw_cell(*place)
            self._kept_renders[key] = lines
        return lines

    def _extend_style(self, row_style: Style, row_index: int, cursor: bool, hover: bool) -> Style:
        """The style of the blank that extends a row to the widget's width, as DataTable makes it."""
        key = ("extend", row_style, row_index, cursor, hover, self.show_cursor, self._show_hover_cursor)
        style = self._kept_styles.get(key)
        if style is None:
            component_style, _ = self._get_styles_to_render_cell(
                False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor, False, False
            )
            style = row_style + component_style
            style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
            self._kept_styles[key] = style
        return style

    def _draw_cell(
        self,
        cell: object,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> SegmentLines:
        """What DataTable's own rendering of a body cell yields, segment for segment, without its
        generic path (a Padding in a Styled through Console.render_lines, for renderables of any
        height), which was half of the paint. Only for our one-line cells in one-line rows; anything
        else goes DataTable's way. Its segments come merged where their styles are equal, as
        DataTable's line would have them. tests/tui/test_table_drawing.py holds the two side by side."""
        if not isinstance(cell, TableCell) or width < 2 * self.cell_padding:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        where = (base_style, row_index, column_index, cursor, hover)
        padding = Segment(" " * self.cell_padding, self._styled(where, None)) if self.cell_padding else None
        line = [
            Segment(text, self._styled(where, style))
            for text, style in cell.segments(width - 2 * self.cell_padding)
        ]
        return [list(Segment.simplify([padding, *line, padding] if padding else line))]

    def _styled(self, where: tuple[Style, int, int, bool, bool], style: Style | None) -> Style:
        """Styled's sandwich for a segment of the cell at ``where``: the cell's style (the row's, the
        cell's meta, the component's), the segment's own, then the cursor's. Kept, as the cells are:
        the same few styles recur in every interval's cells."""
        key = (*where, style, self.show_cursor, self._show_hover_cursor)
        styled = self._kept_styles.get(key)
        if styled is None:
            base_style, row_index, column_index, cursor, hover = where
            component_style, post_style = self._get_styles_to_render_cell(
                False,
                False,
                row_index < self.fixed_rows or column_index < self.fixed_columns,
                hover,
                cursor,
                self.show_cursor,
                self._show_hover_cursor,
                self.cursor_foreground_priority == "css",
                self.cursor_background_priority == "css",
            )
            meta = Style.from_meta({"row": row_index, "column": column_index})
            styled = base_style + meta + component_style + style
            styled = styled + post_style if post_style else styled
            self._kept_styles[key] = styled
        return styled

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._kept_renders.clear()
        self._kept_styles.clear()
        self._kept_header.clear()

    def _set_columns(self, specs: tuple[ColumnSpec, ...]) -> None:
        # Forgotten before clear(), which scrolls to the top: the scroll watcher would blank the
        # rows that were on screen, which are no longer in the table.
        self._order, self._shown, self._labels, self._stale = [], {}, {}, set()
        self.clear(columns=True)
        self._specs = specs
        self._column_keys = tuple(ColumnKey(spec.col.value) for spec in specs)
        self._fit_caches_to_screen()
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

    def _set_rows(self, rows: list[ProcessRow]) -> None:
        """Remove vanished rows, add new ones (cells drawn when on screen), then order them."""
        self._rows = {row.pid: row for row in rows}
        order = [pid for pid in self._order if pid in self._rows]
        if len(order) < len(self._order):
            self._remove_rows([pid for pid in self._order if pid not in self._rows])
        present = set(order)
        blank = [_BLANK] * (len(self._specs) - 1)
        for row in rows:
            if row.pid not in present:
                pid_cell = TableCell((str(row.pid), None))  # PID first: the sort reads it
                self.add_row(pid_cell, *blank, key=str(row.pid))
                order.append(row.pid)
        # DataTable measures every cell of a new row when next idle, for its auto-width columns and
        # auto-height rows; ours have neither (fixed widths, one line). That was half the work of
        # adding 1,000 rows.
        self._new_rows.clear()
        target = [row.pid for row in rows]
        if order != target:
            rank = {pid: index for index, pid in enumerate(target)}
            self.sort(Col.PID.value, key=lambda cell: rank[int(cell.plain)])
        self._order = target
        self._stale = set(target)

    def _remove_rows(self, pids: list[int]) -> None:
        """DataTable.remove_row for many rows at once: the same changes to its state, made once.

        remove_row renumbers every remaining row and sets the cursor and hover reactives, for each
        row it removes. When 1,000 processes left in one interval, that froze the TUI for 0.6 s,
        and it grows with the square of the rows (bench/bench_ui.py measures it)."""
        gone = {RowKey(str(pid)) for pid in pids}
        locations = self._row_locations
        remaining = sorted((locations.get(key), key) for key in locations if key not in gone)
        self._row_locations = TwoWayDict({key: index for index, (_, key) in enumerate(remaining)})
        self._updated_cells = {cell for cell in self._updated_cells if cell.row_key not in gone}
        for pid in pids:
            key = RowKey(str(pid))
            del self.rows[key], self._data[key]
            self._shown.pop(pid, None)
        self._require_update_dimensions = True
        self.check_idle()
        self.cursor_coordinate = self.cursor_coordinate  # clamped to the rows left, as remove_row does
        self._update_count += 1
        self.refresh(layout=True)

    def _refresh_visible(self) -> None:
        """Bring the rows on screen (and a few around) up to date; blank those that left."""
        top = max(0, int(self.scroll_y) - _MARGIN)
        bottom = int(self.scroll_y) + self.size.height + _MARGIN
        window = self._order[top:bottom]
        for pid in self._shown.keys() - set(window):
            self._blank_row(pid)
        if not self._stale:
            return
        changed = False
        for pid in window:
            if pid in self._stale:
                self._stale.discard(pid)
                changed = self._draw_row(pid) or changed
        if changed:  # what DataTable.update_cell does after each cell, once for them all
            self._update_count += 1
            self.refresh()

    def _draw_row(self, pid: int) -> bool:
        """Put the row's changed cells in the table; whether there were any.

        Straight into DataTable's cell store: its update_cell refreshes the whole widget for every
        cell, which for the 200-odd cells that change each interval was a sixth of the handler.
        """
        row = self._rows[pid]
        cells = row_cells(row, self._specs, self._options, self._interval)
        before = self._shown.get(pid)
        self._shown[pid] = (cells, row.exited)
        stored = self._data[RowKey(str(pid))]
        changed = False
        for index, (spec, cell) in enumerate(zip(self._specs, cells)):
            if before is None or before[1] != row.exited or before[0][index] != cell:
                stored[self._column_keys[index]] = self._text(spec, cell, row.exited)
                changed = True
        return changed

    def _blank_row(self, pid: int) -> None:
        """Drop the cells of a row off screen but its pid (the sort reads it); they are drawn again
        if it comes back into view. Their texts, styles and what they showed took about 1 MB of
        RSS with 1,000 processes, most of which are never on screen at the same time."""
        stored = self._data[RowKey(str(pid))]
        for key in self._column_keys[1:]:
            stored[key] = _BLANK
        del self._shown[pid]
        self._stale.add(pid)

    def _style(self, name: str) -> Style:
        if name not in self._styles:
            self._styles[name] = self.get_component_rich_style(f"process-table--{name}", partial=True)
        return self._styles[name]

    def _text(self, spec: ColumnSpec, cell: Cell, exited: bool) -> TableCell:
        dimmed = self._style("exited") if exited else None
        if isinstance(cell, HistoryCell):
            parts = ((cell.tx, self._style("tx")), (" ", None), (cell.rx, self._style("rx")))
            return TableCell(*parts, style=dimmed)
        return TableCell((cell, None), right=spec.numeric, style=dimmed)

    def _restore_cursor(self, pid: int | None, row: int) -> None:
        """Back onto the same process; if it is gone, onto whatever row took its place.

        Except from the first row, which stays first, as in htop: that is where the cursor starts,
        and following the process that happened to be busiest then scrolled the view to wherever
        the sort took it, every interval, with a screen's worth of busier processes above it."""
        if not self.row_count:
            return
        try:
            index = self.get_row_index(str(pid)) if pid is not None and row else row
        except RowDoesNotExist:
            index = min(row, self.row_count - 1)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)
