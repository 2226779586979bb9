"""Each live process's connection count, re-read from /proc only when it may have changed.

Listing a thousand processes' fds and parsing their namespaces' socket tables costs 140-190 ms
here, so a process is recounted only when something says its sockets changed:
- the kernel probe's ``socket_events`` for it grew (it used a socket for the first time, connected
  a TCP socket, or a TCP socket it used closed, reset by the peer included), or its identity
  changed (a reused pid): the caller passes both as the process's *token*;
- the number of its open fds changed: since Linux 6.2 that is the size of ``/proc/<pid>/fd``, one
  stat() every FD_CHECK_SECONDS, or less often when more than FD_CHECKS_PER_SECOND would be
  needed (every 10 s with 1,000 processes: at every 3 s, those stat() calls were the largest
  single cost of a headless netwatch with 1,000 mostly idle processes). Only this check sees
  changes that move no byte: an accepted connection not used yet, a UDP socket closed;
- and everyone every FULL_RECOUNT_SECONDS, for what none of these sees: a UDP socket bound or
  connected without moving a byte, a TCP connection idle since netwatch started that the peer
  resets. Every 30 s that recount alone was half a percent of a core with 1,000 processes. Older
  kernels report no fd count: there everyone is recounted every FD_CHECK_SECONDS.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping

from netwatch_tui.connections import ConnectionTables
from netwatch_tui.model.schedule import StaggeredSchedule

FD_CHECK_SECONDS = 3.0
FD_CHECKS_PER_SECOND = 100
FULL_RECOUNT_SECONDS = 120.0


def open_file_count(pid: int) -> int | None:
    """How many fds ``pid`` has open (0 on kernels before 6.2); None if it is gone."""
    try:
        return os.stat(f"/proc/{pid}/fd").st_size
    except OSError:
        return None


def kernel_reports_fd_count() -> bool:
    """Whether stat() of /proc/<pid>/fd gives the number of open fds (Linux >= 6.2; 0 before)."""
    return bool(open_file_count(os.getpid()))


class ConnectionCounter:
    """Connection counts of the live processes, recounted when they may have changed (see above)."""

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self._tokens: dict[int, Hashable] = {}
        self._fd_counts: dict[int, int | None] = {}
        self._fd_checks = StaggeredSchedule(FD_CHECK_SECONDS)
        self._fd_count_known = kernel_reports_fd_count()
        self._full_period = FULL_RECOUNT_SECONDS if self._fd_count_known else FD_CHECK_SECONDS
        self._next_full = 0.0

    def update(
        self, alive: Mapping[int, Hashable], watched: frozenset[int], now: float
    ) -> ConnectionTables | None:
        """Recount whoever needs it; ``alive`` maps each live pid to its token. The tables read (None
        if nobody needed any) also serve the detail view of the ``watched`` processes, which are
        always read afresh."""
        # Set operations on the views, not a loop: with 1,000 processes, most of them unchanged,
        # this runs every interval.
        for pid in self._tokens.keys() - alive.keys():  # the three tables have the same keys
            del self._counts[pid], self._tokens[pid], self._fd_counts[pid]
        fd_check: set[Hashable] = set()
        if self._fd_count_known:
            self._fd_checks.period = max(FD_CHECK_SECONDS, len(alive) / FD_CHECKS_PER_SECOND)
            fd_check = self._fd_checks.take_due(alive.keys(), now)
        if now >= self._next_full:
            due = set(alive)
            self._next_full = now + self._full_period
        else:
            due = {pid for pid, _ in alive.items() - self._tokens.items()}  # new, or token changed
            due.update(pid for pid in fd_check - due if open_file_count(pid) != self._fd_counts.get(pid))
        due |= watched & alive.keys()
        if not due and not watched:
            return None
        # The fd counts are taken before the fds are listed, so a change meanwhile is seen next time.
        fd_counts = {pid: open_file_count(pid) for pid in due}
        tables = ConnectionTables(sorted(due | watched))
        for pid in due:
            if tables.read(pid):  # otherwise it stays due
                self._counts[pid] = tables.count(pid)
                self._fd_counts[pid] = fd_counts[pid]
                self._tokens[pid] = alive[pid]
        return tables

    def count(self, pid: int) -> int:
        return self._counts.get(pid, 0)
