"""The probe's per-CPU slots (probe/maps.py, "Slots"): bytes are exact whichever way they went, through
a slot on either CPU, through the hash maps when a slot is taken, or handed from slot to map."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch_tui.model.snapshot import Traffic
from netwatch_tui.probe.attach import attach_probe
from netwatch_tui.probe.backends import choose_backend
from netwatch_tui.probe.maps import ProbeMaps
from tests.markers import requires_bpf
from tests.netwatch_run import NetwatchRun, stop_child, totals_by_pid
from tests.transfers import SHORT_LIVED_TRANSFERS, assert_counted, server_and_client

pytestmark = requires_bpf
CPUS = sorted(os.sched_getaffinity(0))
CHUNK = 1000
UNCONNECTED = ("0.0.0.0", 0)
CHUNKS = 60

# Sends CHUNKS chunks to itself over TCP loopback, moving to the next CPU before each one; prints
# "half" after half of them and waits for a line on stdin, then sends the rest and exits.
_WANDERER = f"""
import os, socket, sys
cpus = {CPUS!r}
server = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(server.getsockname())
accepted, _ = server.accept()
def move(count, start):
    for i in range(start, start + count):
        os.sched_setaffinity(0, {{cpus[i % len(cpus)]}})
        client.sendall(b"w" * {CHUNK})
        got = 0
        while got < {CHUNK}:
            got += len(accepted.recv({CHUNK} - got))
move({CHUNKS // 2}, 0)
print("half", flush=True)
sys.stdin.readline()
move({CHUNKS // 2}, {CHUNKS // 2})
"""


def _netwatch(**sizes: int) -> NetwatchRun:
    """netwatch --format json, its maps sized by NETWATCH_<name> for each of ``sizes``."""
    for name, entries in sizes.items():
        os.environ[f"NETWATCH_{name}"] = str(entries)
    try:
        run = NetwatchRun("--format", "json", "--interval", "0.3")
    finally:
        for name in sizes:
            del os.environ[f"NETWATCH_{name}"]
    run.next_record(timeout=60)  # attached and calibrated
    return run


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to move between")
def test_a_process_on_every_cpu_is_counted_whole_while_alive_and_at_exit() -> None:
    run = _netwatch()
    child = subprocess.Popen(
        [sys.executable, "-c", _WANDERER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline() == "half\n"
        half = CHUNKS // 2 * CHUNK
        # Alive: its bytes sit in its slots on both CPUs, and are summed.
        records = run.records_after()
        assert totals_by_pid(records).get(child.pid) == (half, half)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert stop_child(child) == 0
        # Gone: the kernel folded every CPU's slot into its exit record.
        records += run.records_after()
        assert totals_by_pid(records).get(child.pid) == (2 * half, 2 * half)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        status, errors = run.stop()
    assert (status, errors) == (0, "")


def test_transfers_are_exact_when_every_process_and_socket_shares_one_slot(tmp_path: Path) -> None:
    """One slot per CPU: the processes after the first go through the hash map, and sockets take the
    slot from one another on every event, each time handing its bytes to the socket's entry."""
    run = _netwatch(PROC_SLOTS=1, SOCK_SLOTS=1)
    try:
        for kind, family, up, down in SHORT_LIVED_TRANSFERS:
            before = run.drain()
            server, client = server_and_client(tmp_path, kind, family, up, down)
            assert stop_child(client) == 0
            assert stop_child(server) == 0
            assert_counted(before + run.records_after(), {client.pid: (up, down), server.pid: (down, up)})
    finally:
        status, errors = run.stop()
    assert (status, errors) == (0, "")


@pytest.fixture(params=[1, 512], ids=["one socket slot", "default socket slots"])
def probe(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProbeMaps]:
    """The real probe, attached in this process's stead (as netwatch's worker does)."""
    monkeypatch.setenv("NETWATCH_SOCK_SLOTS", str(request.param))
    maps = ProbeMaps(attach_probe(choose_backend("auto")))
    try:
        yield maps
    finally:
        maps.close()


@pytest.fixture
def one_cpu() -> Iterator[None]:
    """This process on one CPU: its sockets then compete for that CPU's slots."""
    os.sched_setaffinity(0, {CPUS[0]})
    try:
        yield
    finally:
        os.sched_setaffinity(0, CPUS)


def _udp_pair() -> tuple[socket.socket, socket.socket]:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.connect(receiver.getsockname())
    return sender, receiver


def _traffic_of(maps: ProbeMaps, sock: socket.socket, remote: tuple[str, int]) -> Traffic:
    """The probe's bytes for ``sock``, found by its addresses as the probe saw them first."""
    local = sock.getsockname()
    found = [s.traffic for s in maps.sockets() if (s.local, s.remote) == (local, remote)]
    assert len(found) == 1, f"{local} -> {remote}: {len(found)} entries"
    return found[0]


@pytest.mark.usefixtures("one_cpu")
def test_per_socket_bytes_are_exact_across_slot_hand_overs(probe: ProbeMaps) -> None:
    pairs = [_udp_pair() for _ in range(3)]
    sizes = [101, 1400, 7]
    try:
        for round_number in range(20):
            for (sender, receiver), size in zip(pairs, sizes):
                sender.send(b"s" * (size + round_number))
                receiver.recv(65536)
        sent = [sum(size + r for r in range(20)) for size in sizes]
        for (sender, receiver), total in zip(pairs, sent):
            assert _traffic_of(probe, sender, receiver.getsockname()) == Traffic(total, 0)
            assert _traffic_of(probe, receiver, UNCONNECTED) == Traffic(0, total)
    finally:
        for sender, receiver in pairs:
            sender.close()
            receiver.close()


def test_a_forgotten_process_starts_afresh(probe: ProbeMaps) -> None:
    """netwatch forgets its own calibration bytes: its slots are freed with its entry, so what it moves
    afterwards is counted (under a new identity), not lost in a slot nobody reads."""
    pid = os.getpid()
    first, second = 3000, 5000
    sender, receiver = _udp_pair()
    with sender, receiver:
        sender.send(b"f" * first)
        receiver.recv(65536)
        before = {r.identity: r for r in probe.take_processes() if r.tgid == pid}
        assert [r.counts.all for r in before.values()] == [Traffic(first, first)]
        probe.forget_processes([pid])
        sender.send(b"g" * second)
        receiver.recv(65536)
        after = [r for r in probe.take_processes() if r.tgid == pid]
    assert [r.counts.all for r in after] == [Traffic(second, second)]
    assert after[0].identity not in before


def test_a_process_read_again_and_again_while_its_slot_grows_is_exact(
    probe: ProbeMaps, one_cpu: None
) -> None:
    """On one CPU a process's bytes go to its slot and its entry stays the same: each read adds the
    slot's growth to the reading kept from the read before (maps.moved_slots), exactly."""
    pid = os.getpid()
    sender, receiver = _udp_pair()
    sent = 0
    with sender, receiver:
        for size in (1000, 2000, 3000, 4000):
            sender.send(b"s" * size)
            receiver.recv(65536)
            sent += size
            (reading,) = [r for r in probe.take_processes() if r.tgid == pid]
            assert reading.counts.all == Traffic(sent, sent)
