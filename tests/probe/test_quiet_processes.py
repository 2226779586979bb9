"""The probe source's shortcut for quiet processes (source.py's ``_split_quiet``): a process that moved
nothing keeps its last record, its baseline and its details, and is still checked for being gone.

Driven with readings made here, of real processes, through a stand-in for the kernel maps."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from netwatch_tui.model.counters import ProcessCounters
from netwatch_tui.model.snapshot import NO_BYTES, ProcessStats, Snapshot, byte_counts
from netwatch_tui.probe.maps import Drops
from netwatch_tui.probe.source import ProbeSource


class StandInMaps:
    """What ProbeSource._snapshot asks of ProbeMaps, with the exits it could not record settable."""

    def __init__(self) -> None:
        self.unrecorded_exits = 0
        self.forgotten: list[int] = []

    def drops(self) -> Drops:
        return Drops(updates=0, exits=self.unrecorded_exits)

    def forget_processes(self, tgids: list[int]) -> None:
        self.forgotten += tgids

    def sockets(self) -> list:
        return []


def reading(pid: int, tx: int, socket_events: int = 0) -> ProcessCounters:
    first_ns = time.monotonic_ns() - 10**9  # it has run for a while: not a successor on its pid
    return ProcessCounters(
        pid, first_ns, "comm", os.getuid(), byte_counts(tx, 0, 0, 0, 0, 0), False, socket_events
    )


def record(snapshot: Snapshot, pid: int) -> ProcessStats:
    (found,) = [p for p in snapshot.processes if p.pid == pid]
    return found


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_quiet_process_keeps_its_record_and_its_baseline(child: subprocess.Popen[bytes]) -> None:
    source, maps = ProbeSource(), StandInMaps()
    first = reading(child.pid, 1000)
    assert record(source._snapshot(maps, [first], 1.0), child.pid).delta.all.tx == 1000
    idle = record(source._snapshot(maps, [first], 1.0), child.pid)
    assert idle.delta is NO_BYTES
    # From now on the same counters are quiet: the very record comes back, interval after interval,
    # for longer than the accountant's grace reads.
    for _ in range(6):
        assert record(source._snapshot(maps, [first], 1.0), child.pid) is idle
    later = first._replace(counts=byte_counts(1234, 0, 0, 0, 0, 0))
    moved = record(source._snapshot(maps, [later], 1.0), child.pid)
    assert moved.delta.all.tx == 234  # against the kept baseline, not counted again from zero
    assert moved.total.all.tx == 1234 and moved.name == idle.name and moved.alive
    assert maps.forgotten == []


def test_a_quiet_process_gets_its_new_connection_count(
    child: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, maps = ProbeSource(), StandInMaps()
    counts = {child.pid: 2}
    monkeypatch.setattr(source._conns, "count", lambda pid: counts.get(pid, 0))
    first = reading(child.pid, 10)
    for _ in range(3):
        quiet = record(source._snapshot(maps, [first], 1.0), child.pid)
    assert quiet.conns == 2
    counts[child.pid] = 5
    recounted = record(source._snapshot(maps, [first], 1.0), child.pid)
    assert recounted.conns == 5 and recounted.delta is NO_BYTES and recounted.total == quiet.total
    assert record(source._snapshot(maps, [first], 1.0), child.pid) is recounted


def test_a_quiet_process_that_died_unrecorded_is_found_gone(child: subprocess.Popen[bytes]) -> None:
    """The kernel could not record an exit: everyone is checked, the quiet ones too."""
    source, maps = ProbeSource(), StandInMaps()
    first = reading(child.pid, 10)
    for _ in range(3):
        alive = record(source._snapshot(maps, [first], 1.0), child.pid)
    assert alive.alive
    child.kill()
    child.wait()
    maps.unrecorded_exits = 1
    gone = record(source._snapshot(maps, [first], 1.0), child.pid)
    assert not gone.alive and gone.name == alive.name  # what was last known of it
    assert maps.forgotten == [child.pid]
