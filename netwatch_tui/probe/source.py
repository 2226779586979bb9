"""The live snapshot source: the BPF probe, read every interval, enriched with process details."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection
from typing import NamedTuple

from netwatch_tui.connection_counter import ConnectionCounter
from netwatch_tui.connections import ConnectionTables, traffic_by_socket
from netwatch_tui.free_memory import release_free_memory
from netwatch_tui.gc_tuning import collect_less_often
from netwatch_tui.model.accounting import Accountant, ProcessDelta
from netwatch_tui.model.counters import ProcessCounters
from netwatch_tui.model.schedule import StaggeredSchedule
from netwatch_tui.model.snapshot import NO_BYTES, Connection, ProcessStats, Snapshot
from netwatch_tui.probe.attach import attach_calibrated
from netwatch_tui.probe.backends import choose_backend
from netwatch_tui.probe.maps import ProbeMaps
from netwatch_tui.process_info import ProcessInfo, ProcessInfoCache, user_name
from netwatch_tui.source import Deliver

# How often each process is checked against /proc for having gone unseen by the kernel's exit hook
# (which records every exit unless the ``exited`` map was full: then everyone is checked at once).
# One read of /proc/<pid>/stat per process: a thousand of them take about 15 ms.
VERIFY_SECONDS = 30.0
# After an exit the kernel could not record, everyone is checked for this long: the process may
# still be exiting (not yet a zombie) at the first check.
FORCED_VERIFY_SECONDS = 3.0
# How often the heap's free pages are given back (free_memory.py): after the first interval, whose
# burst of new processes is the largest, and then every so often. Every interval, it took 7 % of
# the probe's time with 1,000 busy processes.
TRIM_SECONDS = 10.0


_new_tuple = tuple.__new__


class _Kept(NamedTuple):
    """A live process's last record and what it was made from, reused while none of it changes."""

    reading: ProcessCounters
    identity: tuple[int, int]
    info: ProcessInfo
    stats: ProcessStats


def _split_quiet(
    readings: list[ProcessCounters], last: dict[int, _Kept]
) -> tuple[list[_Kept], list[ProcessCounters]]:
    """The readings of processes that moved nothing in this interval nor in the one before (the
    very counters object of their last record, whose delta was NO_BYTES), as their records; and
    the others. With 1,000 processes, most of them idle in any one interval, the quiet ones skip
    every later stage but the connection count."""
    quiet, changed = [], []
    for reading in readings:
        kept = last.get(reading.tgid)
        if kept is not None and kept.reading is reading and kept.stats.delta is NO_BYTES:
            quiet.append(kept)
        else:
            changed.append(reading)
    return quiet, changed


class ProbeSource:
    """Counts every process's bytes in the kernel and delivers a Snapshot every ``interval`` seconds.

    ``pids``, when given, limits the snapshots to those processes. How fresh a process's ``conns``
    is: see connection_counter.py (exact for the processes whose connections are watched).
    """

    def __init__(self, backend: str = "auto", interval: float = 1.0, pids: Collection[int] = ()) -> None:
        self.requested_backend = backend
        self.interval = interval
        self.pids = frozenset(pids)
        self.description = "starting probe..."
        self.backend = ""  # the backend's name, once attached
        self.live = True
        self._watched: frozenset[int] = frozenset()
        self._accountant = Accountant()
        self._info = ProcessInfoCache()
        self._verify = StaggeredSchedule(VERIFY_SECONDS)
        self._exits_unrecorded = 0
        self._verify_all_until = 0.0
        self._conns = ConnectionCounter()
        self._kept: dict[int, _Kept] = {}  # by tgid: each live process's last record

    def watch_connections(self, pids: frozenset[int]) -> None:
        self._watched = frozenset(pids)  # one reference swap: safe across threads

    def run(self, deliver: Deliver, stop: threading.Event) -> None:
        backend = choose_backend(self.requested_backend)
        collect_less_often()
        maps, calibration = attach_calibrated(backend)
        try:
            # Exited processes read during calibration are reported in the first snapshot; the
            # calibration's own bytes are not anyone's traffic and leave with netwatch's entry.
            pending = [r for r in calibration if r.exited]
            maps.forget_processes([os.getpid()])
            self.backend = backend.name
            self.description = _limited_to(self.pids) or backend.name
            self._loop(maps, pending, deliver, stop)
        finally:
            maps.close()

    def _loop(
        self, maps: ProbeMaps, pending: list[ProcessCounters], deliver: Deliver, stop: threading.Event
    ) -> None:
        last = time.monotonic()
        deadline = last + self.interval
        next_trim = last
        while not stop.wait(max(0.0, deadline - time.monotonic())):
            now = time.monotonic()
            readings = pending + maps.take_processes()
            pending = []
            snapshot = self._snapshot(maps, readings, now - last)
            last = now
            deadline = max(deadline + self.interval, now)  # after a stall, do not burst to catch up
            deliver(snapshot)
            if now >= next_trim:
                release_free_memory()
                next_trim = now + TRIM_SECONDS

    def _snapshot(self, maps: ProbeMaps, readings: list[ProcessCounters], elapsed: float) -> Snapshot:
        if self.pids:
            readings = [r for r in readings if r.tgid in self.pids]
        now = time.monotonic()
        drops = maps.drops()
        if drops.exits > self._exits_unrecorded:  # someone may be gone unrecorded, or still exiting
            self._verify_all_until = now + FORCED_VERIFY_SECONDS
        self._exits_unrecorded = drops.exits
        verify_all = now < self._verify_all_until
        last, self._kept = self._kept, {}
        quiet, changed = _split_quiet(readings, last)
        live = {kept.identity for kept in quiet}
        live.update(r.identity for r in changed if not r.exited)
        verify_due = self._verify.take_due(live, now)
        if verify_all or verify_due:  # a quiet process due for its check takes the full path
            checked = [k for k in quiet if verify_all or k.identity in verify_due]
            if checked:
                changed += [k.reading for k in checked]
                quiet = [k for k in quiet if not (verify_all or k.identity in verify_due)]
        deltas = self._accountant.advance(changed, [kept.identity for kept in quiet])
        described: list[tuple[ProcessDelta, ProcessInfo | None, bool]] = []
        gone: list[ProcessCounters] = []
        for delta in deltas:
            reading = delta.reading
            identity = reading.identity
            kept = last.get(reading.tgid)
            same = kept is not None and kept.identity == identity
            # Not after an exec: what was known described the program it ran before.
            known = kept.info if same and kept.reading.execs == reading.execs else None
            info = (
                None
                if reading.exited
                else self._describe(reading, known, verify_all or identity in verify_due)
            )
            if info is not None:
                described.append((delta, info, True))
                continue
            if not reading.exited:
                gone.append(reading)
            described.append((delta, known, False))
        # The live processes, each with what makes its connections be recounted when it changes
        # (see connection_counter.py).
        tokens = {k.reading.tgid: (k.reading.first_ns, k.reading.socket_events) for k in quiet}
        tokens.update(
            (d.reading.tgid, (d.reading.first_ns, d.reading.socket_events))
            for d, _, alive in described
            if alive
        )
        self._info.keep_only(tokens)
        if gone:  # their last bytes are in this snapshot; free their kernel entries
            maps.forget_processes([r.tgid for r in gone])
        watched = self._watched
        tables = self._conns.update(tokens, watched, now)
        return Snapshot(
            time=time.time(),
            interval=elapsed,
            backend=self.backend,
            processes=self._quiet_stats(quiet) + self._changed_stats(described, last),
            dropped_updates=drops.updates,
            connections=self._connections(maps, tables, watched),
        )

    def _quiet_stats(self, quiet: list[_Kept]) -> tuple[ProcessStats, ...]:
        """The records of the quiet processes: their last ones, with a new connection count if any."""
        records = []
        count = self._conns.count
        for kept in quiet:
            stats = kept.stats
            conns = count(kept.reading.tgid)
            if conns != stats.conns:
                stats = stats._replace(conns=conns)
                kept = kept._replace(stats=stats)
            self._kept[kept.reading.tgid] = kept
            records.append(stats)
        return tuple(records)

    def _changed_stats(
        self, described: list[tuple[ProcessDelta, ProcessInfo | None, bool]], last: dict[int, _Kept]
    ) -> tuple[ProcessStats, ...]:
        """The records of the other processes; one whose record would not change keeps its last one."""
        records = []
        for delta, info, alive in described:
            reading = delta.reading
            conns = self._conns.count(reading.tgid) if alive else 0
            kept = last.get(reading.tgid)
            if (
                alive
                and kept is not None
                and kept.reading is reading  # the very objects: unchanged counters and details
                and kept.info is info
                and kept.stats.delta is delta.delta
                and kept.stats.conns == conns
            ):
                stats = kept.stats
            else:
                stats = _stats(delta, info, conns, alive)
            if alive:
                self._kept[reading.tgid] = _new_tuple(_Kept, (reading, reading.identity, info, stats))
            records.append(stats)
        return tuple(records)

    def _describe(
        self, reading: ProcessCounters, known: ProcessInfo | None, verify: bool
    ) -> ProcessInfo | None:
        """The process's details (``known``: those found last time); asked of /proc on first sight,
        then when ``verify`` says so: every VERIFY_SECONDS (staggered), and for everyone after the
        kernel failed to record an exit.

        In between, the kernel's exit hook is what says a process is gone (it moves the entry to
        the exited map); the checks catch exits that hook could not record.
        """
        if known is not None and not verify:
            return known
        return self._info.lookup(reading.tgid, reading.first_ns, reading.execs)

    @staticmethod
    def _connections(
        maps: ProbeMaps, tables: ConnectionTables | None, watched: frozenset[int]
    ) -> dict[int, tuple[Connection, ...]]:
        if tables is None or not watched:
            return {}
        traffic = traffic_by_socket(maps.sockets())
        return {pid: tables.connections(pid, traffic) for pid in watched}


def _limited_to(pids: frozenset[int]) -> str:
    """What the status line adds after the backend when --pid limits the processes shown."""
    if not pids:
        return ""
    return ("only pid " if len(pids) == 1 else "only pids ") + ", ".join(str(pid) for pid in sorted(pids))


def _stats(delta: ProcessDelta, info: ProcessInfo | None, conns: int, alive: bool) -> ProcessStats:
    """One process's record; a process that is gone keeps what was last known of it, or its comm."""
    reading = delta.reading
    if info is None:
        name, cmdline, user, start_time = reading.comm, "", user_name(reading.uid), None
    else:
        name, cmdline = info.name or reading.comm, info.cmdline
        user, start_time = info.user or user_name(reading.uid), info.start_time
    # tuple.__new__ (as byte_counts): the generated constructor takes twice as long, with keywords four times.
    fields = (reading.tgid, name, cmdline, user, start_time, conns, delta.delta, reading.counts, alive)
    return _new_tuple(ProcessStats, fields)
