"""The short-lived process that compiles and attaches the probe, then hands it over and exits.

    python -m netwatch_tui.probe.attach_child BACKEND FD

It compiles BACKEND's program with BCC, attaches it, and sends the descriptors of its maps, programs
and attachments (perf events, raw tracepoint links) over the SOCK_SEQPACKET socket FD (SCM_RIGHTS)
with a JSON header; or a JSON ``{"error": ...}`` line naming the fix. A probe attached that way
lives as long as one descriptor of it is open, so once the parent holds them this process exits,
taking BCC's memory (LLVM: tens of megabytes) with it. Before it exits, it keeps what it compiled
in the probe cache (program_cache.py), from which later runs attach the same program without
starting it at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import socket
import sys
import traceback
from typing import Any

from netwatch_tui.errors import NetwatchError
from netwatch_tui.probe import cache_key, compiled_probe, program_cache
from netwatch_tui.probe.backends import BACKENDS, Backend
from netwatch_tui.probe.layout import MAPS
from netwatch_tui.probe.loader import compile_program


def _attachment_fds(program: Any) -> list[int]:
    fds = [*program.tracepoint_fds.values(), *program.raw_tracepoint_fds.values()]
    for by_function in program.kprobe_fds.values():
        fds.extend(by_function.values())
    return fds


def _map_fds(program: Any) -> list[int]:
    """The maps' descriptors in MAPS order, after checking clang laid them out as layout.py says."""
    fds = []
    for name, (key_type, value_type) in MAPS.items():
        table = program[name.encode()]
        compiled = (ctypes.sizeof(table.Key), ctypes.sizeof(table.Leaf))
        expected = (ctypes.sizeof(key_type), ctypes.sizeof(value_type))
        if compiled != expected:
            raise NetwatchError(
                f"map {name} compiled as {compiled} bytes (key, value), layout.py says {expected}"
            )
        fds.append(table.map_fd)
    return fds


def hand_over(backend_name: str, channel: socket.socket, attach: bool = True) -> None:
    try:
        backend = BACKENDS[backend_name]
        program = compile_program(backend, attach=attach)
        maps = _map_fds(program)
        held = [function.fd for function in program.funcs.values()] + _attachment_fds(program)
        header = {"backend": backend.name, "maps": len(maps), "held": len(held)}
        socket.send_fds(channel, [json.dumps(header).encode()], maps + held)
    except NetwatchError as exc:
        channel.send(json.dumps({"error": str(exc)}).encode())
        return
    if attach:
        _keep_compiled(backend, program, maps)


def _keep_compiled(backend: Backend, program: Any, map_fds: list[int]) -> None:
    """Fill the cache for later runs (the parent already has the probe). Whatever goes wrong here
    costs only the next run's compile, so it is not reported."""
    if program_cache.directory() is None:
        return
    with contextlib.suppress(Exception):
        probe_key = cache_key.key(backend)
        compiled = compiled_probe.record(program, map_fds, backend.kernel_functions) if probe_key else None
        if probe_key and compiled:
            program_cache.store(backend, probe_key, compiled)


def main(argv: list[str]) -> None:
    backend_name, fd = argv
    status = 0
    try:
        hand_over(backend_name, socket.socket(fileno=int(fd)))
        sys.stdout.flush()
    except BaseException:
        traceback.print_exc()  # its last line is what the parent reports
        sys.stderr.flush()
        status = 1
    # Never sys.exit, even after an error: BCC's atexit clean-up would detach the probe the parent holds.
    os._exit(status)


if __name__ == "__main__":
    main(sys.argv[1:])
