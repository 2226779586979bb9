"""The kernel's per-process and per-socket entries decode field by field as the probe laid them out."""

from __future__ import annotations

import ctypes

from netwatch_tui.model.snapshot import ByteCounts, Traffic
from netwatch_tui.probe.layout import MAPS, ExitedKey, ProcValue, SockValue
from netwatch_tui.probe.maps import EXITED_KEY, PROC_VALUE, SOCK_KEY, SOCK_VALUE, TGID, decode_process


def test_struct_formats_are_the_ctypes_layouts() -> None:
    assert PROC_VALUE.size == ctypes.sizeof(ProcValue)
    assert MAPS["procs"] == (ctypes.c_uint32, ProcValue)
    assert TGID.size == ctypes.sizeof(ctypes.c_uint32)
    assert MAPS["exited"] == (ExitedKey, ProcValue)
    assert EXITED_KEY.size == ctypes.sizeof(ExitedKey)
    key = ExitedKey(tgid=4242, first_ns=7)
    assert EXITED_KEY.unpack(bytes(key)) == (4242, 0, 7)


def test_every_field_lands_in_its_place() -> None:
    value = ProcValue(
        first_ns=11,
        tx=1,
        rx=2,
        lo_tx=3,
        lo_rx=4,
        pkt_tx=5,
        pkt_rx=6,
        uid=1000,
        comm=b"curl",
        socket_events=7,
        execs=8,
    )
    reading = decode_process(42, bytes(value), exited=True)
    assert (reading.tgid, reading.first_ns, reading.uid, reading.comm) == (42, 11, 1000, "curl")
    assert reading.counts == ByteCounts(Traffic(1, 2), Traffic(3, 4), Traffic(5, 6))
    assert reading.exited and (reading.socket_events, reading.execs) == (7, 8)


def test_a_name_of_fifteen_bytes_and_one_not_utf8() -> None:
    full = decode_process(1, bytes(ProcValue(comm=b"a" * 15)), exited=False)
    assert full.comm == "a" * 15
    bad = decode_process(1, bytes(ProcValue(comm=b"x\xffy")), exited=False)
    assert bad.comm == "x\\xffy"


def test_every_socket_field_lands_in_its_place() -> None:
    assert MAPS["socks"] == (ctypes.c_uint64, SockValue)
    assert (SOCK_KEY.size, SOCK_VALUE.size) == (ctypes.sizeof(ctypes.c_uint64), ctypes.sizeof(SockValue))
    value = SockValue(tx=1, rx=2, tgid=3, family=10, protocol=6, lport=80, dport=5, loopback=1)
    value.saddr[:] = range(16)
    value.daddr[:] = range(100, 116)
    assert SOCK_VALUE.unpack(bytes(value)) == (
        1,
        2,
        3,
        10,
        6,
        80,
        5,
        1,
        bytes(range(16)),
        bytes(range(100, 116)),
    )
