"""End to end against the real probe: child processes move known byte counts over loopback and
``netwatch --format json`` must report exactly those counts, per pid, under the right name."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.markers import requires_bpf
from tests.netwatch_run import NetwatchRun, stop_child, traffic_child, wait_for_file
from tests.transfers import (
    OWN_NAME,
    SHORT_LIVED_TRANSFERS,
    assert_counted,
    server_and_client,
    tcp_peek_then_read,
)

pytestmark = requires_bpf
INTERVAL = "0.3"


@pytest.fixture(scope="module")
def netwatch() -> Iterator[NetwatchRun]:
    run = NetwatchRun("--format", "json", "--interval", INTERVAL)
    run.next_record(timeout=60)  # the probe is attached and calibrated
    yield run
    status, errors = run.stop()
    assert status == 0, errors


@pytest.mark.parametrize(("kind", "family", "up", "down"), SHORT_LIVED_TRANSFERS)
def test_short_lived_transfers_are_exact(
    netwatch: NetwatchRun, tmp_path: Path, kind: str, family: str, up: int, down: int
) -> None:
    before = netwatch.drain()
    server, client = server_and_client(tmp_path, kind, family, up, down)
    assert stop_child(client) == 0
    assert stop_child(server) == 0
    # Both children exited right after their last byte, long before netwatch's next read.
    records = before + netwatch.records_after()
    assert_counted(records, {client.pid: (up, down), server.pid: (down, up)})
    last_seen = {p["pid"]: p for r in records for p in r["processes"]}
    assert last_seen[client.pid]["tx_total"] == up
    assert last_seen[client.pid]["rx_total"] == down
    assert last_seen[client.pid]["alive"] is False


def test_sendfile_is_counted(netwatch: NetwatchRun, tmp_path: Path) -> None:
    before = netwatch.drain()
    server, client = server_and_client(tmp_path, "tcp", "4", 777_777, 10, client_mode="tcp-sendfile")
    assert stop_child(client) == 0
    assert stop_child(server) == 0
    assert_counted(before + netwatch.records_after(), {client.pid: (777_777, 10), server.pid: (10, 777_777)})


def test_connection_opened_before_netwatch_started(tmp_path: Path) -> None:
    portfile = tmp_path / "early.port"
    server = traffic_child("tcp-server", "4", str(portfile), "300000", "4242")
    client = traffic_child(
        "tcp-client", "4", wait_for_file(portfile), "300000", "4242", "WAIT", stdin=subprocess.PIPE
    )
    try:
        assert client.stdout is not None and client.stdin is not None
        assert client.stdout.readline() == "ready\n"  # connected before netwatch exists
        run = NetwatchRun("--format", "json", "--interval", INTERVAL)
        try:
            first = run.next_record(timeout=60)
            client.stdin.write("go\n")
            client.stdin.flush()
            assert stop_child(client) == 0
            assert stop_child(server) == 0
            assert_counted(
                [first, *run.records_after()], {client.pid: (300_000, 4242), server.pid: (4242, 300_000)}
            )
        finally:
            status, errors = run.stop()
        assert status == 0, errors
    finally:
        for child in (client, server):
            if child.poll() is None:
                child.kill()
                child.wait()


def test_msg_peek_reads_are_not_counted(netwatch: NetwatchRun) -> None:
    before = netwatch.drain()
    tcp_peek_then_read(5000)
    assert_counted(before + netwatch.records_after(), {os.getpid(): (5000, 5000)}, OWN_NAME)


def test_raw_ip_socket_is_counted(netwatch: NetwatchRun) -> None:
    """An ICMP echo on a raw socket: 64 bytes of ICMP out, the reply back with its 20-byte IP header."""
    before = netwatch.drain()
    request = bytearray(64)
    request[0] = 8  # echo request
    checksum = sum(int.from_bytes(request[i : i + 2], "big") for i in range(0, 64, 2))
    checksum = (checksum & 0xFFFF) + (checksum >> 16)
    request[2:4] = (~checksum & 0xFFFF).to_bytes(2, "big")
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as raw:
        raw.settimeout(5)
        raw.sendto(bytes(request), ("127.0.0.1", 0))
        received = 0
        while True:  # our own request is delivered to the raw socket too, before the reply
            packet = raw.recv(65536)
            received += len(packet)
            if packet[20] == 0:  # ICMP type 0: echo reply
                break
    assert_counted(before + netwatch.records_after(), {os.getpid(): (64, received)}, OWN_NAME)


def test_packet_socket_is_counted_and_marked(netwatch: NetwatchRun) -> None:
    before = netwatch.drain()
    frame = b"\xff" * 6 + b"\x00" * 6 + b"\x88\xb5" + b"netwatch-test".ljust(46, b"\0")
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as packet:
        packet.bind(("lo", 0))
        assert packet.send(frame) == len(frame)
    records = before + netwatch.records_after()
    mine = [p for r in records for p in r["processes"] if p["pid"] == os.getpid()]
    assert sum(p["tx_bytes"] for p in mine) == len(frame)
    assert sum(p["packet_tx_bytes"] for p in mine) == len(frame)
    assert sum(p["lo_tx_bytes"] for p in mine) == 0


class _IoVec(ctypes.Structure):
    _fields_ = (("base", ctypes.c_void_p), ("length", ctypes.c_size_t))


class _MsgHdr(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(_IoVec)),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    )


class _MMsgHdr(ctypes.Structure):
    _fields_ = (("hdr", _MsgHdr), ("len", ctypes.c_uint))


def _messages(buffers: list[ctypes.Array[ctypes.c_char]]) -> ctypes.Array[_MMsgHdr]:
    vectors = [_IoVec(ctypes.cast(buffer, ctypes.c_void_p), len(buffer)) for buffer in buffers]
    messages = (_MMsgHdr * len(buffers))()
    for message, vector in zip(messages, vectors):
        message.hdr.iov = ctypes.pointer(vector)
        message.hdr.iovlen = 1
    return messages


def test_sendmmsg_and_recvmmsg_are_counted(netwatch: NetwatchRun) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    sizes = [100, 2000, 333]
    before = netwatch.drain()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        receiver.bind(("127.0.0.1", 0))
        sender.connect(receiver.getsockname())
        outgoing = _messages([ctypes.create_string_buffer(b"m" * size, size) for size in sizes])
        assert libc.sendmmsg(sender.fileno(), outgoing, len(sizes), 0) == len(sizes)
        incoming = _messages([ctypes.create_string_buffer(4096) for _ in sizes])
        assert libc.recvmmsg(receiver.fileno(), incoming, len(sizes), socket.MSG_WAITALL, None) == len(sizes)
        assert [message.len for message in incoming] == sizes
    assert_counted(before + netwatch.records_after(), {os.getpid(): (sum(sizes), sum(sizes))}, OWN_NAME)


def test_splice_reads_are_the_documented_blind_spot(netwatch: NetwatchRun) -> None:
    """Receive-side splice() bypasses sock_recvmsg: README and `doctor` say so; this keeps them honest."""
    before = netwatch.drain()
    size = 50_000
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        accepted, _ = server.accept()
        read_end, write_end = os.pipe()
        try:
            client.sendall(b"s" * size)
            moved = 0
            while moved < size:
                moved += os.splice(accepted.fileno(), write_end, size - moved)
                os.read(read_end, 65536 * 4)
        finally:
            accepted.close()
            os.close(read_end)
            os.close(write_end)
    assert_counted(before + netwatch.records_after(), {os.getpid(): (size, 0)}, OWN_NAME)
