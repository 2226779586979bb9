"""``netwatch doctor``: every check a live run needs, one line each, with the fix for a failure.

Ends with a calibration: a child process moves known bytes over loopback (TCP and UDP) and
exits; the probe must book exactly those bytes to that child's pid.
"""

from __future__ import annotations

import os
import subprocess
import sys

from netwatch_tui.errors import NetwatchError
from netwatch_tui.probe import environment, program_cache
from netwatch_tui.probe.backends import Backend, choose_backend
from netwatch_tui.probe.environment import Check
from netwatch_tui.probe.handover import attach_in_child
from netwatch_tui.probe.maps import ProbeMaps

CALIBRATION_TCP_BYTES = 100_000
CALIBRATION_UDP_DATAGRAMS = (1200, 800, 1)
# Run in a child, so the bytes are booked to another process, which exits before the read.
_CHILD = f"""
import socket
from netwatch_tui.probe.calibration import tcp_loopback_transfer
tcp_loopback_transfer({CALIBRATION_TCP_BYTES})
receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
receiver.bind(("127.0.0.1", 0))
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for size in {CALIBRATION_UDP_DATAGRAMS}:
    sender.sendto(b"u" * size, receiver.getsockname())
    receiver.recv(65536)
"""
BLIND_SPOTS = (
    "known blind spot: data read with splice() from a TCP socket bypasses sock_recvmsg and is not "
    "counted by the tracepoints backend"
)


def _backend_check(requested: str) -> tuple[Check, Backend | None]:
    try:
        backend = choose_backend(requested)
    except NetwatchError as exc:
        fix = "run it as root" if os.geteuid() else "use a kernel >= 6.3, or one with kprobes"
        return Check("probe backend", False, str(exc), fix), None
    return Check("probe backend", True, f"{backend.name}: {backend.summary}"), backend


def _calibration_check(backend: Backend) -> Check:
    try:
        maps = ProbeMaps(attach_in_child(backend.name))
    except NetwatchError as exc:
        return Check("calibration", False, str(exc), "see the checks above")
    try:
        with subprocess.Popen([sys.executable, "-c", _CHILD], stderr=subprocess.PIPE) as child:
            _, errors = child.communicate(timeout=60)
        readings = [r for r in maps.take_processes() if r.tgid == child.pid]
    finally:
        maps.close()
    if child.returncode != 0:
        last_line = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return Check("calibration", False, f"the calibration child failed: {last_line[0]}", "see that error")
    expected = CALIBRATION_TCP_BYTES + sum(CALIBRATION_UDP_DATAGRAMS)
    counted = sum(r.counts.all.tx for r in readings), sum(r.counts.all.rx for r in readings)
    if counted != (expected, expected):
        return Check(
            "calibration",
            False,
            f"a child moved {expected} bytes each way over loopback; the probe counted "
            f"{counted[0]} sent / {counted[1]} received",
            "report this with the output of `netwatch doctor`",
        )
    return Check("calibration", True, f"a child's {expected} bytes each way over loopback counted exactly")


def run_doctor(requested_backend: str) -> int:
    checks = [
        environment.check_privileges(),
        environment.check_kernel_bpf(),
        environment.check_tracefs(),
        environment.check_bcc(),
        environment.check_headers(),
    ]
    backend_check, backend = _backend_check(requested_backend)
    checks.append(backend_check)
    for check in checks:
        print(check.line(), flush=True)
    healthy = all(check.ok for check in checks)
    if healthy and backend is not None:
        calibration = _calibration_check(backend)
        print(calibration.line(), flush=True)
        healthy = calibration.ok
    if healthy and backend is not None:
        print(f"note  {_cache_state(backend)}")
    if backend is not None and backend.name == "tracepoints":
        print(f"note  {BLIND_SPOTS}")
    return 0 if healthy else 1


def _cache_state(backend: Backend) -> str:
    """Whether later runs will start without compiling (the calibration's compile just filled the cache)."""
    folder = program_cache.directory()
    if folder is None:
        return f"probe cache: off ({program_cache.DIRECTORY_VARIABLE}=off), every run compiles"
    probe_key = program_cache.key(backend)
    if probe_key and program_cache.load(backend, probe_key):
        return f"probe cache: {folder} holds the probe compiled for this kernel, runs start without compiling"
    return f"probe cache: nothing usable in {folder} (unwritable, or not root's alone), every run compiles"
