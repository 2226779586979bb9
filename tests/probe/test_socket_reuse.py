"""Socket addresses are reused, and a new socket must inherit nothing of a dead one's.

A TCP socket's entry is dropped when it closes, but a receive can still complete after a peer's
reset (the data was queued before the RST): the probe then books it on a socket already closed,
making an entry that nothing would drop again; the new socket's bytes would go under the dead
socket's ports and loopback flag. A UDP socket closes unseen: its bytes may still be in slots."""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from netwatch_tui.model.snapshot import Traffic
from netwatch_tui.probe.attach import attach_probe
from netwatch_tui.probe.backends import choose_backend
from netwatch_tui.probe.bpf_syscall import read_all
from netwatch_tui.probe.layout import SockValue
from netwatch_tui.probe.maps import ProbeMaps
from tests.markers import requires_bpf

pytestmark = requires_bpf
ATTEMPTS = 200  # new connections made until one is allocated where the dead socket was
ALLOWED = sorted(os.sched_getaffinity(0))  # before the fixture pins this process to one of them
SENT = 321


@pytest.fixture
def probe() -> Iterator[ProbeMaps]:
    """The real probe, attached in this process's stead, with this process on one CPU: a freed
    socket's memory is then soon handed out again (slab allocators reuse per CPU, newest first)."""
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    maps = ProbeMaps(attach_probe(choose_backend("auto")))
    try:
        yield maps
    finally:
        maps.close()
        os.sched_setaffinity(0, cpus)


def _entries(maps: ProbeMaps) -> dict[int, SockValue]:
    return dict(read_all(maps._fds["socks"], ctypes.c_uint64, SockValue))


def _dead_socket_entry(maps: ProbeMaps, server: socket.socket) -> int:
    """Make a client socket receive after its peer's reset, close it; the address of its entry."""
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    port = client.getsockname()[1]
    peer.send(b"r" * 1000)
    client.send(b"s")  # the client's entry exists before the reset
    (address,) = [key for key, value in _entries(maps).items() if value.lport == port]
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()  # RST: the client's socket goes to TCP_CLOSE, and its entry is dropped
    assert address not in _entries(maps)
    assert len(client.recv(4096)) == 1000  # queued before the reset: booked on the closed socket
    with pytest.raises(ConnectionResetError):
        client.recv(4096)
    client.close()
    assert address in _entries(maps), "the late receive made no entry: nothing left to inherit"
    return address


def test_a_new_socket_at_a_dead_sockets_address_starts_afresh(probe: ProbeMaps) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_server(("127.0.0.1", 0)) as other:
        dead = _dead_socket_entry(probe, server)
        for _ in range(ATTEMPTS):
            client = socket.create_connection(other.getsockname())
            peer, _ = other.accept()
            with client, peer:
                client.send(b"n" * SENT)
                assert peer.recv(SENT, socket.MSG_WAITALL) == b"n" * SENT
                ends = {
                    (client.getsockname(), client.getpeername()): Traffic(SENT, 0),
                    (peer.getsockname(), peer.getpeername()): Traffic(0, SENT),
                }
                booked = {(s.local, s.remote): s for s in probe.sockets()}
                for end, traffic in ends.items():
                    assert end in booked and booked[end].traffic == traffic and booked[end].loopback, (
                        f"{end}: its bytes went elsewhere (to the dead socket's entry?)"
                    )
                at_dead = _entries(probe).get(dead)
                if at_dead is None or at_dead.lport != 0:  # one of the two was allocated there
                    return
        pytest.fail(f"no new socket was allocated at the dead socket's address in {ATTEMPTS} connections")


def test_a_new_udp_socket_at_a_closed_ones_address_gets_none_of_its_bytes(probe: ProbeMaps) -> None:
    """A UDP socket closes unseen (no hook): its bytes may still sit in socket slots when a new one is
    allocated at its address. Neither the slot the new socket then misses on its first CPU, nor one
    on another CPU, may add them to the new socket's entry."""
    if len(ALLOWED) < 2:
        pytest.skip("needs two CPUs: the closed socket's slot must be on another CPU than the new one's")
    first_cpu, other_cpu = ALLOWED[0], ALLOWED[1]
    os.sched_setaffinity(0, {first_cpu})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver, contextlib.ExitStack() as stack:
        receiver.bind(("127.0.0.1", 0))
        target = receiver.getsockname()
        before = {key: (value.lport, value.dport) for key, value in _entries(probe).items()}
        old_ports = set()
        for _ in range(ATTEMPTS):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as old:
                old.connect(target)
                old.send(b"o" * 1000)  # into this CPU's slot for its address, unflushed
                old_ports.add(old.getsockname()[1])
        closed = {
            k
            for k, v in _entries(probe).items()
            if v.lport in old_ports and before.get(k) != (v.lport, v.dport)
        }
        time.sleep(0.5)  # UDP sockets are freed after an RCU grace period: then their memory is reused
        reused = None
        for _ in range(ATTEMPTS):
            new = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))  # on the first CPU
            new.connect(target)
            os.sched_setaffinity(0, {other_cpu})
            new.send(b"n" * 7)  # sent on the other CPU: the closed socket's bytes stay in the first's slot
            os.sched_setaffinity(0, {first_cpu})
            entries = _entries(probe)
            if any(entries[k].lport == new.getsockname()[1] for k in closed if k in entries):
                reused = new
                break
        if reused is None:
            pytest.fail(f"no new socket was allocated at a closed socket's address in {ATTEMPTS} tries")
        end = (reused.getsockname(), reused.getpeername())
        assert {(s.local, s.remote): s.traffic for s in probe.sockets()}[end] == Traffic(7, 0)
        reused.send(b"n" * 3)  # on the first CPU: it misses the slot that holds the closed socket's bytes
        assert {(s.local, s.remote): s.traffic for s in probe.sockets()}[end] == Traffic(10, 0)
