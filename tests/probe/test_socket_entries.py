"""The per-socket entries the detail view lists: addresses, ports, protocol and bytes, as read from the
kernel's map (probe/maps.py, ProbeMaps.sockets), for IPv4, IPv6 and IPv4-mapped IPv6 sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from netwatch_tui.model.snapshot import Traffic
from netwatch_tui.probe.attach import attach_probe
from netwatch_tui.probe.backends import choose_backend
from netwatch_tui.probe.maps import ProbeMaps
from tests.markers import requires_bpf

pytestmark = requires_bpf
UP, DOWN = 1234, 567
IPPROTO_TCP = 6


@pytest.fixture(scope="module")
def probe() -> Iterator[ProbeMaps]:
    maps = ProbeMaps(attach_probe(choose_backend("auto")))
    try:
        yield maps
    finally:
        maps.close()


def _receive(sock: socket.socket, size: int) -> None:
    received = 0
    while received < size:
        chunk = sock.recv(size - received)
        assert chunk, "the peer closed early"
        received += len(chunk)


@pytest.mark.parametrize(
    ("family", "listen", "connect", "shown"),
    [
        (socket.AF_INET, "127.0.0.1", "127.0.0.1", "127.0.0.1"),
        (socket.AF_INET6, "::1", "::1", "::1"),
        (socket.AF_INET6, "::", "::ffff:127.0.0.1", "127.0.0.1"),  # shown as the IPv4 address it maps
    ],
)
def test_a_connections_two_sockets_with_their_addresses_and_exact_bytes(
    probe: ProbeMaps, family: socket.AddressFamily, listen: str, connect: str, shown: str
) -> None:
    with socket.create_server((listen, 0), family=family, dualstack_ipv6=listen == "::") as server:
        port = server.getsockname()[1]
        with socket.socket(family, socket.SOCK_STREAM) as client:
            client.connect((connect, port))
            accepted, _ = server.accept()
            with accepted:
                client.sendall(b"u" * UP)
                _receive(accepted, UP)
                accepted.sendall(b"d" * DOWN)
                _receive(client, DOWN)
                client_port = client.getsockname()[1]
                entries = {(s.local, s.remote): s for s in probe.sockets()}
    outgoing = entries[((shown, client_port), (shown, port))]
    incoming = entries[((shown, port), (shown, client_port))]
    assert (outgoing.traffic, incoming.traffic) == (Traffic(UP, DOWN), Traffic(DOWN, UP))
    for entry in (outgoing, incoming):
        assert (entry.family, entry.protocol, entry.loopback) == (family, IPPROTO_TCP, True)
