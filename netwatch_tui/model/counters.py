"""What the probe reads from the kernel each interval, decoded into plain values."""

from __future__ import annotations

from typing import NamedTuple

from netwatch_tui.model.snapshot import ByteCounts, Traffic


class ProcessCounters(NamedTuple):
    """The cumulative counters of one process, as the kernel holds them.

    ``(tgid, first_ns)`` names one process even across pid reuse: ``first_ns`` is the kernel's
    monotonic clock when the process first moved a counted byte. ``exited`` is True for a process
    that the kernel saw exit (its entry is read once and then removed). ``socket_events`` grows when
    the kernel sees the process use a socket for the first time, connect a TCP socket, or a TCP
    socket it used close. ``execs`` grows when it runs another program (exec): its name and command
    line are then read again.
    A NamedTuple: one is decoded per changed process per interval, and tuples are built fastest.
    """

    tgid: int
    first_ns: int
    comm: str
    uid: int
    counts: ByteCounts
    exited: bool = False
    socket_events: int = 0
    execs: int = 0

    @property
    def identity(self) -> tuple[int, int]:
        return (self.tgid, self.first_ns)


class SocketCounters(NamedTuple):
    """The bytes the probe counted on one inet socket, with the socket's addresses."""

    family: int
    protocol: int
    local: tuple[str, int]
    remote: tuple[str, int]
    traffic: Traffic
    loopback: bool
