"""Known transfers for the end-to-end tests, and the check that netwatch counted them exactly."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import psutil

from tests.netwatch_run import totals_by_pid, traffic_child, wait_for_file

OWN_NAME = psutil.Process().name()
# (kind, family, bytes up, bytes down): TCP and UDP, IPv4 and IPv6, both directions, odd sizes.
SHORT_LIVED_TRANSFERS = [
    ("tcp", "4", 1_000_000, 123_457),
    ("tcp", "6", 654_321, 1_000_001),
    ("udp", "4", 50_000, 20_001),
    ("udp", "6", 30_001, 45_000),
]


def server_and_client(
    tmp_path: Path, kind: str, family: str, up: int, down: int, client_mode: str | None = None
) -> tuple[subprocess.Popen[str], subprocess.Popen[str]]:
    portfile = tmp_path / f"{kind}{family}.port"
    server = traffic_child(f"{kind}-server", family, str(portfile), str(up), str(down))
    port = wait_for_file(portfile)
    client = traffic_child(client_mode or f"{kind}-client", family, port, str(up), str(down))
    return server, client


def assert_counted(
    records: list[dict[str, Any]], expected: dict[int, tuple[int, int]], name: str = "python"
) -> None:
    """Each pid's bytes over ``records`` are exactly ``expected``, under a name starting with ``name``."""
    totals = totals_by_pid(records)
    for pid, counts in expected.items():
        assert totals.get(pid) == counts, f"pid {pid}: counted (tx, rx) {totals.get(pid)}, moved {counts}"
    for record in records:
        for process in record["processes"]:
            if process["pid"] in expected:
                assert process["name"].startswith(name), process
                assert process["user"] == "root"


def tcp_peek_then_read(size: int) -> None:
    """Send ``size`` bytes to ourselves over TCP, peek at all of them (MSG_PEEK), then read them."""
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        accepted, _ = server.accept()
        with accepted:
            client.sendall(b"p" * size)
            peeked = 0
            while peeked < size:
                peeked = len(accepted.recv(size, socket.MSG_PEEK))
            received = 0
            while received < size:
                received += len(accepted.recv(size))
