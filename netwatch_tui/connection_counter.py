"""Each live process's connection count, re-read from /proc only when it may have changed.

Listing a thousand processes' fds and parsing their namespaces' socket tables costs tens of
milliseconds. Since Linux 6.2 the size of ``/proc/<pid>/fd`` is the number of open fds, so one
stat() per process says whether its fds changed; only those processes are recounted, and everyone
is recounted every FULL_RECOUNT_SECONDS in case a socket was swapped for another kind of file.
Older kernels report no count: there everyone is recounted every FD_CHECK_SECONDS.
"""

from __future__ import annotations

import os

from netwatch_tui.connections import ConnectionTables
from netwatch_tui.model.schedule import StaggeredSchedule

FD_CHECK_SECONDS = 3.0
FULL_RECOUNT_SECONDS = 30.0


def open_file_count(pid: int) -> int | None:
    """How many fds ``pid`` has open (0 on kernels before 6.2); None if it is gone."""
    try:
        return os.stat(f"/proc/{pid}/fd").st_size
    except OSError:
        return None


def kernel_reports_fd_count() -> bool:
    """Whether stat() of /proc/<pid>/fd gives the number of open fds (Linux >= 6.2)."""
    listed = len(os.listdir("/proc/self/fd")) - 1  # the listing holds one fd of its own
    return open_file_count(os.getpid()) == listed


class ConnectionCounter:
    """Connection counts of the live processes: new ones at once, the others when their fds change."""

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self._fd_counts: dict[int, int | None] = {}
        self._fd_checks = StaggeredSchedule(FD_CHECK_SECONDS)
        self._full_period = FULL_RECOUNT_SECONDS if kernel_reports_fd_count() else FD_CHECK_SECONDS
        self._next_full = 0.0

    def update(self, alive: set[int], watched: frozenset[int], now: float) -> ConnectionTables | None:
        """Recount whoever needs it; the tables read (None if nobody needed any) also serve the
        detail view of the ``watched`` processes, which are always read afresh."""
        self._counts = {pid: count for pid, count in self._counts.items() if pid in alive}
        self._fd_counts = {pid: count for pid, count in self._fd_counts.items() if pid in alive}
        self._fd_checks.keep_only(alive)
        if now >= self._next_full:
            due = set(alive)
            self._next_full = now + self._full_period
        else:
            due = {pid for pid in alive if pid not in self._counts or self._fds_changed(pid, now)}
        due |= watched & alive
        if not due and not watched:
            return None
        for pid in due:  # before listing the fds: a change while they are listed is seen next time
            self._fd_counts[pid] = open_file_count(pid)
        tables = ConnectionTables(sorted(due | watched))
        for pid in due:
            self._counts[pid] = tables.count(pid)
        return tables

    def count(self, pid: int) -> int:
        return self._counts.get(pid, 0)

    def _fds_changed(self, pid: int, now: float) -> bool:
        return self._fd_checks.due(pid, now) and open_file_count(pid) != self._fd_counts.get(pid)
