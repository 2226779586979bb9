"""A load of many processes holding open connections: N processes with C loopback connections each,
each sending a few bytes per connection every second, for a bounded time.

    python -m bench.many_connections --processes 1000 --connections 2 --seconds 30

One server process accepts and drains every connection. Children are forked from one parent (so
they share its memory) and die with it; the parent stops them all by pid when the time is up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import signal
import socket
import sys
import time
from typing import Callable

MESSAGE = b"m" * 64


def serve(listener: socket.socket, deadline: float) -> None:
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            if key.fileobj is listener:
                connection, _ = listener.accept()
                connection.setblocking(False)
                selector.register(connection, selectors.EVENT_READ)
                continue
            try:
                data = key.fileobj.recv(65536)  # type: ignore[union-attr]
            except OSError:
                data = b""
            if not data:
                selector.unregister(key.fileobj)
                key.fileobj.close()  # type: ignore[union-attr]


def client(address: tuple[str, int], connections: int, period: float, deadline: float) -> None:
    sockets = [socket.create_connection(address) for _ in range(connections)]
    while time.monotonic() < deadline:
        for sock in sockets:
            sock.send(MESSAGE)
        time.sleep(period)
    os._exit(0)


def fork(function: Callable[..., None], *args: object) -> int:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            function(*args)
        finally:
            os._exit(0)
    return pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--period", type=float, default=1.0, help="seconds between a client's sends")
    options = parser.parse_args()
    deadline = time.monotonic() + options.seconds
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))  # so `finally` stops the children
    listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
    children = [fork(serve, listener, deadline + 2)]
    address = listener.getsockname()
    for _ in range(options.processes):
        children.append(fork(client, address, options.connections, options.period, deadline))
    print("ready", flush=True)
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            os.waitpid(pid, 0)
    sys.exit(0)


if __name__ == "__main__":
    main()
