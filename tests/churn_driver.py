"""Process churn for the hardening tests: short-lived processes, each moving known bytes, for a while.

    python churn_driver.py RATE SECONDS

Forks RATE children a second for SECONDS (fork: a new process costs about a millisecond, not a
Python start-up). Each child connects to the driver's server on 127.0.0.1, sends its own number of
bytes, reads back as many, and exits at once. The driver prints one JSON line per child,
``{"pid": ..., "bytes": ...}``, then ``{"done": true}``; it stops every child it started by pid.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time


def echo_server(listener: socket.socket, stop: threading.Event) -> None:
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        threading.Thread(target=_echo, args=(connection,), daemon=True).start()


def _echo(connection: socket.socket) -> None:
    with connection:
        while data := connection.recv(65536):
            connection.sendall(data)


def child(address: tuple[str, int], size: int) -> None:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"c" * size)
        sock.shutdown(socket.SHUT_WR)
        received = 0
        while received < size:
            data = sock.recv(65536)
            if not data:
                break
            received += len(data)
    os._exit(0 if received == size else 1)


def main(rate: int, seconds: float) -> int:
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    stop = threading.Event()
    threading.Thread(target=echo_server, args=(listener, stop), daemon=True).start()
    children: dict[int, int] = {}
    start = time.monotonic()
    spawned = 0
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * rate) + 1
        while spawned < due:
            size = 1000 + (spawned * 7919) % 50_000
            pid = os.fork()
            if pid == 0:
                child(listener.getsockname(), size)
            children[pid] = size
            spawned += 1
        time.sleep(0.005)
    failures = 0
    deadline = time.monotonic() + 30
    for pid in children:
        while True:
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                failures += status != 0
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                failures += 1
                break
            time.sleep(0.01)
    stop.set()
    for pid, size in children.items():
        print(json.dumps({"pid": pid, "bytes": size}))
    print(json.dumps({"done": True, "failures": failures}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), float(sys.argv[2])))
