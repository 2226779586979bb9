"""From the kernel's cumulative counters to per-interval deltas, each byte reported exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netwatch_tui.model.counters import ProcessCounters
from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts


@dataclass(frozen=True)
class ProcessDelta:
    """One process's reading and the bytes it moved since the previous reading."""

    reading: ProcessCounters
    delta: ByteCounts


class Accountant:
    """Remembers the last reading of every process, by identity ``(tgid, first_ns)``.

    A process's counters start at zero when the kernel first sees it move a byte, so its first
    delta is everything it has; an exited process's final reading consumes its baseline. A process
    that is missing from one reading keeps its baseline: a process can leave the live map and reach
    the exited map between two map reads, and its bytes must then be reported once, not twice.
    """

    def __init__(self) -> None:
        self._baselines: dict[tuple[int, int], ByteCounts] = {}

    def advance(self, readings: Iterable[ProcessCounters]) -> list[ProcessDelta]:
        deltas = []
        for reading in readings:
            previous = self._baselines.get(reading.identity, NO_BYTES)
            deltas.append(ProcessDelta(reading, reading.counts - previous))
            if reading.exited:
                self._baselines.pop(reading.identity, None)
            else:
                self._baselines[reading.identity] = reading.counts
        return deltas

    def forget(self, identities: Iterable[tuple[int, int]]) -> None:
        """Drop processes whose last bytes were reported and whose kernel entries were removed."""
        for identity in identities:
            self._baselines.pop(identity, None)
