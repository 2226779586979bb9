"""A child process that moves a known number of bytes over loopback, for the probe's tests.

    python traffic_child.py MODE FAMILY ...

Modes (FAMILY is 4 or 6; every address is loopback):
  tcp-server FAMILY PORTFILE RECV SEND     accept one connection, read RECV bytes, write SEND bytes
  tcp-client FAMILY PORT SEND RECV [WAIT]  connect, write SEND bytes, read RECV bytes; with WAIT,
                                           connect first and wait for a line on stdin to transfer
  tcp-sendfile FAMILY PORT SEND RECV       like tcp-client, but send with socket.sendfile()
  udp-server FAMILY PORTFILE RECV SEND     read datagrams until RECV bytes, answer with SEND bytes
  udp-client FAMILY PORT SEND RECV         send SEND bytes in datagrams, read RECV bytes
The child prints "ready" when listening (servers) or connected (WAIT), and exits right after its
transfer, within milliseconds.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile

CHUNK = 1400
HOSTS = {"4": ("127.0.0.1", socket.AF_INET), "6": ("::1", socket.AF_INET6)}


def _chunks(total: int):
    while total > 0:
        size = min(CHUNK, total)
        yield size
        total -= size


def _receive_exactly(sock: socket.socket, total: int) -> None:
    received = 0
    while received < total:
        data = sock.recv(min(65536, total - received))
        if not data:
            raise SystemExit(f"peer closed after {received} of {total} bytes")
        received += len(data)


def _announce(portfile: str, port: int) -> None:
    with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(portfile), delete=False) as handle:
        handle.write(str(port))
    os.replace(handle.name, portfile)


def tcp_server(family: str, portfile: str, receive: int, send: int) -> None:
    host, af = HOSTS[family]
    with socket.socket(af, socket.SOCK_STREAM) as server:
        server.bind((host, 0))
        server.listen()
        _announce(portfile, server.getsockname()[1])
        connection, _ = server.accept()
        with connection:
            _receive_exactly(connection, receive)
            connection.sendall(b"s" * send)
            connection.shutdown(socket.SHUT_WR)
            connection.recv(1)  # wait for the client to close


def tcp_client(family: str, port: int, send: int, receive: int, wait: bool, use_sendfile: bool) -> None:
    host, _ = HOSTS[family]
    with socket.create_connection((host, port), timeout=20) as client:
        if wait:
            print("ready", flush=True)
            sys.stdin.readline()
        if use_sendfile:
            with tempfile.TemporaryFile() as payload:
                payload.write(b"f" * send)
                payload.flush()
                payload.seek(0)
                client.sendfile(payload)
        else:
            client.sendall(b"c" * send)
        _receive_exactly(client, receive)


def udp_server(family: str, portfile: str, receive: int, send: int) -> None:
    host, af = HOSTS[family]
    with socket.socket(af, socket.SOCK_DGRAM) as server:
        server.bind((host, 0))
        server.settimeout(20)
        _announce(portfile, server.getsockname()[1])
        received, peer = 0, None
        while received < receive:
            data, peer = server.recvfrom(65536)
            received += len(data)
        for size in _chunks(send):
            server.sendto(b"s" * size, peer)


def udp_client(family: str, port: int, send: int, receive: int) -> None:
    host, af = HOSTS[family]
    with socket.socket(af, socket.SOCK_DGRAM) as client:
        client.settimeout(20)
        for size in _chunks(send):
            client.sendto(b"c" * size, (host, port))
        received = 0
        while received < receive:
            received += len(client.recv(65536))


def main(argv: list[str]) -> None:
    mode, family, where, first, second = argv[:5]
    extra = argv[5:]
    if mode == "tcp-server":
        tcp_server(family, where, int(first), int(second))
    elif mode in ("tcp-client", "tcp-sendfile"):
        tcp_client(family, int(where), int(first), int(second), "WAIT" in extra, mode == "tcp-sendfile")
    elif mode == "udp-server":
        udp_server(family, where, int(first), int(second))
    elif mode == "udp-client":
        udp_client(family, int(where), int(first), int(second))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
