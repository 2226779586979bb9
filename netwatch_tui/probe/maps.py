"""Sizes of the probe's BPF maps, and what happens when one fills up.

- ``procs`` (hash, PROC_ENTRIES): one entry per process that moved a counted byte. Entries leave
  when the process exits (moved to ``exited``) or when user space sees the pid gone. If it is full,
  a new process's bytes are not counted and ``drops[0]`` grows: the JSON record then carries
  ``dropped_updates`` and the TUI says so. 16,384 live processes with traffic is far past any
  machine we know.
- ``exited`` (hash, EXITED_ENTRIES): processes that exited since the last read; emptied every
  interval. If it is full (more exits per interval than it holds), the exiting process's entry
  stays in ``procs`` and ``drops[1]`` counts it: user space then checks every process against
  /proc at once and reports the gone ones; no byte is lost, but a pid reused within that interval
  would share the entry.
- ``socks`` (LRU hash, SOCK_ENTRIES): per-socket bytes and addresses for the detail view. LRU:
  when full, the least recently used socket's entry is evicted; per-process totals do not depend
  on it. Entry size about 100 bytes, so 65,536 entries cost about 6.5 MB of kernel memory.

Each size can be changed with an environment variable of the same name prefixed ``NETWATCH_``
(``NETWATCH_PROC_ENTRIES=65536``), for machines with more processes than these hold.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import struct
from typing import NamedTuple

from netwatch_tui.errors import NetwatchError
from netwatch_tui.model.counters import ProcessCounters, SocketCounters
from netwatch_tui.model.snapshot import ByteCounts, Traffic
from netwatch_tui.model.text import decode_untrusted
from netwatch_tui.probe.bpf_syscall import delete, lookup, read_all
from netwatch_tui.probe.handover import AttachedProbe
from netwatch_tui.probe.layout import TASK_COMM_LEN, ExitedKey, ProcValue, SockValue

# struct proc_val_t as layout.ProcValue lays it out: native order and alignment.
PROC_VALUE = struct.Struct(f"@7QI{TASK_COMM_LEN}sI")

DEFAULT_MAP_SIZES = {"PROC_ENTRIES": 16384, "EXITED_ENTRIES": 16384, "SOCK_ENTRIES": 65536}
AF_INET6 = 10


class Drops(NamedTuple):
    """Sends and receives not counted because ``procs`` was full (drops[0]), and exits that could
    not be moved to ``exited`` (drops[1]: no byte is lost, but the process must be seen gone)."""

    updates: int
    exits: int


def map_sizes() -> dict[str, int]:
    """The map sizes to compile with: the defaults, or NETWATCH_<NAME> from the environment."""
    sizes = {}
    for name, default in DEFAULT_MAP_SIZES.items():
        text = os.environ.get(f"NETWATCH_{name}", str(default))
        if not text.isdigit() or not 1 <= int(text) <= 1 << 24:
            raise NetwatchError(f"NETWATCH_{name}={text!r}: give a number of entries from 1 to {1 << 24}")
        sizes[name] = int(text)
    return sizes


class ProbeMaps:
    """The attached probe's maps, read with bpf(2); closing it detaches the probe."""

    def __init__(self, probe: AttachedProbe) -> None:
        self._probe = probe
        self.backend = probe.backend
        self._fds = probe.map_fds
        self._last_live: dict[int, tuple[bytes, ProcessCounters]] = {}

    def take_processes(self) -> list[ProcessCounters]:
        """Every live process's counters, and the exited ones' (removed from the kernel as read).

        A live entry unchanged since the last read comes back as the very same object: most
        processes are idle in most intervals, and the stages after this one skip them by identity.
        """
        exited = read_all(self._fds["exited"], ExitedKey, ProcValue, delete_read=True)
        live = read_all(self._fds["procs"], ctypes.c_uint32, ProcValue)
        readings = [decode_process(key.tgid, bytes(value), exited=True) for key, value in exited]
        last, self._last_live = self._last_live, {}
        for tgid, value in live:
            raw = bytes(value)
            cached = last.get(tgid)
            unchanged = cached is not None and cached[0] == raw
            reading = cached[1] if unchanged else decode_process(tgid, raw, exited=False)
            self._last_live[tgid] = (raw, reading)
            readings.append(reading)
        return readings

    def forget_processes(self, tgids: list[int]) -> None:
        """Remove live entries of processes that are gone (their last bytes already read)."""
        for tgid in tgids:
            delete(self._fds["procs"], ctypes.c_uint32(tgid))

    def sockets(self) -> list[SocketCounters]:
        return [
            SocketCounters(
                family=v.family,
                protocol=v.protocol,
                local=(_address(v.family, v.saddr), v.lport),
                remote=(_address(v.family, v.daddr), v.dport),
                traffic=Traffic(v.tx, v.rx),
                loopback=bool(v.loopback),
            )
            for _, v in read_all(self._fds["socks"], ctypes.c_uint64, SockValue)
        ]

    def drops(self) -> Drops:
        """What the kernel side could not record since the start (the ``drops`` map, see above)."""
        counters = [ctypes.c_uint64(), ctypes.c_uint64()]
        for index, counter in enumerate(counters):
            lookup(self._fds["drops"], ctypes.c_uint32(index), counter)
        return Drops(updates=counters[0].value, exits=counters[1].value)

    def close(self) -> None:
        """Close every descriptor: the kernel detaches the probe."""
        self._probe.close()


def _address(family: int, raw: ctypes.Array[ctypes.c_uint8]) -> str:
    packed = bytes(raw)
    if family == AF_INET6:
        address = ipaddress.IPv6Address(packed)
        return str(address.ipv4_mapped or address)
    return str(ipaddress.IPv4Address(packed[:4]))


def decode_process(tgid: int, raw: bytes, exited: bool) -> ProcessCounters:
    """Decode one ``struct proc_val_t`` (its bytes: one struct call instead of a ctypes read per field)."""
    first_ns, tx, rx, lo_tx, lo_rx, pkt_tx, pkt_rx, uid, comm, socket_events = PROC_VALUE.unpack(raw)
    counts = ByteCounts(Traffic(tx, rx), Traffic(lo_tx, lo_rx), Traffic(pkt_tx, pkt_rx))
    name = decode_untrusted(comm.split(b"\0", 1)[0])
    return ProcessCounters(tgid, first_ns, name, uid, counts, exited, socket_events)
