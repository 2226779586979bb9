"""The BPF maps' key and value layouts, mirrored from probe/bpf/common.c for reading with bpf(2).

The attaching child checks these sizes against what clang compiled (BCC's table types) and
refuses to hand over maps whose layout differs.
"""

from __future__ import annotations

import ctypes

TASK_COMM_LEN = 16


class ProcValue(ctypes.Structure):
    """struct proc_val_t"""

    _fields_ = (
        ("first_ns", ctypes.c_uint64),
        ("tx", ctypes.c_uint64),
        ("rx", ctypes.c_uint64),
        ("lo_tx", ctypes.c_uint64),
        ("lo_rx", ctypes.c_uint64),
        ("pkt_tx", ctypes.c_uint64),
        ("pkt_rx", ctypes.c_uint64),
        ("uid", ctypes.c_uint32),
        ("comm", ctypes.c_char * TASK_COMM_LEN),
        ("socket_events", ctypes.c_uint32),
        ("execs", ctypes.c_uint32),
    )


class ExitedKey(ctypes.Structure):
    """struct exited_key_t"""

    _fields_ = (("tgid", ctypes.c_uint32), ("pad", ctypes.c_uint32), ("first_ns", ctypes.c_uint64))


class SockValue(ctypes.Structure):
    """struct sock_val_t"""

    _fields_ = (
        ("tx", ctypes.c_uint64),
        ("rx", ctypes.c_uint64),
        ("tgid", ctypes.c_uint32),
        ("family", ctypes.c_uint16),
        ("protocol", ctypes.c_uint16),
        ("lport", ctypes.c_uint16),
        ("dport", ctypes.c_uint16),
        ("loopback", ctypes.c_uint8),
        ("pad", ctypes.c_uint8 * 3),
        ("saddr", ctypes.c_uint8 * 16),
        ("daddr", ctypes.c_uint8 * 16),
    )


class ProcSlot(ctypes.Structure):
    """struct proc_slot_t"""

    _fields_ = (
        ("tgid", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
        ("first_ns", ctypes.c_uint64),
        ("tx", ctypes.c_uint64),
        ("rx", ctypes.c_uint64),
        ("lo_tx", ctypes.c_uint64),
        ("lo_rx", ctypes.c_uint64),
    )


class SockSlot(ctypes.Structure):
    """struct sock_slot_t"""

    _fields_ = (
        ("sk", ctypes.c_uint64),
        ("tx", ctypes.c_uint64),
        ("rx", ctypes.c_uint64),
        ("lport", ctypes.c_uint16),
        ("dport", ctypes.c_uint16),
        ("loopback", ctypes.c_uint8),
        ("tcp", ctypes.c_uint8),
        ("pad", ctypes.c_uint8 * 2),
    )


# name: (key type, value type), in the order the child sends their descriptors.
MAPS: dict[str, tuple[type, type]] = {
    "procs": (ctypes.c_uint32, ProcValue),
    "exited": (ExitedKey, ProcValue),
    "socks": (ctypes.c_uint64, SockValue),
    "drops": (ctypes.c_uint32, ctypes.c_uint64),
    "proc_slots": (ctypes.c_uint32, ProcSlot),
    "sock_slots": (ctypes.c_uint32, SockSlot),
}
