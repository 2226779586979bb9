"""Run the real ``netwatch`` command as a user would, and read what it prints."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TRAFFIC_CHILD = Path(__file__).resolve().parent / "traffic_child.py"


def netwatch_command(*args: str, module: str = "netwatch_tui") -> list[str]:
    """The command line; ``module`` may name a wrapper under tests/ that runs the same CLI."""
    return [sys.executable, "-m", module, *args]


class NetwatchRun:
    """A running ``netwatch`` whose stdout lines are collected by a reader thread."""

    def __init__(self, *args: str, module: str = "netwatch_tui") -> None:
        self.process = subprocess.Popen(
            netwatch_command(*args, module=module),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_line(self, timeout: float = 30.0) -> str | None:
        """The next line, or None at end of output; fails the test after ``timeout`` seconds."""
        line = self.lines.get(timeout=timeout)
        if line is not None:
            self.seen.append(line)
        return line

    def next_record(self, timeout: float = 30.0) -> dict[str, Any]:
        line = self.next_line(timeout)
        assert line is not None, f"netwatch ended early: {self.stop_and_stderr()}"
        return json.loads(line)

    def drain(self) -> list[dict[str, Any]]:
        """Every record printed so far and not yet read."""
        records = []
        while not self.lines.empty():
            records.append(self.next_record())
        return records

    def records_after(self, intervals: int = 2) -> list[dict[str, Any]]:
        """Every record up to ``intervals`` records stamped after now: once traffic has ended, its
        last bytes are in these (however late the output reaches this reader)."""
        now = time.time()
        records = self.drain()
        later = sum(record["time"] > now for record in records)
        while later < intervals:
            records.append(self.next_record())
            later += records[-1]["time"] > now
        return records

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20.0) -> tuple[int, str]:
        """Send ``signum``, wait for the exit; return (exit status, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        assert self.process.stderr is not None
        return self.process.returncode, self.process.stderr.read()

    def stop_and_stderr(self) -> str:
        return self.stop()[1]


def totals_by_pid(records: list[dict[str, Any]]) -> dict[int, tuple[int, int]]:
    """Per pid, the sum of every interval's (tx_bytes, rx_bytes)."""
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        for process in record["processes"]:
            sums[process["pid"]][0] += process["tx_bytes"]
            sums[process["pid"]][1] += process["rx_bytes"]
    return {pid: (tx, rx) for pid, (tx, rx) in sums.items()}


def wait_for_file(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text()
        time.sleep(0.01)
    raise TimeoutError(f"{path} did not appear")


def traffic_child(*args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(TRAFFIC_CHILD), *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        text=True,
    )


def stop_child(child: subprocess.Popen[str], timeout: float = 20.0) -> int:
    """Wait for a child to finish its transfer; kill it by pid if it overstays."""
    try:
        return child.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        raise
