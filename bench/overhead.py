"""Loopback throughput with no monitor, with netwatch, and with nethogs, interleaved.

    sudo .venv/bin/python bench/overhead.py [--pairs 5] [--seconds 5]

For each load (iperf3 TCP with 128 KiB writes, TCP with 128-byte writes, UDP 1400-byte datagrams;
server and client pinned to different CPUs) the conditions run in turn, round after round. Reported:
median throughput and its ratio to the no-monitor runs, each monitor's CPU and peak RSS, how many of
iperf3's bytes each monitor booked to the iperf3 processes, and the probe's own run time per event
(kernel.bpf_stats_enabled, switched off again afterwards).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.lib import (
    NETHOGS,
    NETWATCH_JSON,
    NO_MONITOR,
    Monitor,
    conditions_line,
    median,
    nethogs_bytes,
    netwatch_bytes,
    table,
    write_result,
)

LOADS = {
    "TCP 128 KiB writes": ["-l", "128K"],
    "TCP 128 B writes": ["-l", "128"],
    "UDP 1400 B datagrams": ["-u", "-b", "0", "-l", "1400"],
}
PORT = 5299


@dataclass
class LoadRun:
    monitor: str
    bits_per_second: float
    sent_bytes: int
    received_bytes: int
    booked: tuple[int, int]  # what the monitor booked: client's tx, server's rx
    cpu_percent: float
    peak_rss_kib: int


def run_iperf(arguments: list[str], seconds: float) -> tuple[dict, int, int]:
    """One iperf3 run over 127.0.0.1; returns its JSON report and the client and server pids."""
    server = subprocess.Popen(
        ["iperf3", "-s", "-1", "-p", str(PORT), "-A", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    client = subprocess.Popen(
        ["iperf3", "-c", "127.0.0.1", "-p", str(PORT), "-A", "1", "-t", str(seconds), "--json", *arguments],
        stdout=subprocess.PIPE,
        text=True,
    )
    output = client.communicate(timeout=seconds + 30)[0]
    server.wait(timeout=30)
    return json.loads(output), client.pid, server.pid


def throughput(report: dict, udp: bool) -> tuple[float, int, int]:
    """(received bits per second, bytes sent, bytes received) from an iperf3 client report."""
    end = report["end"]
    if udp:
        total = end["sum"]
        received = (total["packets"] - total["lost_packets"]) * 1400
        return received * 8 / total["seconds"], total["bytes"], received
    return end["sum_received"]["bits_per_second"], end["sum_sent"]["bytes"], end["sum_received"]["bytes"]


def one_run(monitor: Monitor, arguments: list[str], seconds: float) -> LoadRun:
    with monitor.running() as cost:
        report, client, server = run_iperf(arguments, seconds)
        time.sleep(1.5)  # one more monitor interval, so the last bytes are reported
    bits, sent, received = throughput(report, "-u" in arguments)
    if monitor is NETWATCH_JSON:
        booked = (netwatch_bytes(cost.output, client)[0], netwatch_bytes(cost.output, server)[1])
    elif monitor is NETHOGS:
        booked = (nethogs_bytes(cost.output, client)[0], nethogs_bytes(cost.output, server)[1])
    else:
        booked = (0, 0)
    return LoadRun(monitor.name, bits, sent, received, booked, cost.cpu_percent, cost.peak_rss_kib)


def per_event_run_time(seconds: float) -> list[list[str]]:
    """Run time per event of each of netwatch's programs under the 128-byte TCP load."""
    stats = Path("/proc/sys/kernel/bpf_stats_enabled")
    was = stats.read_text()
    stats.write_text("1")
    try:
        process = subprocess.Popen(
            [*NETWATCH_JSON.command], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert process.stdout is not None
        process.stdout.readline()
        before = _program_stats(process.pid)
        run_iperf(LOADS["TCP 128 B writes"], seconds)
        after = _program_stats(process.pid)
        process.terminate()
        process.wait(timeout=20)
    finally:
        stats.write_text(was)
    rows = []
    for program, (run_time, count) in sorted(after.items()):
        runs = count - before.get(program, (0, 0))[1]
        if runs:
            per_event = (run_time - before.get(program, (0, 0))[0]) / runs
            rows.append([program, f"{runs:,}", f"{per_event:.0f} ns"])
    return rows


def _program_stats(pid: int) -> dict[str, tuple[int, int]]:
    """run_time_ns and run_cnt of the programs a process holds, by program name."""
    names = {
        p["id"]: p.get("name", "?") for p in json.loads(subprocess.check_output(["bpftool", "prog", "-j"]))
    }
    stats = {}
    for fdinfo in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = fdinfo.read_text()
        except FileNotFoundError:  # closed since the listing (such as the listing's own fd)
            continue
        program = re.search(r"^prog_id:\s+(\d+)", text, re.MULTILINE)
        run_time = re.search(r"^run_time_ns:\s+(\d+)", text, re.MULTILINE)
        if program and run_time:  # a link names its program too, without the statistics
            count = int(re.search(r"^run_cnt:\s+(\d+)", text, re.MULTILINE).group(1))
            stats[names.get(int(program.group(1)), program.group(1))] = (int(run_time.group(1)), count)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    options = parser.parse_args()
    monitors = [NO_MONITOR, NETWATCH_JSON, NETHOGS]
    rows = []
    for load, arguments in LOADS.items():
        runs: dict[str, list[LoadRun]] = {monitor.name: [] for monitor in monitors}
        for round_number in range(options.pairs):
            # ABBA order: a drift of the machine within a round then favours no condition.
            for monitor in monitors if round_number % 2 == 0 else reversed(monitors):
                runs[monitor.name].append(one_run(monitor, arguments, options.seconds))
        for monitor in monitors:
            mine = runs[monitor.name]
            rate = median([run.bits_per_second for run in mine])
            # Each run against the no-monitor run beside it: slow drifts of the machine cancel out.
            ratios = [run.bits_per_second / base.bits_per_second for run, base in zip(mine, runs["none"])]
            row = [
                load,
                monitor.name,
                f"{rate / 1e9:.2f} Gbit/s",
                f"x{median(ratios):.3f} ({', '.join(f'{ratio:.3f}' for ratio in ratios)})",
            ]
            if monitor is NO_MONITOR:
                row += ["-", "-", "-"]
            else:
                sent_share = median([run.booked[0] / run.sent_bytes for run in mine])
                received_share = median([run.booked[1] / run.received_bytes for run in mine])
                row += [
                    f"{median([run.cpu_percent for run in mine]):.1f} %",
                    f"{max(run.peak_rss_kib for run in mine) / 1024:.0f} MB",
                    f"{sent_share:.4f} / {received_share:.4f}",
                ]
            rows.append(row)
    header = ["load", "monitor", "throughput (median)", "vs none: median of pairs (each pair)",
              "monitor CPU", "peak RSS", "booked / iperf3 bytes (sent / received)"]  # fmt: skip
    section = [
        "## Overhead and accuracy: netwatch and nethogs against no monitor",
        f"Conditions: {conditions_line()}; iperf3 over 127.0.0.1, server on CPU 0, client on CPU 1, "
        f"{options.seconds:g} s per run, {options.pairs} interleaved rounds (none, netwatch, nethogs, then "
        "the reverse). "
        "netwatch: `--format json --interval 1`; nethogs: `-t -a -C -v 2 -d 1`. Booked bytes include "
        "iperf3's small control connection, so a perfect count is a hair above 1.",
        "",
        table(header, rows),
        "",
        "### BPF run time per event (TCP 128 B load, `kernel.bpf_stats_enabled`)",
        table(["program", "runs", "run time per run"], per_event_run_time(options.seconds)),
    ]
    write_result("overhead", "\n".join(section))


if __name__ == "__main__":
    main()
