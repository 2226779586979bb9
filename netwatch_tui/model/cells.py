"""The text of each cell of the process table, as plain strings (the widget adds the styles)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Union

from netwatch_tui.model.columns import Col, ColumnSpec
from netwatch_tui.model.history import HistoryView
from netwatch_tui.model.sanitize import clean
from netwatch_tui.model.snapshot import Traffic
from netwatch_tui.model.sparkline import spark
from netwatch_tui.model.table_rows import ProcessRow
from netwatch_tui.model.units import format_bytes, format_rate
from netwatch_tui.model.view import ViewOptions


class HistoryCell(NamedTuple):
    """Two sparklines over the same intervals, drawn side by side in two colours."""

    tx: str
    rx: str


Cell = Union[str, HistoryCell]


def history_cell(history: HistoryView, width: int, include_loopback: bool) -> HistoryCell:
    """The last ``(width - 1) // 2`` intervals of TX and of RX, on one scale so they compare."""
    count = (width - 1) // 2
    recent = history.shown(include_loopback, count)
    recent = [Traffic()] * (count - len(recent)) + recent
    top = max((max(t.tx, t.rx) for t in recent), default=0)
    return HistoryCell(spark([t.tx for t in recent], top), spark([t.rx for t in recent], top))


def row_cells(
    row: ProcessRow, columns: Sequence[ColumnSpec], options: ViewOptions, interval: float
) -> tuple[Cell, ...]:
    """The cells of ``row`` for ``columns``, in the same order."""
    stats = row.stats
    moved = row.moved.shown(options.include_loopback)
    total = stats.totals(options.include_loopback)
    per_second = 1.0 / interval if interval > 0 else 0.0

    def cell(spec: ColumnSpec) -> Cell:
        col = spec.col
        if col is Col.PID:
            return str(stats.pid)
        if col is Col.USER:
            return clean(stats.user)
        if col is Col.COMMAND:
            return clean(stats.name)
        if col is Col.CONNS:
            return str(stats.conns)
        if col is Col.TX_RATE:
            return format_rate(moved.tx * per_second, options.bits)
        if col is Col.RX_RATE:
            return format_rate(moved.rx * per_second, options.bits)
        if col is Col.TX_TOTAL:
            return format_bytes(total.tx)
        if col is Col.RX_TOTAL:
            return format_bytes(total.rx)
        return history_cell(row.history, spec.width, options.include_loopback)

    return tuple(cell(spec) for spec in columns)
