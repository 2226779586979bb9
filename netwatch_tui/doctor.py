"""``netwatch doctor``: every check a live run needs, one line each, with the fix for a failure.

Ends with a calibration: a child process moves known bytes over loopback (TCP and UDP) and
exits; the probe must book exactly those bytes to that child's pid.
"""

from __future__ import annotations

import os
import subprocess
import sys

from netwatch_tui.errors import NetwatchError
from netwatch_tui.probe import cache_key, environment, program_cache
from netwatch_tui.probe.attach import attach_probe
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


def _calibration_check(maps: ProbeMaps, name: str = "calibration") -> Check:
    """The calibration child's bytes, counted exactly by ``maps``' probe (closed afterwards)."""
    try:
        with subprocess.Popen([sys.executable, "-c", _CHILD], stderr=subprocess.PIPE) as child:
            _, errors = child.communicate(timeout=60)
        readings = [r for r in maps.take_processes() if r.tgid == child.pid]
    finally:
        maps.close()
    if child.returncode != 0:
        last_line = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return Check(name, False, f"the calibration child failed: {last_line[0]}", "see that error")
    expected = CALIBRATION_TCP_BYTES + sum(CALIBRATION_UDP_DATAGRAMS)
    counted = sum(r.counts.all.tx for r in readings), sum(r.counts.all.rx for r in readings)
    if counted != (expected, expected):
        return Check(
            name,
            False,
            f"a child moved {expected} bytes each way over loopback; the probe counted "
            f"{counted[0]} sent / {counted[1]} received",
            "report this with the output of `netwatch doctor`",
        )
    return Check(name, True, f"a child's {expected} bytes each way over loopback counted exactly")


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
        try:
            calibration = _calibration_check(ProbeMaps(attach_in_child(backend.name)))
        except NetwatchError as exc:
            calibration = Check("calibration", False, str(exc), "see the checks above")
        print(calibration.line(), flush=True)
        healthy = calibration.ok
    if healthy and backend is not None:
        cache = _cache_check(backend)
        print(cache.line() if isinstance(cache, Check) else f"note  {cache}", flush=True)
        healthy = not isinstance(cache, Check) or cache.ok
    if backend is not None and backend.name == "tracepoints":
        print(f"note  {BLIND_SPOTS}")
    return 0 if healthy else 1


def _cache_check(backend: Backend) -> Check | str:
    """The probe put back from the cache (which the compile above filled), calibrated like the
    compiled one; or, when there is none, a note saying why every run will compile."""
    folder = program_cache.directory()
    if folder is None:
        return f"probe cache: off ({program_cache.DIRECTORY_VARIABLE}=off), every run compiles"
    if cache_key.key(backend) is None:
        return "probe cache: cannot read what the compiled probe depends on, every run compiles"
    maps = ProbeMaps(attach_probe(backend))
    if not maps.from_cache:
        maps.close()
        unusable = "not writable, or not root's alone"
        return f"probe cache: nothing usable in {folder} ({unusable}), every run compiles"
    check = _calibration_check(maps, "calibration, probe from the cache")
    if not check.ok:
        program_cache.forget(backend)
        return check._replace(fix="report this; its entry was removed, so runs compile again")
    return check._replace(detail=f"{check.detail}; runs start from {folder} without compiling")
