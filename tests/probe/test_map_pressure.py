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


def test_a_full_process_map_is_reported() -> None:
    os.environ["NETWATCH_PROC_ENTRIES"] = str(ENTRIES)
    try:
        run = NetwatchRun("--format", "json", "--interval", "0.3")
    finally:
        del os.environ["NETWATCH_PROC_ENTRIES"]
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
