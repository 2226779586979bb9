"""Which processes have a row, and for how long exited ones linger (dimmed) before they go.

A process that exits (``alive`` False, or missing from a snapshot) keeps its row for ``keep_exited``
more intervals so its last numbers can still be read, then the row is dropped. A pid that comes back
with another start time is another process: it gets a fresh row and history.
"""

from __future__ import annotations

from typing import NamedTuple

from netwatch_tui.model.history import HISTORY_LENGTH, History, HistoryView
from netwatch_tui.model.identity import same_start_time
from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts, ProcessStats, Snapshot

KEEP_EXITED = 3


class ProcessRow(NamedTuple):
    """One row as the views show it: the latest stats, this interval's bytes and the recent past.

    A NamedTuple: every row is made again each interval (its history moved on), and a frozen
    dataclass took four times as long to build."""

    stats: ProcessStats
    moved: ByteCounts
    history: HistoryView
    exited: bool

    @property
    def pid(self) -> int:
        return self.stats.pid


class _Entry:
    __slots__ = ("exited_for", "history", "moved", "stats")

    def __init__(self, stats: ProcessStats, history_length: int) -> None:
        self.stats = stats
        self.moved = NO_BYTES
        self.history = History(history_length)
        self.exited_for: int | None = None  # intervals since the exit was seen, None while alive

    def row(self) -> ProcessRow:
        return ProcessRow(self.stats, self.moved, self.history.view(), self.exited_for is not None)


def _same_process(old: ProcessStats, new: ProcessStats) -> bool:
    if old.start_time is None or new.start_time is None:
        return True  # cannot tell: assume the same process rather than drop its history
    return same_start_time(old.start_time, new.start_time)


class RowBook:
    """The rows, updated from one snapshot to the next."""

    def __init__(self, keep_exited: int = KEEP_EXITED, history_length: int = HISTORY_LENGTH) -> None:
        self._keep_exited = keep_exited
        self._history_length = history_length
        self._entries: dict[int, _Entry] = {}

    def update(self, snapshot: Snapshot) -> tuple[ProcessRow, ...]:
        """Fold ``snapshot`` in and return every row that is still shown."""
        seen: set[int] = set()
        for stats in snapshot.processes:
            seen.add(stats.pid)
            entry = self._entries.get(stats.pid)
            if entry is None or not _same_process(entry.stats, stats):
                entry = self._entries[stats.pid] = _Entry(stats, self._history_length)
            entry.stats = stats
            entry.moved = stats.delta
            entry.exited_for = None if stats.alive else 0
        for pid, entry in list(self._entries.items()):
            if pid in seen:
                entry.history.push(entry.moved)
                continue
            entry.exited_for = 0 if entry.exited_for is None else entry.exited_for + 1
            if entry.exited_for >= self._keep_exited:
                del self._entries[pid]
                continue
            entry.moved = NO_BYTES
            entry.history.push(NO_BYTES)
        return tuple(entry.row() for entry in self._entries.values())
