"""What the monitor itself costs: CPU and RSS, headless and in the TUI, beside nethogs as a baseline.

    sudo .venv/bin/python -m bench.monitor_cost [--rounds 3] [--seconds 15]

Loads: idle; bulk TCP over loopback (iperf3, 128 KiB writes); 1,000 processes holding 2,000 open
loopback connections, each sending 64 bytes per connection every second (bench/many_connections.py),
and the same processes sending every 10 s (most of them idle in any one interval; measured after a
warm-up in which the monitor has seen them all). The monitors run in turn, round after round, each
measured over the same window.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from functools import partial
from typing import NamedTuple

import psutil

from bench.lib import (
    NETHOGS,
    NETWATCH,
    NETWATCH_JSON,
    ROOT,
    Monitor,
    MonitorCost,
    conditions_line,
    cpu_seconds,
    median,
    memory_kib,
    table,
    write_result,
)
from netwatch_tui.connection_counter import FULL_RECOUNT_SECONDS
from netwatch_tui.connections import ConnectionTables


@contextmanager
def idle(seconds: float) -> Iterator[float]:
    yield 0.0


@contextmanager
def bulk_tcp(seconds: float) -> Iterator[float]:
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", "5298", "-A", "0"], stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    client = subprocess.Popen(
        ["iperf3", "-c", "127.0.0.1", "-p", "5298", "-A", "1", "-t", str(seconds + 5), "-l", "128K"],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield 0.0
    finally:
        for process in (client, server):
            process.terminate()
            process.wait(timeout=30)


def many_connections(period: float) -> Callable[[float], AbstractContextManager[float]]:
    """The 1,000-process load with each client sending every ``period`` seconds; the monitor warms
    up for one period, so that it has seen every process before it is measured."""
    return partial(_many_connections, period)


@contextmanager
def _many_connections(period: float, seconds: float) -> Iterator[float]:
    lifetime = seconds + 2 * period + 20
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.many_connections", "--seconds", str(lifetime), "--period", str(period)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert load.stdout is not None
    load.stdout.readline()
    time.sleep(2)  # every connection is open and talking
    try:
        yield period + 1.0
    finally:
        load.terminate()
        load.wait(timeout=60)


class Load(NamedTuple):
    """A load to measure under; ``run(seconds)`` yields the warm-up the monitor needs first."""

    run: Callable[[float], AbstractContextManager[float]]
    period: float = 0.0  # a load that repeats: how often

    def window(self, seconds: float) -> float:
        """At least ``seconds``, in whole periods: a window of 15 s over a load that repeats every
        10 s saw one or two of its bursts depending on where it started."""
        return math.ceil(seconds / self.period) * self.period if self.period else seconds


LOADS = {
    "idle": Load(idle),
    "bulk TCP": Load(bulk_tcp),
    "1,000 processes, 2,000 connections": Load(many_connections(1.0), 1.0),
    "the same, each sending every 10 s": Load(many_connections(10.0), 10.0),
}


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


def measure_tui(seconds: float, warmup: float) -> MonitorCost:
    with tui_running() as pid:
        time.sleep(warmup)
        start_cpu, start = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        return MonitorCost(
            cpu_seconds=cpu_seconds(pid) - start_cpu,
            wall_seconds=time.monotonic() - start,
            peak_rss_kib=memory_kib(pid, "VmHWM"),
            final_rss_kib=memory_kib(pid, "VmRSS"),
        )


def measure_headless(monitor: Monitor, seconds: float, warmup: float) -> MonitorCost:
    with monitor.running(warmup) as cost:
        time.sleep(seconds)
    return replace(cost, output="")  # its figures only: a run's output can be megabytes


def full_recount_cost(rounds: int) -> tuple[float, float]:
    """CPU milliseconds of one full connection recount of the 1,000-process load (median of
    ``rounds``), and its share of a core at one recount per FULL_RECOUNT_SECONDS: periodic work
    that a 15 s window may or may not catch."""
    with _many_connections(1.0, 10.0):
        pids = sorted(
            child.pid
            for child in psutil.Process().children(recursive=True)
            if "bench.many_connections" in " ".join(child.cmdline())
        )
        costs = []
        for _ in range(rounds):
            start = time.process_time()
            ConnectionTables(pids)
            costs.append(1000 * (time.process_time() - start))
    milliseconds = median(costs)
    return milliseconds, 100 * (milliseconds / 1000) / FULL_RECOUNT_SECONDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    options = parser.parse_args()
    monitors: dict[str, Callable[[float, float], MonitorCost]] = {
        "netwatch --format json": partial(measure_headless, NETWATCH_JSON),
        "netwatch TUI": measure_tui,
        "nethogs (baseline)": partial(measure_headless, NETHOGS),
    }
    results: dict[tuple[str, str], list[MonitorCost]] = {}
    for _ in range(options.rounds):
        for load_name, load in LOADS.items():
            seconds = load.window(options.seconds)
            for monitor_name, measure in monitors.items():
                with load.run(seconds) as warmup:
                    results.setdefault((load_name, monitor_name), []).append(measure(seconds, warmup))
    rows = []
    for load_name in LOADS:
        baseline = median([run.cpu_percent for run in results[(load_name, "nethogs (baseline)")]])
        for monitor_name in monitors:
            runs = results[(load_name, monitor_name)]
            cpu = median([run.cpu_percent for run in runs])
            ratio = f"x{cpu / baseline:.2f}" if baseline > 0 else "-"
            peak = max(run.peak_rss_kib for run in runs) / 1024
            final = median([run.final_rss_kib for run in runs]) / 1024
            rows.append([load_name, monitor_name, f"{cpu:.2f} %", ratio, f"{final:.1f} MB", f"{peak:.1f} MB"])
    recount_ms, recount_percent = full_recount_cost(options.rounds)
    section = [
        "## Monitor cost: CPU and memory of the monitor itself",
        f"Conditions: {conditions_line()}; {options.seconds:g} s windows (a load that repeats: whole "
        "periods of it, at least as long), "
        f"{options.rounds} interleaved rounds. "
        "CPU is percent of one core (median); steady RSS is VmRSS at the end of each window (median), "
        "peak RSS the highest VmHWM over all rounds (start-up included); the ratio is against nethogs' "
        "CPU under the same load.",
        "",
        table(["load", "monitor", "CPU", "CPU vs nethogs", "steady RSS", "peak RSS"], rows),
        "",
        f"Not in the windows above: every {FULL_RECOUNT_SECONDS:g} s netwatch recounts every process's "
        f"connections (see connection_counter.py). With the 1,000-process load one recount takes "
        f"{recount_ms:.0f} ms of CPU (median of {options.rounds}), {recount_percent:.2f} % of a core "
        "on average, to be added to the figures of that load.",
    ]
    write_result("monitor_cost", "\n".join(section))


if __name__ == "__main__":
    main()
