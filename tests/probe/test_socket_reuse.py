"""A TCP socket's entry is dropped when it closes, but a receive can still complete after a peer's
reset (the data was queued before the RST): the probe then books it on a socket already closed,
making an entry that nothing would drop again. A new socket allocated at the same address must not
inherit it: its bytes would go under the dead socket's ports and loopback flag."""

from __future__ import annotations

import ctypes
import os
import socket
import struct
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
