"""Sort keys for the process table, and how keypresses move between them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Callable

from netwatch_tui.model.table_rows import ProcessRow


class SortKey(Enum):
    """What the table is ordered by. RATE and TOTAL are TX+RX together (the default ordering)."""

    PID = "PID"
    USER = "USER"
    COMMAND = "COMMAND"
    CONNS = "CONNS"
    TX_RATE = "TX/s"
    RX_RATE = "RX/s"
    TX_TOTAL = "TX total"
    RX_TOTAL = "RX total"
    RATE = "TX+RX/s"
    TOTAL = "TX+RX total"

    @property
    def numeric(self) -> bool:
        """Numbers sort largest first on the first press; text and pids sort A-Z / low-high."""
        return self not in (SortKey.PID, SortKey.USER, SortKey.COMMAND)


def _key_function(key: SortKey, include_loopback: bool) -> Callable[[ProcessRow], Any]:
    functions: dict[SortKey, Callable[[ProcessRow], Any]] = {
        SortKey.PID: lambda row: row.pid,
        SortKey.USER: lambda row: row.stats.user.casefold(),
        SortKey.COMMAND: lambda row: row.stats.name.casefold(),
        SortKey.CONNS: lambda row: row.stats.conns,
        SortKey.TX_RATE: lambda row: row.moved.shown(include_loopback).tx,
        SortKey.RX_RATE: lambda row: row.moved.shown(include_loopback).rx,
        SortKey.TX_TOTAL: lambda row: row.stats.totals(include_loopback).tx,
        SortKey.RX_TOTAL: lambda row: row.stats.totals(include_loopback).rx,
        SortKey.RATE: lambda row: _both(row.moved.shown(include_loopback)),
        SortKey.TOTAL: lambda row: _both(row.stats.totals(include_loopback)),
    }
    return functions[key]


def _both(traffic: Any) -> int:
    return traffic.tx + traffic.rx


@dataclass(frozen=True)
class SortOrder:
    key: SortKey = SortKey.RATE
    descending: bool = True

    def pressed(self, key: SortKey) -> SortOrder:
        """The order after the user picks ``key``: the same key again reverses the direction."""
        if key is self.key:
            return replace(self, descending=not self.descending)
        return SortOrder(key, descending=key.numeric)

    def reversed(self) -> SortOrder:
        return replace(self, descending=not self.descending)

    @property
    def arrow(self) -> str:
        return "▼" if self.descending else "▲"


def sort_rows(rows: Iterable[ProcessRow], order: SortOrder, include_loopback: bool) -> list[ProcessRow]:
    """Rows in display order; ties keep ascending pid order, whatever the direction, so order is stable."""
    by_pid = sorted(rows, key=lambda row: row.pid)
    return sorted(by_pid, key=_key_function(order.key, include_loopback), reverse=order.descending)


def step(order: SortOrder, choices: tuple[SortKey, ...], offset: int) -> SortOrder:
    """htop's ``<`` / ``>``: move the sort to the previous or next column, in its default direction."""
    if order.key in choices:
        index = (choices.index(order.key) + offset) % len(choices)
    else:
        index = 0 if offset > 0 else len(choices) - 1
    key = choices[index]
    return SortOrder(key, descending=key.numeric)
