"""Which inet sockets each process holds, read from /proc without psutil.net_connections().

``psutil.net_connections()`` rebuilds the whole system's table per call (75-90 ms for 2,000
connections), so instead each network namespace's /proc/<pid>/net/{tcp,udp,...} tables are parsed
once per interval, and only the processes in the snapshot have their fds listed.
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterable, Mapping
from typing import NamedTuple

from netwatch_tui.model.addresses import address_text
from netwatch_tui.model.counters import SocketCounters
from netwatch_tui.model.snapshot import ZERO, Connection, Traffic

SocketKey = tuple[int, tuple[str, int], tuple[str, int]]

_TABLES = {
    "tcp": ("TCP", 6),
    "tcp6": ("TCP", 6),
    "udp": ("UDP", 17),
    "udp6": ("UDP", 17),
    "raw": ("RAW", 255),
    "raw6": ("RAW", 255),
    "icmp": ("ICMP", 1),
    "icmp6": ("ICMP", 58),
}
_TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
}
_TCP_LISTEN = 10
_CONNECTED = 1


class SocketRow(NamedTuple):
    """One line of /proc/net/<table>; its addresses are decoded only when asked for (the detail
    view), since counting connections needs none of them."""

    protocol: str
    protocol_number: int
    local_hex: str
    remote_hex: str
    state: int

    @property
    def local(self) -> tuple[str, int]:
        return _endpoint(self.local_hex)

    @property
    def remote(self) -> tuple[str, int]:
        return _endpoint(self.remote_hex)

    @property
    def is_listener(self) -> bool:
        return self.protocol == "TCP" and self.state == _TCP_LISTEN

    def state_name(self) -> str:
        if self.protocol == "TCP":
            return _TCP_STATES.get(self.state, str(self.state))
        return "CONNECTED" if self.state == _CONNECTED else "-"


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    # The kernel prints each 32-bit word in host (little-endian) order.
    return address_text(b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4)))


def _endpoint(field: str) -> tuple[str, int]:
    address, port = field.split(":")
    return _address(address), int(port, 16)


def parse_table(
    lines: Iterable[str], table: str, wanted: Container[int] | None = None
) -> dict[int, SocketRow]:
    """The rows of one /proc/net/<table> file (its ``lines``, header first), by socket inode; only
    the ``wanted`` ones if given (a namespace can hold thousands of sockets, a few processes' fds
    only some of them).

    Line by line from the open file rather than all its lines at once: with 2,000 connections
    those are thousands of small strings alive together, and the heap stayed that much larger
    after every full recount (connection_counter.py)."""
    protocol, number = _TABLES[table]
    rows = {}
    lines = iter(lines)
    next(lines, None)  # the header
    for line in lines:
        fields = line.split(maxsplit=10)
        if len(fields) < 10:
            continue
        inode = int(fields[9])
        if inode and (wanted is None or inode in wanted):
            rows[inode] = SocketRow(protocol, number, fields[1], fields[2], int(fields[3], 16))
    return rows


def _namespace_table(pid: int, wanted: Container[int]) -> dict[int, SocketRow] | None:
    """The ``wanted`` rows of the socket tables of ``pid``'s network namespace; None if none of
    them could be read (the process has gone, or its main thread has)."""
    rows: dict[int, SocketRow] = {}
    read = False
    for table in _TABLES:
        try:
            with open(f"/proc/{pid}/net/{table}") as handle:
                rows.update(parse_table(handle, table, wanted))
            read = True
        except OSError:
            continue
    return rows if read else None


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets among ``pid``'s open files (empty if it is gone or hidden)."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _first_table(members: list[int], wanted: set[int]) -> dict[int, SocketRow] | None:
    """A namespace's table, through the first of its ``members`` whose /proc entry still answers."""
    if not wanted:
        return {}
    for pid in members:
        table = _namespace_table(pid, wanted)
        if table is not None:
            return table
    return None


class ConnectionTables:
    """The inet sockets of a set of processes, read once per interval."""

    def __init__(self, pids: list[int]) -> None:
        inodes: dict[int, set[int]] = {}
        pids_by_namespace: dict[str, list[int]] = {}
        for pid in pids:
            try:
                namespace = os.readlink(f"/proc/{pid}/ns/net")
            except OSError:
                continue
            inodes[pid] = socket_inodes(pid)
            pids_by_namespace.setdefault(namespace, []).append(pid)
        self._by_pid: dict[int, list[SocketRow]] = {}
        for members in pids_by_namespace.values():
            table = _first_table(members, set().union(*(inodes[pid] for pid in members)))
            if table is None:
                continue  # every member is gone: none of them is read
            for pid in members:
                self._by_pid[pid] = [table[inode] for inode in inodes[pid] if inode in table]

    def read(self, pid: int) -> bool:
        """Whether ``pid``'s sockets were read (not: it had gone, or so had its whole namespace)."""
        return pid in self._by_pid

    def count(self, pid: int) -> int:
        """Connections of ``pid``: its inet sockets except TCP listeners."""
        return sum(1 for row in self._by_pid.get(pid, ()) if not row.is_listener)

    def connections(self, pid: int, traffic: Mapping[SocketKey, Traffic]) -> tuple[Connection, ...]:
        """``pid``'s sockets with the bytes the probe counted on each (``traffic_by_socket``)."""
        rows = sorted((row.protocol, row.local, row.remote, row) for row in self._by_pid.get(pid, ()))
        return tuple(
            Connection(
                protocol=protocol,
                local=format_endpoint(local),
                remote=format_endpoint(remote),
                state=row.state_name(),
                traffic=traffic.get((row.protocol_number, local, remote), ZERO),
            )
            for protocol, local, remote, row in rows
        )


def traffic_by_socket(sockets: list[SocketCounters]) -> dict[SocketKey, Traffic]:
    """The probe's per-socket bytes by (protocol number, local, remote), to match /proc's rows."""
    return {(s.protocol, s.local, s.remote): s.traffic for s in sockets}


def format_endpoint(endpoint: tuple[str, int]) -> str:
    address, port = endpoint
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
