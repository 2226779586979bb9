"""A child process that keeps moving bytes over 127.0.0.1 so a live netwatch shows it with a rate.

    python loopback_traffic.py SECONDS

It connects to itself (a listening socket on 127.0.0.1, an ephemeral port) and sends 16 KiB every
50 ms, reading them back, for at most SECONDS seconds: it stops on its own even if nobody kills it.
"""

from __future__ import annotations

import socket
import sys
import time

CHUNK = 16 * 1024


def main(seconds: float) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname()[:2])
        peer, _ = server.accept()
        with client, peer:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                client.sendall(b"x" * CHUNK)
                received = 0
                while received < CHUNK:
                    received += len(peer.recv(CHUNK - received))
                time.sleep(0.05)


if __name__ == "__main__":
    main(float(sys.argv[1]))
