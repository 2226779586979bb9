"""The process table's columns: widths, which ones fit a terminal, and what each one sorts by.

Widths are fixed (cells never resize as numbers change); only COMMAND and HISTORY share whatever
room is left, and low-priority columns are left out when the terminal is too narrow for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from netwatch_tui.model.sorting import SortKey

CELL_PADDING = 1  # DataTable's padding on each side of a cell
SCROLLBAR = 2  # room kept for the vertical scrollbar
HISTORY_MAX = 61  # two 30-interval sparklines and a gap
# How narrow COMMAND may get when the essential columns do not fit otherwise: a terminal of 47 cells
# then still shows both rates (or totals), where RX/s used to be cut off below 55.
COMMAND_FLOOR = 6


class Col(Enum):
    PID = "pid"
    USER = "user"
    COMMAND = "command"
    CONNS = "conns"
    TX_RATE = "tx_rate"
    RX_RATE = "rx_rate"
    TX_TOTAL = "tx_total"
    RX_TOTAL = "rx_total"
    HISTORY = "history"


@dataclass(frozen=True)
class ColumnSpec:
    col: Col
    title: str
    width: int
    numeric: bool = False  # right-aligned


_TITLE = {
    Col.PID: "PID",
    Col.USER: "USER",
    Col.COMMAND: "COMMAND",
    Col.CONNS: "CONNS",
    Col.TX_RATE: "TX/s",
    Col.RX_RATE: "RX/s",
    Col.TX_TOTAL: "TX total",
    Col.RX_TOTAL: "RX total",
    Col.HISTORY: "HISTORY tx rx",
}
_MIN_WIDTH = {
    Col.PID: 7,
    Col.USER: 8,
    Col.COMMAND: 14,
    Col.CONNS: 7,
    Col.TX_RATE: 12,
    Col.RX_RATE: 12,
    Col.TX_TOTAL: 10,
    Col.RX_TOTAL: 10,
    Col.HISTORY: 15,
}
_NUMERIC = frozenset({Col.PID, Col.CONNS, Col.TX_RATE, Col.RX_RATE, Col.TX_TOTAL, Col.RX_TOTAL})
_RATES = (Col.TX_RATE, Col.RX_RATE)
_TOTALS = (Col.TX_TOTAL, Col.RX_TOTAL)


def _display_order(totals_first: bool) -> tuple[Col, ...]:
    primary, secondary = (_TOTALS, _RATES) if totals_first else (_RATES, _TOTALS)
    return (Col.PID, Col.USER, Col.COMMAND, Col.CONNS, *primary, *secondary, Col.HISTORY)


def _by_importance(totals_first: bool) -> tuple[Col, ...]:
    """Columns in the order they are given room; the tail is what a narrow terminal drops first."""
    primary, secondary = (_TOTALS, _RATES) if totals_first else (_RATES, _TOTALS)
    return (Col.PID, Col.COMMAND, *primary, Col.USER, Col.CONNS, Col.HISTORY, *secondary)


def _room(width: int) -> int:
    return width + 2 * CELL_PADDING


def layout(width: int, totals_first: bool = False) -> tuple[ColumnSpec, ...]:
    """The columns that fit ``width`` terminal cells, in display order, with their widths.

    PID, COMMAND and the primary TX/RX pair are always present; HISTORY then COMMAND take the spare room.
    """
    importance = _by_importance(totals_first)
    free = width - SCROLLBAR
    chosen: set[Col] = set()
    for index, col in enumerate(importance):
        needed = _room(_MIN_WIDTH[col])
        if needed > free and index >= 4:
            break
        chosen.add(col)
        free -= needed
    widths = {col: _MIN_WIDTH[col] for col in chosen}
    if free < 0:  # only the essential columns, and they do not fit: COMMAND gives way first
        widths[Col.COMMAND] = max(COMMAND_FLOOR, widths[Col.COMMAND] + free)
    free = max(0, free)
    if Col.HISTORY in chosen:
        extra = min(free, HISTORY_MAX - widths[Col.HISTORY])
        widths[Col.HISTORY] += extra
        free -= extra
    widths[Col.COMMAND] += free
    return tuple(
        ColumnSpec(col, _TITLE[col], widths[col], col in _NUMERIC)
        for col in _display_order(totals_first)
        if col in chosen
    )


def sort_key_of(col: Col, totals_first: bool) -> SortKey:
    """What clicking a column's header sorts by; HISTORY sorts by TX+RX of the primary pair."""
    if col is Col.HISTORY:
        return SortKey.TOTAL if totals_first else SortKey.RATE
    return SortKey[col.name]


def sorted_columns(order_key: SortKey) -> frozenset[Col]:
    """The columns whose header carries the sort arrow (both halves of a TX+RX sort)."""
    if order_key is SortKey.RATE:
        return frozenset(_RATES)
    if order_key is SortKey.TOTAL:
        return frozenset(_TOTALS)
    return frozenset({Col[order_key.name]})
