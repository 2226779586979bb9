"""More processes than the kernel's process map holds: the loss is counted and said, not silent.

The map is made small with NETWATCH_PROC_ENTRIES (the knob a user on a huge machine would turn up).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.markers import requires_bpf
from tests.netwatch_run import ROOT, NetwatchRun, totals_by_pid

pytestmark = requires_bpf
ENTRIES = 8
SENDERS = 20
# Each sender moves 3,000 bytes over a UDP socket pair of its own, then exits.
_SENDER = """
import socket
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", 0))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.connect(a.getsockname())
b.send(b"x" * 3000); a.recv(4096)
"""


def _run_with_map_size(name: str, entries: int) -> NetwatchRun:
    """netwatch --format json with one of its maps sized by NETWATCH_<name>."""
    os.environ[f"NETWATCH_{name}"] = str(entries)
    try:
        return NetwatchRun("--format", "json", "--interval", "0.3")
    finally:
        del os.environ[f"NETWATCH_{name}"]


def test_a_full_process_map_is_reported() -> None:
    run = _run_with_map_size("PROC_ENTRIES", ENTRIES)
    try:
        run.next_record(timeout=60)
        # Long-lived senders: their entries stay until they exit, so the map fills up.
        senders = [
            subprocess.Popen([sys.executable, "-c", _SENDER + "import time; time.sleep(3)"], cwd=ROOT)
            for _ in range(SENDERS)
        ]
        time.sleep(1.5)
        records = run.records_after()
        for sender in senders:
            sender.kill()
            sender.wait()
    finally:
        status, errors = run.stop()
    assert (status, errors) == (0, "")
    dropped = max(record.get("dropped_updates", 0) for record in records)
    assert dropped >= 2 * (SENDERS - ENTRIES), (
        "each sender past the map's size loses its send and its receive"
    )
    totals = totals_by_pid(records)
    counted = [pid for pid in (sender.pid for sender in senders) if pid in totals]
    assert 0 < len(counted) <= ENTRIES
    assert all(totals[pid] == (3000, 3000) for pid in counted)  # those that fit are still exact


def test_exits_the_kernel_could_not_record_are_found_at_once() -> None:
    """With room for one exit per interval, the others stay in the process map: user space must
    notice (drops[1] grows) and check everyone then, not at its slow periodic check."""
    run = _run_with_map_size("EXITED_ENTRIES", 1)
    try:
        run.next_record(timeout=60)
        exit_at = time.time() + 1.5  # seen alive for several intervals first, then all exit together
        wait = f"import time; time.sleep(max(0, {exit_at} - time.time()))"
        senders = [
            subprocess.Popen([sys.executable, "-c", _SENDER + wait], cwd=ROOT) for _ in range(SENDERS // 4)
        ]
        for sender in senders:
            sender.wait(timeout=30)
        exited = time.monotonic()
        gone: dict[int, float] = {}
        records = []
        while len(gone) < len(senders) and time.monotonic() < exited + 5:
            record = run.next_record()
            records.append(record)
            for process in record["processes"]:
                if not process["alive"]:
                    gone.setdefault(process["pid"], time.monotonic() - exited)
        records += run.records_after()
    finally:
        status, errors = run.stop()
    assert (status, errors) == (0, "")
    pids = [sender.pid for sender in senders]
    assert all(pid in gone for pid in pids), "every exited sender is reported gone"
    assert max(gone[pid] for pid in pids) < 2.0, "found gone at once, not at the 30 s check"
    totals = totals_by_pid(records)
    assert all(totals[pid] == (3000, 3000) for pid in pids)
