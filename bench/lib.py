"""What the benchmarks share: monitors to run beside a load, process costs, medians, result files.

Every benchmark interleaves its conditions (A B A B ...) in the same run, because these machines
are noisy, and reports medians and ratios against the baseline measured beside them.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
NETWATCH = [sys.executable, "-m", "netwatch_tui"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid: int, field_name: str) -> int:
    """A /proc/PID/status memory figure (VmRSS, VmHWM) in KiB."""
    match = re.search(rf"^{field_name}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


@dataclass
class MonitorCost:
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    peak_rss_kib: int = 0
    final_rss_kib: int = 0  # at the end of the window: the steady state, after the start-up peak
    output: str = ""

    @property
    def cpu_percent(self) -> float:
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0


@dataclass
class Monitor:
    """A monitor run beside a load: how to start it and how to know it is ready."""

    name: str
    command: list[str] = field(default_factory=list)
    ready: Callable[[subprocess.Popen[str]], None] = lambda process: None

    @contextmanager
    def running(self, warmup: float = 0.0) -> Iterator[MonitorCost]:
        """Run the monitor; on exit its CPU time, wall time, peak and final RSS and output are filled in,
        measured from ``warmup`` seconds after it is ready."""
        cost = MonitorCost()
        if not self.command:
            yield cost
            return
        process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
        )
        chunks: list[str] = []
        drain: threading.Thread | None = None
        try:
            self.ready(process)
            # Read the output as it comes: a monitor whose output pipe fills up stops working and
            # would look cheap (netwatch's JSON at 1,000 processes fills a pipe in one interval).
            drain = threading.Thread(target=_read_all, args=(process, chunks), daemon=True)
            drain.start()
            time.sleep(warmup)
            start_cpu, start = cpu_seconds(process.pid), time.monotonic()
            yield cost
            cost.cpu_seconds = cpu_seconds(process.pid) - start_cpu
            cost.wall_seconds = time.monotonic() - start
            cost.peak_rss_kib = memory_kib(process.pid, "VmHWM")
            cost.final_rss_kib = memory_kib(process.pid, "VmRSS")
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if drain is not None:
                drain.join(timeout=20)
            cost.output = "".join(chunks)


def _read_all(process: subprocess.Popen[str], chunks: list[str]) -> None:
    assert process.stdout is not None
    for chunk in iter(lambda: process.stdout.read(1 << 16), ""):  # type: ignore[union-attr]
        chunks.append(chunk)


def _first_line(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    process.stdout.readline()


def _settle(process: subprocess.Popen[str]) -> None:
    time.sleep(2.0)


NO_MONITOR = Monitor("none")
NETWATCH_JSON = Monitor("netwatch", [*NETWATCH, "--format", "json", "--interval", "1"], _first_line)
NETHOGS = Monitor("nethogs", ["nethogs", "-t", "-a", "-C", "-v", "2", "-d", "1"], _settle)


def netwatch_bytes(output: str, pid: int) -> tuple[int, int]:
    """The (tx, rx) bytes netwatch's NDJSON output booked to ``pid``."""
    tx = rx = 0
    for line in output.splitlines():
        for process in json.loads(line)["processes"]:
            if process["pid"] == pid:
                tx += process["tx_bytes"]
                rx += process["rx_bytes"]
    return tx, rx


def nethogs_bytes(output: str, pid: int) -> tuple[int, int]:
    """The last (sent, received) totals nethogs' trace mode (-t -v 2) showed for ``pid``."""
    tx = rx = 0
    for line in output.splitlines():
        parts = line.rsplit("\t", 2)
        if len(parts) == 3 and parts[0].split("/")[-2:-1] == [str(pid)]:
            tx, rx = int(float(parts[1])), int(float(parts[2]))
    return tx, rx


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def conditions_line() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{time.strftime('%Y-%m-%d')}, Linux {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}"
    )


def write_result(name: str, markdown: str) -> Path:
    """Keep one benchmark's section for bench/run_all.py to gather into bench/RESULTS.md."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n")
    print(markdown)
    return path


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
