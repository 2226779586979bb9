"""Hardening against the real probe: process churn beside thousands of open connections, hostile
process names end to end."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.markers import requires_bpf
from tests.netwatch_run import ROOT, NetwatchRun, stop_child, totals_by_pid, traffic_child, wait_for_file

pytestmark = requires_bpf
CHURN_DRIVER = Path(__file__).resolve().parent.parent / "churn_driver.py"


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE).group(1))


@pytest.fixture
def open_connections() -> subprocess.Popen[str]:
    """50 processes holding 2,000 open loopback connections, each talking once a second."""
    holder = subprocess.Popen(
        [sys.executable, "-m", "bench.many_connections", "--processes", "50", "--connections", "40",
         "--seconds", "90"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
    yield holder
    holder.terminate()
    holder.wait(timeout=60)


def test_churn_is_exact_memory_flat_and_no_process_lingers(open_connections: subprocess.Popen[str]) -> None:
    run = NetwatchRun("--format", "json", "--interval", "0.5")
    try:
        records = [run.next_record(timeout=60) for _ in range(4)]  # warmed up: every connection seen
        # The holders all talk at the same moment each second: one of these intervals shows them all.
        assert max(sum(p["conns"] for p in record["processes"]) for record in records) >= 2000
        rss_before = rss_kib(run.process.pid)
        driver = subprocess.run(
            [sys.executable, str(CHURN_DRIVER), "200", "3"], capture_output=True, text=True, timeout=180
        )
        assert driver.returncode == 0, driver.stderr
        lines = [json.loads(line) for line in driver.stdout.splitlines()]
        assert lines[-1] == {"done": True, "failures": 0}
        children = {line["pid"]: line["bytes"] for line in lines[:-1]}
        assert len(children) >= 300  # hundreds a second, as fast as this machine forks
        records += run.records_after(3)
        rss_after = rss_kib(run.process.pid)
    finally:
        status, errors = run.stop()
    assert (status, errors) == (0, "")
    totals = totals_by_pid(records)
    wrong = {
        pid: (totals.get(pid), (size, size))
        for pid, size in children.items()
        if totals.get(pid) != (size, size)
    }
    assert not wrong, f"{len(wrong)} of {len(children)} children miscounted, e.g. {list(wrong.items())[:3]}"
    # Each child's last appearance says it is gone, and nothing is shown of it afterwards.
    last_seen = {}
    for index, record in enumerate(records):
        for process in record["processes"]:
            last_seen[process["pid"]] = (index, process["alive"])
    assert all(last_seen[pid][1] is False for pid in children)
    assert rss_after - rss_before < 8 * 1024, f"RSS grew from {rss_before} KiB to {rss_after} KiB"


HOSTILE_NAME = '[red]x\x1b[2J,"q'


def test_hostile_names_stay_literal_and_well_formed(tmp_path: Path) -> None:
    """A program whose file name holds Rich markup, an escape sequence, a comma and a quote."""
    hostile = tmp_path / HOSTILE_NAME
    hostile.symlink_to(sys.executable)
    portfile = tmp_path / "port"
    server = traffic_child("tcp-server", "4", str(portfile), "1000", "2000")
    port = wait_for_file(portfile)
    json_run = NetwatchRun("--format", "json", "--interval", "0.3")
    csv_run = NetwatchRun("--format", "csv", "--interval", "0.3")
    try:
        json_run.next_record(timeout=60)
        while csv_run.next_line(timeout=60) != "\n":
            pass
        client = subprocess.Popen(
            [str(hostile), str(ROOT / "tests" / "traffic_child.py"), "tcp-client", "4", port, "1000", "2000"],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert stop_child(client) == 0
        assert stop_child(server) == 0
        records = json_run.records_after()
        csv_lines = [csv_run.next_line() for _ in range(8)]
    finally:
        json_run.stop()
        csv_run.stop()
    mine = [p for r in records for p in r["processes"] if p["pid"] == client.pid]
    assert mine and all(p["name"] == HOSTILE_NAME[:15] for p in mine)
    assert sum(p["tx_bytes"] for p in mine) == 1000
    rows = [
        row
        for row in csv.reader([line for line in csv_lines if line and line != "\n"], skipinitialspace=True)
    ]
    ours = [row for row in rows if row[0] == str(client.pid)]
    assert ours and all(len(row) == 5 for row in rows)
    assert ours[0][1] == HOSTILE_NAME[:15].replace("\x1b", "\\x1b")
