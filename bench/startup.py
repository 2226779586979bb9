"""Start-up: time from launching the monitor to its first report that shows traffic.

    sudo .venv/bin/python -m bench.startup [--rounds 5]

A loopback load (bench/many_connections.py: a few processes, each sending every 0.1 s) runs
throughout; netwatch (`--format json --interval 0.2`) and nethogs (`-t -a -d 1`, the baseline) are
launched in turn, and the clock stops at the first output line that books bytes to a process.

netwatch is timed twice: as every run but the first starts, putting back the program compiled
before (probe/program_cache.py), and as a first run does, compiling it with BCC
(NETWATCH_PROBE_CACHE=off, which also leaves the cache as it is). One untimed run first fills the
cache, should it be empty.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Callable

from bench.lib import NETWATCH, ROOT, conditions_line, median, table, write_result


def netwatch_has_data(line: str) -> bool:
    return bool(json.loads(line)["processes"])


def nethogs_has_data(line: str) -> bool:
    parts = line.rstrip("\n").rsplit("\t", 2)
    return (
        len(parts) == 3
        and not parts[0].startswith("unknown")
        and (float(parts[1]) > 0 or float(parts[2]) > 0)
    )


SEND_PERIOD = 0.1  # the load's own period, short so that it adds little to what is measured
LOAD = [sys.executable, "-m", "bench.many_connections", "--processes", "4", "--seconds", "600"]
NETWATCH_COMMAND = [*NETWATCH, "--format", "json", "--interval", "0.2"]
MONITORS: dict[str, tuple[list[str], Callable[[str], bool], dict[str, str]]] = {
    "netwatch --format json --interval 0.2, first run (compiles)": (
        NETWATCH_COMMAND,
        netwatch_has_data,
        {"NETWATCH_PROBE_CACHE": "off"},
    ),
    "netwatch --format json --interval 0.2": (NETWATCH_COMMAND, netwatch_has_data, {}),
    "nethogs -t -a -d 1 (baseline)": (["nethogs", "-t", "-a", "-d", "1"], nethogs_has_data, {}),
}


def time_to_data(command: list[str], has_data: Callable[[str], bool], environment: dict[str, str]) -> float:
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, **environment},
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if has_data(line):
                return time.monotonic() - start
        raise RuntimeError(f"{command[0]} ended without data")
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    load = subprocess.Popen(
        [*LOAD, "--period", str(SEND_PERIOD)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert load.stdout is not None
    load.stdout.readline()
    times: dict[str, list[float]] = {name: [] for name in MONITORS}
    try:
        time_to_data(NETWATCH_COMMAND, netwatch_has_data, {})  # fills the cache, untimed
        for _ in range(options.rounds):
            for name, (command, has_data, environment) in MONITORS.items():
                times[name].append(time_to_data(command, has_data, environment))
    finally:
        load.terminate()
        load.wait(timeout=60)
    baseline = median(times["nethogs -t -a -d 1 (baseline)"])
    rows = [
        [
            name,
            f"{median(values):.2f} s",
            f"x{median(values) / baseline:.2f}",
            ", ".join(f"{v:.2f}" for v in values),
        ]
        for name, values in times.items()
    ]
    section = [
        "## Start-up: launch to the first report with traffic",
        f"Conditions: {conditions_line()}; {options.rounds} interleaved rounds; 4 processes sending 64 B "
        f"per connection every {SEND_PERIOD:g} s throughout.",
        "",
        table(["monitor", "median", "vs nethogs", "each run"], rows),
    ]
    write_result("startup", "\n".join(section))


if __name__ == "__main__":
    main()
