"""Attach the probe in a short-lived child and take over its descriptors (see attach_child.py)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys

from netwatch_tui.errors import NetwatchError
from netwatch_tui.probe.layout import MAPS

_MAX_FDS = 250  # below the kernel's SCM_MAX_FD (253)
_TIMEOUT = 300  # a BCC compile under software emulation takes over a minute


class AttachedProbe:
    """Descriptors of an attached probe: its maps by name, and everything else that keeps it attached.
    ``from_cache``: put back from program_cache.py rather than compiled for this run."""

    def __init__(
        self, backend: str, map_fds: dict[str, int], held_fds: list[int], from_cache: bool = False
    ) -> None:
        self.backend = backend
        self.map_fds = map_fds
        self.held_fds = held_fds
        self.from_cache = from_cache

    def close(self) -> None:
        """Close every descriptor: the kernel detaches the programs when the last one goes."""
        for fd in [*self.map_fds.values(), *self.held_fds]:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.map_fds, self.held_fds = {}, []


def _child_error(child: subprocess.Popen[bytes]) -> str:
    assert child.stderr is not None
    lines = child.stderr.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit status {child.returncode}"


def attach_in_child(backend_name: str) -> AttachedProbe:
    """Compile and attach ``backend_name``'s probe in a child process; return its descriptors."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours:
        with theirs:
            child = subprocess.Popen(
                [sys.executable, "-m", "netwatch_tui.probe.attach_child", backend_name, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        ours.settimeout(_TIMEOUT)
        try:
            message, fds, _, _ = socket.recv_fds(ours, 65536, _MAX_FDS)
        except OSError:  # the child died without a word, or hung past the time-out
            message, fds = b"", []
            child.kill()
        child.wait()
    if not message:
        raise NetwatchError(f"the probe loader process failed: {_child_error(child)}")
    header = json.loads(message)
    if "error" in header:
        raise NetwatchError(header["error"])
    names = list(MAPS)
    return AttachedProbe(header["backend"], dict(zip(names, fds[: len(names)])), fds[len(names) :])
