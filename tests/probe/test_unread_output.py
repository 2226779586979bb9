"""A reader that stops reading: netwatch waits on the full pipe instead of piling records up, and once
the reader comes back, no byte moved meanwhile is missing (the next record covers the longer
interval)."""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.markers import requires_bpf
from tests.netwatch_run import ROOT, netwatch_command, totals_by_pid

pytestmark = requires_bpf
PIPE_BYTES = 4096  # the smallest pipe: a few dozen records fill it
STALL_SECONDS = 5.0
CHUNKS, CHUNK = 40, 3000
# Sends CHUNKS datagrams of CHUNK bytes to itself over STALL_SECONDS - 1 s, then exits.
_SENDER = f"""
import socket, time
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", 0))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.connect(a.getsockname())
for _ in range({CHUNKS}):
    b.send(b"u" * {CHUNK}); a.recv(65536); time.sleep({(STALL_SECONDS - 1) / CHUNKS})
"""


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE).group(1))


def test_a_stalled_reader_loses_nothing_and_costs_no_memory() -> None:
    netwatch = subprocess.Popen(
        netwatch_command("--format", "json", "--interval", "0.05"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert netwatch.stdout is not None and netwatch.stderr is not None
    try:
        fcntl.fcntl(netwatch.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        first = netwatch.stdout.readline()  # attached and calibrated
        assert first, netwatch.stderr.read().decode()
        rss_before = _rss_kib(netwatch.pid)
        sender = subprocess.Popen([sys.executable, "-c", _SENDER])
        assert sender.wait(timeout=60) == 0
        # Nobody has read for STALL_SECONDS at 20 records a second: far more than the pipe holds.
        time.sleep(1.0)  # the sender took the other STALL_SECONDS - 1
        blocked_rss = _rss_kib(netwatch.pid)
        records = [json.loads(first)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # catch up; the sender's last bytes come in a later record
            line = netwatch.stdout.readline()
            records.append(json.loads(line))
            if records[-1]["time"] > time.time() - 0.2 and sender.pid in totals_by_pid(records):
                break
        records += [json.loads(netwatch.stdout.readline()) for _ in range(3)]
    finally:
        netwatch.terminate()
        netwatch.wait(timeout=20)
    assert netwatch.returncode == 0, netwatch.stderr.read().decode()
    assert totals_by_pid(records)[sender.pid] == (CHUNKS * CHUNK, CHUNKS * CHUNK)
    # netwatch waited for the reader: one record covers most of the stall, instead of a backlog of
    # 0.05 s records kept in memory.
    assert max(record["interval"] for record in records) > STALL_SECONDS / 2
    assert blocked_rss - rss_before < 2048, f"RSS grew {blocked_rss - rss_before} KiB while blocked"
