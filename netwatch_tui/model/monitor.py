"""Everything the views show, folded from the stream of snapshots into immutable frames.

The app keeps one Monitor fed with every snapshot (collection never stops) and shows the latest
Frame, or keeps showing an older one while paused: a Frame never changes after it is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from netwatch_tui.model.history import HISTORY_LENGTH, History, HistoryView
from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts, Snapshot, summed
from netwatch_tui.model.table_rows import KEEP_EXITED, ProcessRow, RowBook


@dataclass(frozen=True, eq=False)
class Frame:
    """One refresh of the screen. ``eq=False``: frames are compared by identity, never field by field."""

    snapshot: Snapshot
    rows: tuple[ProcessRow, ...]
    host_history: HistoryView
    host_total: ByteCounts
    number: int  # how many snapshots the monitor had received when it built this frame

    def row(self, pid: int) -> ProcessRow | None:
        return next((row for row in self.rows if row.pid == pid), None)


class Monitor:
    """Rows with their history, host totals, and the count of snapshots seen."""

    def __init__(self, keep_exited: int = KEEP_EXITED, history_length: int = HISTORY_LENGTH) -> None:
        self._rows = RowBook(keep_exited, history_length)
        self._host = History(history_length)
        self._host_total = NO_BYTES
        self._count = 0

    def ingest(self, snapshot: Snapshot) -> Frame:
        moved = summed(process.delta for process in snapshot.processes)
        self._host.push(moved)
        self._host_total = self._host_total + moved
        self._count += 1
        return Frame(snapshot, self._rows.update(snapshot), self._host.view(), self._host_total, self._count)
