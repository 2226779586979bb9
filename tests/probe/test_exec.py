"""A process that runs another program (exec) keeps its pid, its start time and its sockets: netwatch
must go on counting its bytes exactly, under its new name and command line, to its last record."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.markers import requires_bpf
from tests.netwatch_run import NetwatchRun, stop_child

pytestmark = requires_bpf

# Sends 1,000 bytes, then on "go" runs AFTER (by a link named NEW_NAME to Python) on the same socket.
BEFORE = """
import os, socket, sys
port, program = int(sys.argv[1]), sys.argv[2]
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sender.sendto(b"a" * 1000, ("127.0.0.1", port))
print("sent", flush=True)
sys.stdin.readline()
os.set_inheritable(sender.fileno(), True)
os.execv(program, [program, "-c", sys.argv[3], str(sender.fileno()), str(port), "after-exec"])
"""
# Sends 2,000 bytes on the socket it inherited, then exits on the next line.
AFTER = """
import socket, sys
sender = socket.socket(fileno=int(sys.argv[1]))
sender.sendto(b"b" * 2000, ("127.0.0.1", int(sys.argv[2])))
print("sent", flush=True)
sys.stdin.readline()
"""
NEW_NAME = "renamed-python"


def records_of(records: list[dict[str, Any]], pid: int) -> list[dict[str, Any]]:
    return [process for record in records for process in record["processes"] if process["pid"] == pid]


def test_a_process_is_renamed_when_it_runs_another_program(tmp_path: Path) -> None:
    link = tmp_path / NEW_NAME
    link.symlink_to(sys.executable)
    run = NetwatchRun("--format", "json", "--interval", "0.3")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        port = receiver.getsockname()[1]
        run.next_record(timeout=60)  # attached: the child's bytes are all counted
        child = subprocess.Popen(
            [sys.executable, "-c", BEFORE, str(port), str(link), AFTER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdin is not None and child.stdout is not None
            assert child.stdout.readline() == "sent\n"
            before = records_of(run.records_after(), child.pid)
            assert [p["tx_bytes"] for p in before] == [1000]
            assert before[0]["name"].startswith("python") and before[0]["cmdline"].split()[-1] != "after-exec"

            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline() == "sent\n"  # from the new program
            after = records_of(run.records_after(), child.pid)
            assert [p["tx_bytes"] for p in after] == [2000]
            assert after[0]["tx_total"] == 3000
            assert after[0]["name"] == NEW_NAME
            assert after[0]["cmdline"].split()[-1] == "after-exec"
            assert after[0]["start_time"] == before[0]["start_time"]

            child.stdin.write("\n")
            child.stdin.flush()
            assert stop_child(child) == 0
            last = records_of(run.records_after(), child.pid)
            assert [(p["alive"], p["name"], p["tx_total"]) for p in last] == [(False, NEW_NAME, 3000)]
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            status, errors = run.stop()
    assert status == 0, errors
