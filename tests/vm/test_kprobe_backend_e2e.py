"""The kprobe backend end to end, on a kernel that has kprobes (Debian 12's 6.1, under qemu).

``tests/vm/run-kernel-matrix.sh`` boots that kernel and runs this module inside it. On any kernel
that picks the tracepoints backend (this machine's 6.18 has no kprobes at all) it skips.

One netwatch runs for the whole module: under software emulation each start compiles the BPF
program with BCC again, which is the slow part of a run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch_tui.errors import NetwatchError
from netwatch_tui.probe.attach import attach_probe
from netwatch_tui.probe.backends import KPROBES, choose_backend
from netwatch_tui.probe.handover import AttachedProbe, attach_in_child
from netwatch_tui.probe.maps import ProbeMaps
from tests.bpf_programs import program_tags_held_by
from tests.markers import bpf_unavailable_reason
from tests.netwatch_run import ROOT, NetwatchRun, netwatch_command, stop_child
from tests.transfers import (
    OWN_NAME,
    SHORT_LIVED_TRANSFERS,
    assert_counted,
    server_and_client,
    tcp_peek_then_read,
)

GUEST_ONLY = "runs inside the Debian 6.1 VM via tests/vm/run-kernel-matrix.sh"
# A BCC compile takes about a minute under emulation, several on a busy host.
START_TIMEOUT = 600.0


def _why_not_here() -> str | None:
    reason = bpf_unavailable_reason()
    if reason is not None:
        return f"{GUEST_ONLY} ({reason})"
    try:
        backend = choose_backend()
    except NetwatchError as exc:
        return f"{GUEST_ONLY} ({exc})"
    if backend is not KPROBES:
        return f"{GUEST_ONLY} (this kernel picks the {backend.name} backend)"
    return None


_REASON = _why_not_here()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


@pytest.fixture(scope="module")
def netwatch() -> Iterator[NetwatchRun]:
    run = NetwatchRun("--format", "json", "--interval", "0.3")
    first = run.next_record(timeout=START_TIMEOUT)  # attached and calibrated
    assert first["backend"] == "kprobes", first
    yield run
    status, errors = run.stop()
    assert status == 0, errors


def test_doctor_passes_with_the_kprobes_backend() -> None:
    doctor = subprocess.run(
        netwatch_command("doctor"), cwd=ROOT, capture_output=True, text=True, timeout=START_TIMEOUT
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "ok    probe backend: kprobes" in doctor.stdout
    assert "ok    calibration" in doctor.stdout


@pytest.mark.parametrize(("kind", "family", "up", "down"), SHORT_LIVED_TRANSFERS)
def test_short_lived_transfers_are_exact(
    netwatch: NetwatchRun, tmp_path: Path, kind: str, family: str, up: int, down: int
) -> None:
    """Both children send, receive and exit. Their last bytes are reported once, whether netwatch
    read them while the child was alive or from the exited map."""
    netwatch.drain()  # older intervals: not this test's
    server, client = server_and_client(tmp_path, kind, family, up, down)
    assert stop_child(client) == 0
    assert stop_child(server) == 0
    records = netwatch.records_after()
    assert {record["backend"] for record in records} == {"kprobes"}
    assert_counted(records, {client.pid: (up, down), server.pid: (down, up)})
    last_seen = {p["pid"]: p for r in records for p in r["processes"]}
    for pid, (tx, rx) in ((client.pid, (up, down)), (server.pid, (down, up))):
        assert (last_seen[pid]["tx_total"], last_seen[pid]["rx_total"]) == (tx, rx)


def test_tcp_msg_peek_reads_are_not_counted(netwatch: NetwatchRun) -> None:
    """tcp_cleanup_rbuf also runs for MSG_PEEK reads; the tcp_recvmsg entry probe marks them."""
    netwatch.drain()  # older intervals: not this test's
    tcp_peek_then_read(5000)
    assert_counted(netwatch.records_after(), {os.getpid(): (5000, 5000)}, OWN_NAME)


def test_udp_msg_peek_reads_are_not_counted(netwatch: NetwatchRun) -> None:
    netwatch.drain()  # older intervals: not this test's
    with (
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as receiver,
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sender,
    ):
        receiver.bind(("::1", 0))
        receiver.settimeout(10)
        sender.sendto(b"u" * 1234, receiver.getsockname())
        assert len(receiver.recv(4096, socket.MSG_PEEK)) == 1234
        assert len(receiver.recv(4096)) == 1234
    assert_counted(netwatch.records_after(), {os.getpid(): (1234, 1234)}, OWN_NAME)


def test_msg_waitall_read_in_pieces_is_counted_once(netwatch: NetwatchRun) -> None:
    """A MSG_WAITALL read that has to wait calls tcp_cleanup_rbuf(sk, copied so far) before it
    sleeps and again with the final total: only the total may be counted."""
    halves = (30_000, 20_000)
    netwatch.drain()  # older intervals: not this test's
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        accepted, _ = server.accept()

        def send_in_two_halves() -> None:
            client.sendall(b"w" * halves[0])
            time.sleep(0.5)  # the reader has taken the first half and sleeps for the rest
            client.sendall(b"w" * halves[1])

        sender = threading.Thread(target=send_in_two_halves)
        with accepted:  # blocking: a timeout makes the socket non-blocking and recv() return early
            sender.start()
            data = accepted.recv(sum(halves), socket.MSG_WAITALL)
            sender.join(20)
        assert len(data) == sum(halves)
    assert_counted(netwatch.records_after(), {os.getpid(): (sum(halves), sum(halves))}, OWN_NAME)


def test_process_that_lives_for_milliseconds_is_counted(netwatch: NetwatchRun) -> None:
    """bash sends one datagram and exits at once (a Python child takes seconds under emulation)."""
    payload = "short-lived"
    netwatch.drain()  # older intervals: not this test's
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(20)
        script = 'printf %s "$1" > "/dev/udp/127.0.0.1/$2"'
        port = str(receiver.getsockname()[1])
        sender = subprocess.Popen(["bash", "-c", script, "bash", payload, port], text=True)
        assert stop_child(sender) == 0
        assert receiver.recv(4096) == payload.encode()
    assert_counted(netwatch.records_after(), {sender.pid: (len(payload), 0)}, "bash")


def test_sendfile_is_counted(netwatch: NetwatchRun, tmp_path: Path) -> None:
    """sendfile() on TCP reaches tcp_sendpage before Linux 6.5, not tcp_sendmsg."""
    netwatch.drain()  # older intervals: not this test's
    server, client = server_and_client(tmp_path, "tcp", "4", 777_777, 10, client_mode="tcp-sendfile")
    assert stop_child(client) == 0
    assert stop_child(server) == 0
    records = netwatch.records_after()
    assert_counted(records, {client.pid: (777_777, 10), server.pid: (10, 777_777)})


def test_the_cached_kprobe_probe_is_the_compiled_one_and_counts_exactly(netwatch: NetwatchRun) -> None:
    """A compile fills the cache (run-kernel-matrix.sh points NETWATCH_PROBE_CACHE at the guest's
    writable /tmp); put back through the kprobe PMU, the probe is the very program BCC compiled,
    and it counts. (The module's netwatch, started after the doctor's compile, runs from it too.)"""
    assert os.environ.get("NETWATCH_PROBE_CACHE", "").startswith("/tmp/")
    compiled = attach_in_child(KPROBES.name)
    compiled_tags = program_tags_held_by("self")
    compiled_attachments = len(_perf_events(compiled))
    compiled.close()
    probe = attach_probe(KPROBES)
    maps = ProbeMaps(probe)
    try:
        assert probe.from_cache
        assert program_tags_held_by("self") == compiled_tags == program_tags_held_by(netwatch.process.pid)
        assert len(_perf_events(probe)) == compiled_attachments == 18  # 15 kprobes, 3 tracepoints
        maps.take_processes()
        tcp_peek_then_read(5000)
        readings = [r for r in maps.take_processes() if r.tgid == os.getpid()]
        counted = sum(r.counts.all.tx for r in readings), sum(r.counts.all.rx for r in readings)
        assert counted == (5000, 5000)
    finally:
        maps.close()


def _perf_events(probe: AttachedProbe) -> list[int]:
    return [fd for fd in probe.held_fds if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[perf_event]"]
