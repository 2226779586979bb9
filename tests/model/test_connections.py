from __future__ import annotations

import os
import socket

from netwatch_tui.connections import ConnectionTables, parse_table, socket_inodes, traffic_by_socket
from netwatch_tui.model.counters import SocketCounters
from netwatch_tui.model.snapshot import Traffic

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0 100
   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 2222 1 0 20 4
"""
TCP6 = """  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000001000000:0016 00000000000000000000000001000000:D431 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0
   1: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0
"""  # noqa: E501


def test_parse_ipv4_rows() -> None:
    rows = parse_table(TCP.splitlines(), "tcp")
    assert rows[1111].local == ("127.0.0.1", 8080) and rows[1111].is_listener
    assert rows[2222].remote == ("127.0.0.1", 8080) and rows[2222].state_name() == "ESTABLISHED"


def test_parse_ipv6_rows() -> None:
    rows = parse_table(TCP6.splitlines(), "tcp6")
    assert rows[3333].local == ("::1", 22) and rows[3333].remote == ("::1", 54321)
    assert rows[4444].local == ("127.0.0.1", 80)  # v4-mapped shown as IPv4, as the probe does


def test_counts_and_lists_this_process_sockets() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        accepted, _ = server.accept()
        with accepted, socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as udp:
            udp.bind(("::1", 0))
            assert {s.fileno() for s in (server, client, accepted, udp)} <= set(
                map(int, os.listdir("/proc/self/fd"))
            )
            assert len(socket_inodes(os.getpid())) >= 4
            tables = ConnectionTables([os.getpid()])
            assert tables.count(os.getpid()) == 3  # the listener is not a connection
            local = client.getsockname()
            counted = SocketCounters(2, 6, local, server.getsockname(), Traffic(5, 6), True)
            connections = tables.connections(os.getpid(), traffic_by_socket([counted]))
            states = sorted(c.state for c in connections)
            assert states == ["-", "ESTABLISHED", "ESTABLISHED", "LISTEN"]
            mine = [c for c in connections if c.local == f"127.0.0.1:{local[1]}"]
            assert mine[0].traffic == Traffic(5, 6)
            assert any(c.protocol == "UDP" and c.local.startswith("[::1]:") for c in connections)
