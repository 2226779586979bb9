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

- ``proc_slots``, ``sock_slots`` (arrays, PROC_SLOTS and SOCK_SLOTS per possible CPU, powers of
  two): see "Slots" below. When two processes (or sockets) want the same slot, the second one's
  bytes go to the hash maps as before: slower, never lost. By default 512 per CPU, fewer on
  machines with more than 16 CPUs (SLOTS_IN_ALL in all, at least 64 per CPU): user space reads
  the process slots every interval, and a CPU sees only the processes that run on it.

Each size can be changed with an environment variable of the same name prefixed ``NETWATCH_``
(``NETWATCH_PROC_ENTRIES=65536``), for machines with more processes than these hold.

Slots
-----
Each send and receive used to cost two hash lookups (socket, then process): most of the probe's
time per event. Now each CPU has a stripe of slots in two plain arrays, indexed by pid and by a
hash of the socket's address, whose lookups the verifier turns into a few instructions:

- A process slot is owned by one process (tgid and first_ns) from its first byte on that CPU until
  it exits. It holds that process's bytes on that CPU; its ``procs`` entry holds the rest (bytes
  of events that found the slot taken, and AF_PACKET bytes). At exit, the kernel adds every CPU's
  slot into the ``exited`` record and frees them. A process's total is its entry plus its slots.
- A socket slot caches the socket's loopback flag and holds its bytes until another socket takes
  the slot; they are then added to the socket's ``socks`` entry. A TCP socket's slots are freed
  when it closes.

Read order keeps every byte counted once: ``exited``, then the process slots, then ``procs`` (a
process retired in between is in neither and comes next time with all its bytes; one retired
just before has its live entry and slots ignored); ``socks``, then the socket slots (a slot
emptied in between was emptied before its bytes reached ``socks``: they come one read late, and
the total shown never goes down meanwhile).

The kernel folds a process's slots when its last thread exits: none of its threads is left to add
to them. Limit: a process whose exit the kernel could not record (the ``exited`` map full) keeps
its slots until user space finds it gone; a process reusing its pid before then adds to them, as it
would to the shared ``procs`` entry.
"""

from __future__ import annotations

import ctypes
import os
import struct
from pathlib import Path
from typing import NamedTuple, Optional

from netwatch_tui.errors import NetwatchError
from netwatch_tui.model.addresses import address_text
from netwatch_tui.model.counters import ProcessCounters, SocketCounters
from netwatch_tui.model.snapshot import ZERO, Traffic, byte_counts
from netwatch_tui.model.text import decode_untrusted
from netwatch_tui.probe.bpf_syscall import delete, lookup, read_all_raw, read_array, update
from netwatch_tui.probe.handover import AttachedProbe
from netwatch_tui.probe.layout import TASK_COMM_LEN, ProcSlot

# The structs as layout.py lays them out: native order and alignment.
PROC_VALUE = struct.Struct(f"@7QI{TASK_COMM_LEN}sII4x")  # 4x: padded to 8, as C pads it
PROC_SLOT = struct.Struct("@IIQ4Q")  # tgid, pad, first_ns, tx, rx, lo_tx, lo_rx
SOCK_SLOT = struct.Struct("@3QHHBB2x")  # sk, tx, rx, lport, dport, loopback, tcp
SOCK_KEY = struct.Struct("@Q")  # the socket's address
# tx, rx, tgid, family, protocol, lport, dport, loopback, pad, saddr, daddr
SOCK_VALUE = struct.Struct("@2QI4HB3x16s16s")
FIRST_NS = struct.Struct("@Q")  # the first field of proc_val_t
TGID = struct.Struct("@I")  # the key of procs
EXITED_KEY = struct.Struct("@IIQ")  # tgid, pad, first_ns

SLOTS_IN_ALL = 8192
DEFAULT_MAP_SIZES = {
    "PROC_ENTRIES": 16384,
    "EXITED_ENTRIES": 16384,
    "SOCK_ENTRIES": 65536,
    "PROC_SLOTS": 0,  # 0: slots_per_cpu()
    "SOCK_SLOTS": 0,
}
AF_INET6 = 10
POSSIBLE_CPUS = Path("/sys/devices/system/cpu/possible")


class Drops(NamedTuple):
    """Sends and receives not counted because ``procs`` was full (drops[0]), and exits that could
    not be moved to ``exited`` (drops[1]: no byte is lost, but the process must be seen gone)."""

    updates: int
    exits: int


def map_sizes() -> dict[str, int]:
    """The map sizes to compile with: the defaults, or NETWATCH_<NAME> from the environment."""
    sizes = {}
    for name, default in DEFAULT_MAP_SIZES.items():
        text = os.environ.get(f"NETWATCH_{name}", str(default or slots_per_cpu()))
        if not text.isdigit() or not 1 <= int(text) <= 1 << 24:
            raise NetwatchError(f"NETWATCH_{name}={text!r}: give a number of entries from 1 to {1 << 24}")
        if name.endswith("_SLOTS") and int(text) & (int(text) - 1):
            raise NetwatchError(f"NETWATCH_{name}={text!r}: give a power of two")
        sizes[name] = int(text)
    return sizes


def slots_per_cpu() -> int:
    """The default: 512, or SLOTS_IN_ALL shared by the CPUs (a power of two, at least 64)."""
    share = SLOTS_IN_ALL // possible_cpus()
    return max(64, min(512, 1 << (share.bit_length() - 1) if share else 0))


def possible_cpus() -> int:
    """How many CPUs the kernel may ever number (the slots have a stripe for each)."""
    try:
        last = POSSIBLE_CPUS.read_text().strip().split(",")[-1].split("-")[-1]
        return int(last) + 1
    except (OSError, ValueError):
        return os.cpu_count() or 1


_new_tuple = tuple.__new__
NO_SLOTS = (0, 0, 0, 0)
# What take_processes keeps of each live entry: its bytes, its slots' counts, the reading (entry and
# slots) and the process's identity.
_LiveEntry = tuple[bytes, Optional[tuple[int, ...]], ProcessCounters, tuple[int, int]]


class ProbeMaps:
    """The attached probe's maps, read with bpf(2); closing it detaches the probe."""

    def __init__(self, probe: AttachedProbe) -> None:
        self._probe = probe
        self.backend = probe.backend
        self.from_cache = probe.from_cache
        self._fds = probe.map_fds
        sizes = map_sizes()
        self._cpus = possible_cpus()
        self._proc_slots, self._sock_slots = sizes["PROC_SLOTS"], sizes["SOCK_SLOTS"]  # per CPU
        # tgid -> its entry's bytes, slot counts, reading, identity and the entry's reading alone
        self._last_live: dict[int, _LiveEntry] = {}
        self._socket_floor: dict[tuple, Traffic] = {}

    def take_processes(self) -> list[ProcessCounters]:
        """Every live process's counters, and the exited ones' (removed from the kernel as read).

        A live entry unchanged since the last read comes back as the very same object: most
        processes are idle in most intervals, and the stages after this one skip them by identity.
        The read order is the one "Slots" above explains.
        """
        exited_keys, exited, _ = read_all_raw(
            self._fds["exited"], EXITED_KEY.size, PROC_VALUE.size, delete_read=True
        )
        slots = self._process_slots()
        live_keys, live, _ = read_all_raw(self._fds["procs"], TGID.size, PROC_VALUE.size)
        readings = [
            decode_process(tgid, raw, exited=True)
            for (tgid, _, _), raw in zip(EXITED_KEY.iter_unpack(exited_keys), _values(exited))
        ]
        retired = {(reading.tgid, reading.first_ns) for reading in readings}
        last, self._last_live = self._last_live, {}
        for (tgid,), raw in zip(TGID.iter_unpack(live_keys), _values(live)):
            cached = last.get(tgid)
            same_entry = cached is not None and cached[0] == raw
            identity = cached[3] if same_entry else (tgid, FIRST_NS.unpack_from(raw)[0])
            if retired and identity in retired:  # it exited between the two reads: its record has it all
                continue
            extra = slots.get(identity)
            if not same_entry:
                reading = decode_process(tgid, raw, exited=False)
                if extra is not None:
                    reading = moved_slots(reading, NO_SLOTS, extra)
            elif cached[1] == extra:
                reading = cached[2]
            else:  # a busy process's bytes go to its slots: its entry, and so its decoding, stay the same
                reading = moved_slots(cached[2], cached[1] or NO_SLOTS, extra or NO_SLOTS)
            self._last_live[tgid] = (raw, extra, reading, identity)
            readings.append(reading)
        return readings

    def _process_slots(self) -> dict[tuple[int, int], tuple[int, ...]]:
        """Bytes in the process slots, summed over the CPUs, by process (tgid, first_ns)."""
        raw = read_array(self._fds["proc_slots"], self._cpus * self._proc_slots, PROC_SLOT.size)
        found: dict[tuple[int, int], tuple[int, ...]] = {}
        for slot in PROC_SLOT.iter_unpack(raw):
            if slot[0]:  # its owner's tgid (0: free)
                identity = (slot[0], slot[2])
                earlier = found.get(identity)
                found[identity] = slot[3:] if earlier is None else tuple(map(sum, zip(earlier, slot[3:])))
        return found

    def forget_processes(self, tgids: list[int]) -> None:
        """Remove the kernel's entries and slots of processes that are gone (their last bytes
        already read), or of netwatch itself after its calibration."""
        for tgid in tgids:
            delete(self._fds["procs"], ctypes.c_uint32(tgid))
            self._free_process_slots(tgid)

    def _free_process_slots(self, tgid: int) -> None:
        slot = ProcSlot()
        for cpu in range(self._cpus):
            # as common.c's proc_slot_index
            index = ctypes.c_uint32(cpu * self._proc_slots + (tgid & (self._proc_slots - 1)))
            if lookup(self._fds["proc_slots"], index, slot) and slot.tgid == tgid:
                update(self._fds["proc_slots"], index, ProcSlot())

    def sockets(self) -> list[SocketCounters]:
        """Every socket's counters: its ``socks`` entry and its bytes still in slots (read in
        that order, see "Slots"); never less than last time for the same socket."""
        keys, values, _ = read_all_raw(self._fds["socks"], SOCK_KEY.size, SOCK_VALUE.size)
        unflushed = self._socket_slots()
        floor, self._socket_floor = self._socket_floor, {}
        found = []
        for (key,), value in zip(SOCK_KEY.iter_unpack(keys), SOCK_VALUE.iter_unpack(values)):
            entry_tx, entry_rx, _, family, protocol, lport, dport, loopback, saddr, daddr = value
            tx, rx = unflushed.get((key, lport, dport), (0, 0))
            local, remote = (_address(family, saddr), lport), (_address(family, daddr), dport)
            identity = (key, protocol, local, remote)
            shown = floor.get(identity, ZERO)
            traffic = Traffic(max(entry_tx + tx, shown.tx), max(entry_rx + rx, shown.rx))
            self._socket_floor[identity] = traffic
            found.append(SocketCounters(family, protocol, local, remote, traffic, bool(loopback)))
        return found

    def _socket_slots(self) -> dict[tuple[int, int, int], tuple[int, int]]:
        """Bytes in the socket slots, summed over the CPUs, by socket address and ports: a slot on
        another CPU may still hold the bytes of a closed UDP socket whose address was reused, which
        are not the new socket's."""
        raw = read_array(self._fds["sock_slots"], self._cpus * self._sock_slots, SOCK_SLOT.size)
        found: dict[tuple[int, int, int], tuple[int, int]] = {}
        for sk, tx, rx, lport, dport, *_ in SOCK_SLOT.iter_unpack(raw):
            if sk:
                earlier_tx, earlier_rx = found.get((sk, lport, dport), (0, 0))
                found[sk, lport, dport] = (earlier_tx + tx, earlier_rx + rx)
        return found

    def drops(self) -> Drops:
        """What the kernel side could not record since the start (the ``drops`` map, see above)."""
        counters = [ctypes.c_uint64(), ctypes.c_uint64()]
        for index, counter in enumerate(counters):
            lookup(self._fds["drops"], ctypes.c_uint32(index), counter)
        return Drops(updates=counters[0].value, exits=counters[1].value)

    def close(self) -> None:
        """Close every descriptor: the kernel detaches the probe."""
        self._probe.close()


def _values(packed: bytes) -> list[bytes]:
    """The ``proc_val_t`` entries laid one after another in ``packed``, each as its own bytes."""
    size = PROC_VALUE.size
    return [packed[start : start + size] for start in range(0, len(packed), size)]


def _address(family: int, packed: bytes) -> str:
    """The address in a socket entry's 16 bytes (an IPv4 one in the first 4)."""
    return address_text(packed if family == AF_INET6 else packed[:4])


def decode_process(tgid: int, raw: bytes, exited: bool) -> ProcessCounters:
    """Decode one ``struct proc_val_t`` (its bytes: one struct call instead of a ctypes read per field)."""
    first_ns, tx, rx, lo_tx, lo_rx, pkt_tx, pkt_rx, uid, comm, socket_events, execs = PROC_VALUE.unpack(raw)
    counts = byte_counts(tx, rx, lo_tx, lo_rx, pkt_tx, pkt_rx)
    name = decode_untrusted(comm.split(b"\0", 1)[0])
    return ProcessCounters(tgid, first_ns, name, uid, counts, exited, socket_events, execs)


def moved_slots(reading: ProcessCounters, before: tuple[int, ...], after: tuple[int, ...]) -> ProcessCounters:
    """``reading`` with its slots' bytes (tx, rx, lo_tx, lo_rx) as ``after`` instead of ``before``.
    Built with tuple.__new__ (as byte_counts): this runs for every busy process every interval, and
    NamedTuple._replace took three times as long."""
    tgid, first_ns, comm, uid, ((tx, rx), (lo_tx, lo_rx), (pk_tx, pk_rx)), exited, events, execs = reading
    counts = byte_counts(
        tx - before[0] + after[0],
        rx - before[1] + after[1],
        lo_tx - before[2] + after[2],
        lo_rx - before[3] + after[3],
        pk_tx,
        pk_rx,
    )
    return _new_tuple(ProcessCounters, (tgid, first_ns, comm, uid, counts, exited, events, execs))
