"""A known transfer over loopback, to prove the probe counts exactly before anyone trusts it.

A monitor that silently counts nothing is the worst failure it can have, so a live run moves
``CALIBRATION_BYTES`` over TCP loopback right after attaching and checks that the kernel booked
exactly that many bytes, sent and received, to the calling process.
"""

from __future__ import annotations

import os
import socket

from netwatch_tui.errors import NetwatchError
from netwatch_tui.model.counters import ProcessCounters
from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts, Traffic
from netwatch_tui.probe.maps import ProbeMaps

CALIBRATION_BYTES = 65536


def tcp_loopback_transfer(size: int) -> None:
    """Send ``size`` bytes to ourselves over TCP on 127.0.0.1 and receive them all."""
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname(), timeout=5) as client,
    ):
        accepted, _ = server.accept()
        with accepted:
            client.sendall(b"\0" * size)
            received = 0
            while received < size:
                chunk = accepted.recv(size - received)
                if not chunk:
                    break
                received += len(chunk)


def own_counts(readings: list[ProcessCounters]) -> ByteCounts:
    pid = os.getpid()
    total = NO_BYTES
    for reading in readings:
        if reading.tgid == pid and not reading.exited:
            total = total + reading.counts
    return total


def calibrate(maps: ProbeMaps) -> list[ProcessCounters]:
    """Run the calibration transfer; return the readings taken after it.

    Raises NetwatchError if the probe did not count the transfer exactly. Exited processes read
    meanwhile are in the returned readings, so that the caller reports them like any others.
    """
    before = maps.take_processes()
    tcp_loopback_transfer(CALIBRATION_BYTES)
    after = maps.take_processes()
    counted = (own_counts(after) - own_counts(before)).all
    expected = Traffic(CALIBRATION_BYTES, CALIBRATION_BYTES)
    if counted != expected:
        raise NetwatchError(
            f"the probe is attached but counted {counted.tx} sent / {counted.rx} received of "
            f"{CALIBRATION_BYTES} calibration bytes; run `netwatch doctor`"
        )
    return [r for r in before if r.exited] + after
