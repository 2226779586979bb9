"""CONNS follows a process's sockets at once when the kernel sees them change, even when its number of
open fds stays the same (which alone would wait for the full recount, every 2 minutes)."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time

from tests.markers import requires_bpf
from tests.netwatch_run import NetwatchRun

pytestmark = requires_bpf

# All its sockets are made up front. It sends a heartbeat byte every 0.1 s (so that it is in every
# JSON record); on "connect" it connects its spare UDP socket and uses it; on "dial" it connects its
# spare TCP socket and sends nothing; it exits on "end".
_CHILD = """
import select, socket, sys
server, heartbeat_to = ("127.0.0.1", int(sys.argv[1])), ("127.0.0.1", int(sys.argv[2]))
spare = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
spare_tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
heartbeat = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); heartbeat.connect(heartbeat_to)
tcp = socket.create_connection(server); tcp.send(b"x" * 100)
print("ready", flush=True)
while True:
    heartbeat.send(b"h")
    if select.select([sys.stdin], [], [], 0.1)[0]:
        command = sys.stdin.readline().strip()
        if command == "connect":
            spare.connect(heartbeat_to); spare.send(b"y" * 10)
        elif command == "dial":
            spare_tcp.connect(server)
        elif command in ("end", ""):
            break
"""
WITHIN_SECONDS = 3.0


def _conns_soon(run: NetwatchRun, pid: int, expected: int) -> float:
    """Seconds until netwatch shows ``pid`` with ``expected`` connections; fails after WITHIN_SECONDS."""
    start = time.monotonic()
    shown = None
    while time.monotonic() - start < WITHIN_SECONDS:
        for process in run.next_record()["processes"]:
            if process["pid"] == pid:
                shown = process["conns"]
        if shown == expected:
            return time.monotonic() - start
    raise AssertionError(f"conns {shown}, expected {expected} within {WITHIN_SECONDS} s")


def test_conns_follow_connects_and_a_reset_without_fd_changes() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as heartbeat_sink,
    ):
        heartbeat_sink.bind(("127.0.0.1", 0))
        ports = (str(server.getsockname()[1]), str(heartbeat_sink.getsockname()[1]))
        run = NetwatchRun("--format", "json", "--interval", "0.3")
        run.next_record(timeout=60)  # attached: the child's sockets are seen from their first byte
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, *ports], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            accepted, _ = server.accept()
            assert child.stdout.readline() == "ready\n"
            _conns_soon(run, child.pid, 2)  # the TCP connection and the heartbeat; the spare is unbound

            child.stdin.write("connect\n")
            child.stdin.flush()
            _conns_soon(run, child.pid, 3)

            # A TCP connection that moves no byte: the kernel sees the connect() itself.
            child.stdin.write("dial\n")
            child.stdin.flush()
            _conns_soon(run, child.pid, 4)

            # The peer resets the first TCP connection: the fd stays open, the socket leaves the table.
            accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            accepted.close()
            _conns_soon(run, child.pid, 3)
        finally:
            child.stdin.write("end\n")
            child.stdin.close()
            child.wait(timeout=10)
            status, errors = run.stop()
    assert (status, errors) == (0, "")
