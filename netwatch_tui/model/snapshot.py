"""Immutable records that travel from the probe worker to its consumers (printers, the TUI).

Nothing here imports Textual or BCC: these types are the contract between the two halves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import NamedTuple


class Traffic(NamedTuple):
    """A pair of byte counts: sent (tx) and received (rx).

    A NamedTuple rather than a frozen dataclass: the probe makes and subtracts several per process
    per interval, and a tuple is built in a third of the time and is smaller."""

    tx: int = 0
    rx: int = 0

    def __add__(self, other: Traffic) -> Traffic:  # type: ignore[override]
        return Traffic(self.tx + other.tx, self.rx + other.rx)

    def __sub__(self, other: Traffic) -> Traffic:
        return Traffic(self.tx - other.tx, self.rx - other.rx)

    def __bool__(self) -> bool:
        return bool(self.tx or self.rx)


ZERO = Traffic()


class ByteCounts(NamedTuple):
    """Bytes of one process, with the subsets a view may leave out or mark (a NamedTuple, as Traffic).

    ``all`` includes ``loopback`` (inet sockets talking to 127.0.0.0/8 or ::1) and ``packet``
    (AF_PACKET sockets, which carry whole frames rather than payload).
    """

    all: Traffic = ZERO
    loopback: Traffic = ZERO
    packet: Traffic = ZERO

    def __add__(self, other: ByteCounts) -> ByteCounts:  # type: ignore[override]
        return ByteCounts(self.all + other.all, self.loopback + other.loopback, self.packet + other.packet)

    def __sub__(self, other: ByteCounts) -> ByteCounts:
        (tx, rx), (lo_tx, lo_rx), (pk_tx, pk_rx) = self
        (was_tx, was_rx), (was_lo_tx, was_lo_rx), (was_pk_tx, was_pk_rx) = other
        return byte_counts(
            tx - was_tx,
            rx - was_rx,
            lo_tx - was_lo_tx,
            lo_rx - was_lo_rx,
            pk_tx - was_pk_tx,
            pk_rx - was_pk_rx,
        )

    def shown(self, include_loopback: bool) -> Traffic:
        """The bytes a view shows: everything, or everything but loopback."""
        return self.all if include_loopback else self.all - self.loopback


NO_BYTES = ByteCounts()
_new_tuple = tuple.__new__


def byte_counts(tx: int, rx: int, lo_tx: int, lo_rx: int, pk_tx: int, pk_rx: int) -> ByteCounts:
    """ByteCounts from six integers, built the cheap way: the probe makes two per busy process per
    interval. ``tuple.__new__`` takes half the time of a NamedTuple's generated constructor; a pair
    of zeros is ZERO, and loopback bytes equal to all bytes share their Traffic (a process talking
    only over loopback), which also keeps the thousands of records alive at once smaller."""
    everything = _new_tuple(Traffic, (tx, rx))
    if lo_tx == tx and lo_rx == rx:
        loopback = everything
    else:
        loopback = _new_tuple(Traffic, (lo_tx, lo_rx)) if lo_tx or lo_rx else ZERO
    packet = _new_tuple(Traffic, (pk_tx, pk_rx)) if pk_tx or pk_rx else ZERO
    return _new_tuple(ByteCounts, (everything, loopback, packet))


def summed(counts: Iterable[ByteCounts]) -> ByteCounts:
    """The sum of many ByteCounts in one pass over plain integers: adding them one at a time builds
    four tuples per step, which with 1,000 processes was 7 % of the TUI's CPU time."""
    all_tx = all_rx = loopback_tx = loopback_rx = packet_tx = packet_rx = 0
    for (tx, rx), (lo_tx, lo_rx), (pk_tx, pk_rx) in counts:  # all, loopback, packet
        all_tx += tx
        all_rx += rx
        loopback_tx += lo_tx
        loopback_rx += lo_rx
        packet_tx += pk_tx
        packet_rx += pk_rx
    return ByteCounts(
        Traffic(all_tx, all_rx), Traffic(loopback_tx, loopback_rx), Traffic(packet_tx, packet_rx)
    )


class ProcessStats(NamedTuple):
    """One process in one snapshot (a NamedTuple: the probe makes one per changed process per
    interval, and a frozen dataclass takes three times as long to build).

    ``start_time`` is the process's creation time (seconds since the epoch, as psutil reports it),
    or None when the process was gone before it could be asked; together with ``pid`` it
    identifies the process across pid reuse.
    """

    pid: int
    name: str
    cmdline: str
    user: str
    start_time: float | None
    conns: int
    delta: ByteCounts
    total: ByteCounts
    alive: bool = True

    def bytes(self, include_loopback: bool = True) -> Traffic:
        """Bytes moved during this snapshot's interval."""
        return self.delta.shown(include_loopback)

    def totals(self, include_loopback: bool = True) -> Traffic:
        """Bytes moved since the monitor started."""
        return self.total.shown(include_loopback)


class Connection(NamedTuple):
    """One socket of a process, as the detail view lists it.

    ``local`` and ``remote`` are ``"address:port"`` (IPv6 in brackets); ``state`` is the TCP state
    name (``"ESTABLISHED"``, ``"LISTEN"``...) or ``"-"`` for connectionless sockets. ``traffic`` is
    what the probe counted on this socket since the monitor started (zero when it saw none).
    """

    protocol: str
    local: str
    remote: str
    state: str
    traffic: Traffic = ZERO

    @property
    def listening(self) -> bool:
        """A TCP listener: not a connection in the table's CONNS."""
        return self.protocol == "TCP" and self.state == "LISTEN"


class Snapshot(NamedTuple):
    """Everything the monitor knows at the end of one interval.

    ``processes`` holds every process with traffic since the monitor started that is still alive,
    plus processes that exited during this interval (``alive`` False), each exactly once.
    """

    time: float
    interval: float
    backend: str
    processes: tuple[ProcessStats, ...] = ()
    replay: bool = False
    dropped_updates: int = 0
    # Connections of the processes a consumer asked about (SnapshotSource.watch_connections).
    connections: Mapping[int, tuple[Connection, ...]] = MappingProxyType({})

    def active(self, include_loopback: bool = True) -> tuple[ProcessStats, ...]:
        """Processes that moved bytes during this interval."""
        return tuple(p for p in self.processes if p.bytes(include_loopback))

    def rate(self, byte_count: int) -> float:
        """Bytes per second over this snapshot's interval."""
        return byte_count / self.interval if self.interval > 0 else 0.0
