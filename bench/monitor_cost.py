"""What the monitor itself costs: CPU and RSS, headless and in the TUI, beside nethogs as a baseline.

    sudo .venv/bin/python -m bench.monitor_cost [--rounds 3] [--seconds 15]

Loads: idle; bulk TCP over loopback (iperf3, 128 KiB writes); 1,000 processes holding 2,000 open
loopback connections, each sending 64 bytes per connection every second (bench/many_connections.py).
The monitors run in turn, round after round, each measured over the same window.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.lib import (
    NETHOGS,
    NETWATCH,
    NETWATCH_JSON,
    ROOT,
    Monitor,
    conditions_line,
    cpu_seconds,
    median,
    memory_kib,
    table,
    write_result,
)


@contextmanager
def idle(seconds: float) -> Iterator[None]:
    yield


@contextmanager
def bulk_tcp(seconds: float) -> Iterator[None]:
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", "5298", "-A", "0"], stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    client = subprocess.Popen(
        ["iperf3", "-c", "127.0.0.1", "-p", "5298", "-A", "1", "-t", str(seconds + 5), "-l", "128K"],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        for process in (client, server):
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def many_connections(seconds: float) -> Iterator[None]:
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.many_connections", "--seconds", str(seconds + 20)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert load.stdout is not None
    load.stdout.readline()
    time.sleep(2)  # every connection is open and talking
    try:
        yield
    finally:
        load.terminate()
        load.wait(timeout=60)


LOADS = {"idle": idle, "bulk TCP": bulk_tcp, "1,000 processes, 2,000 connections": many_connections}


@contextmanager
def tui_running() -> Iterator[int]:
    """netwatch's TUI in a tmux session; yields the netwatch process's pid."""
    session = "netwatch-bench"
    command = "exec " + " ".join([*NETWATCH, "--format", "tui", "--interval", "1"])
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", "-c", str(ROOT), command],
        check=True,
    )
    try:
        pid = int(
            subprocess.check_output(["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"], text=True)
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            screen = subprocess.check_output(["tmux", "capture-pane", "-p", "-t", session], text=True)
            if "tracepoints" in screen or "kprobes" in screen:
                break
            time.sleep(0.2)
        yield pid
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def measure_tui(seconds: float) -> tuple[float, int]:
    with tui_running() as pid:
        start_cpu, start = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        cpu = cpu_seconds(pid) - start_cpu
        return 100 * cpu / (time.monotonic() - start), memory_kib(pid, "VmHWM")


def measure_headless(monitor: Monitor, seconds: float) -> tuple[float, int]:
    with monitor.running() as cost:
        time.sleep(seconds)
    return cost.cpu_percent, cost.peak_rss_kib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    options = parser.parse_args()
    monitors = {
        "netwatch --format json": lambda: measure_headless(NETWATCH_JSON, options.seconds),
        "netwatch TUI": lambda: measure_tui(options.seconds),
        "nethogs (baseline)": lambda: measure_headless(NETHOGS, options.seconds),
    }
    results: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for _ in range(options.rounds):
        for load_name, load in LOADS.items():
            for monitor_name, measure in monitors.items():
                with load(options.seconds):
                    results.setdefault((load_name, monitor_name), []).append(measure())
    rows = []
    for load_name in LOADS:
        baseline = median([cpu for cpu, _ in results[(load_name, "nethogs (baseline)")]])
        for monitor_name in monitors:
            runs = results[(load_name, monitor_name)]
            cpu = median([cpu for cpu, _ in runs])
            ratio = f"x{cpu / baseline:.2f}" if baseline > 0 else "-"
            peak = max(rss for _, rss in runs) / 1024
            rows.append([load_name, monitor_name, f"{cpu:.2f} %", ratio, f"{peak:.0f} MB"])
    section = [
        "## Monitor cost: CPU and memory of the monitor itself",
        f"Conditions: {conditions_line()}; {options.seconds:g} s windows, "
        f"{options.rounds} interleaved rounds. "
        "CPU is percent of one core (median); RSS is the peak (VmHWM) over all rounds; the ratio is "
        "against nethogs' CPU under the same load.",
        "",
        table(["load", "monitor", "CPU", "CPU vs nethogs", "peak RSS"], rows),
    ]
    write_result("monitor_cost", "\n".join(section))


if __name__ == "__main__":
    main()
