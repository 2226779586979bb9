"""From the kernel's cumulative counters to per-interval deltas, each byte reported exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from netwatch_tui.model.counters import ProcessCounters
from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts

_NEVER_SEEN = (NO_BYTES, 0)


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
        # identity -> (last counts, number of the read that last saw it)
        self._baselines: dict[tuple[int, int], tuple[ByteCounts, int]] = {}

    def advance(self, readings: Iterable[ProcessCounters]) -> list[ProcessDelta]:
        self._reads += 1
        deltas = []
        baselines, reads = self._baselines, self._reads
        for reading in readings:
            identity, counts = reading.identity, reading.counts
            previous = baselines.get(identity, _NEVER_SEEN)[0]
            moved = NO_BYTES if previous is counts else counts - previous  # idle: the very same object
            deltas.append(ProcessDelta(reading, moved))
            if reading.exited:
                baselines.pop(identity, None)
            else:
                baselines[identity] = (counts, reads)
        oldest = self._reads - self._grace_reads
        self._baselines = {key: value for key, value in self._baselines.items() if value[1] > oldest}
        return deltas
