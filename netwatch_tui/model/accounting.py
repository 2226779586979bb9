"""From the kernel's cumulative counters to per-interval deltas, each byte reported exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from netwatch_tui.model.counters import ProcessCounters
from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts

_new_tuple = tuple.__new__


class ProcessDelta(NamedTuple):
    """One process's reading and the bytes it moved since the previous reading."""

    reading: ProcessCounters
    delta: ByteCounts


class Accountant:
    """Remembers the last reading of every process, by identity ``(tgid, first_ns)``.

    A process's counters start at zero when the kernel first sees it move a byte, so its first
    delta is everything it has; an exited process's final reading consumes its baseline.

    A process missing from a reading keeps its baseline for ``grace_reads`` readings: between
    reading the exited map and the live map, a process can move from one to the other and be in
    neither; and user space may judge a process gone (a zombie by then) just before the kernel moves
    its entry. Its final bytes must then be differenced against what was already reported, not
    counted again. Baselines unseen for longer belong to processes whose entries were removed.
    """

    def __init__(self, grace_reads: int = 3) -> None:
        self._grace_reads = grace_reads
        self._reads = 0
        self._baselines: dict[tuple[int, int], ByteCounts] = {}  # identity -> last counts
        # identity -> number of the last read that saw it, for the baselines the latest read missed
        self._missing: dict[tuple[int, int], int] = {}

    def advance(
        self, readings: Iterable[ProcessCounters], unchanged: Iterable[tuple[int, int]] = ()
    ) -> list[ProcessDelta]:
        """The deltas of ``readings``. ``unchanged`` names the processes also seen in this read whose
        counters are the very ones of their previous reading: they moved nothing, keep their
        baselines, and get no delta (with 1,000 mostly idle processes, skipping them is most of
        the saving)."""
        self._reads += 1
        deltas = []
        baselines = self._baselines
        seen = set(unchanged)
        for reading in readings:
            identity, counts = reading.identity, reading.counts
            previous = baselines.get(identity, NO_BYTES)
            moved = NO_BYTES if previous is counts else counts - previous  # idle: the very same object
            deltas.append(_new_tuple(ProcessDelta, (reading, moved)))  # as byte_counts: the fast way
            if reading.exited:
                baselines.pop(identity, None)
                self._missing.pop(identity, None)
            else:
                baselines[identity] = counts
                seen.add(identity)
        self._forget_unseen(seen)
        return deltas

    def _forget_unseen(self, seen: set[tuple[int, int]]) -> None:
        """Drop the baselines missed by ``grace_reads`` reads in a row (set operations: this runs
        every interval over every process)."""
        missing = self._missing
        for identity in missing.keys() & seen:
            del missing[identity]
        baselines, reads = self._baselines, self._reads
        for identity in baselines.keys() - seen - missing.keys():
            missing[identity] = reads - 1  # seen by the previous read, missed by this one
        oldest = reads - self._grace_reads
        for identity in [identity for identity, last in missing.items() if last <= oldest]:
            del missing[identity]
            baselines.pop(identity, None)
