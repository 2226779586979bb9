"""TUI memory once the history is full: RSS with 1,000 busy processes, interval by interval.

    .venv/bin/python -m bench.ui_memory [--processes 1000] [--intervals 300] [--rounds 2]

Each row keeps HISTORY_LENGTH (240) intervals of history, so with busy processes the TUI grows for
its first four minutes, which monitor_cost's 15-second windows do not see. Here a headless Textual
app at 200x50 is fed synthetic snapshots (no probe, no root needed) as fast as it takes them, each
condition in a fresh child process, and its RSS is read at checkpoints. The baseline is the same
app fed as many snapshots with no process in them. Rounds alternate baseline and load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys

from bench.bench_ui import SIZE, many_processes
from bench.lib import ROOT, conditions_line, median, memory_kib, table, write_result
from netwatch_tui.model.history import HISTORY_LENGTH

CHECKPOINTS = (15, 60, 120, HISTORY_LENGTH, HISTORY_LENGTH + 120)


async def feed_app(processes: int, intervals: int) -> dict[str, int]:
    """Run the app on ``intervals`` snapshots of ``processes`` processes; RSS (KiB) at each checkpoint."""
    from netwatch_tui.app import NetwatchApp
    from netwatch_tui.messages import SnapshotReady
    from netwatch_tui.synthetic import SyntheticSource

    source = SyntheticSource(many_processes(processes), count=0)  # fed here, one snapshot at a time
    app = NetwatchApp(source)
    rss: dict[str, int] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for tick in range(intervals):
            app.post_message(SnapshotReady(source.snapshot(tick)))
            await pilot.pause()
            if tick + 1 in (*CHECKPOINTS, intervals):
                rss[str(tick + 1)] = memory_kib(os.getpid(), "VmRSS")
    rss["peak"] = memory_kib(os.getpid(), "VmHWM")
    return rss


# Each child starts as `netwatch` starts its TUI: with OpenSSL kept out before asyncio is imported.
CHILD = (
    "from netwatch_tui.no_tls import keep_tls_out; keep_tls_out(); from bench.ui_memory import child; child()"
)


def child() -> None:
    """In the child: feed the app ``sys.argv[1]`` processes for ``sys.argv[2]`` intervals, print the RSS."""
    processes, intervals = (int(value) for value in sys.argv[1:3])
    print(json.dumps(asyncio.run(feed_app(processes, intervals))))


def run_child(processes: int, intervals: int) -> dict[str, int]:
    command = [sys.executable, "-c", CHILD, str(processes), str(intervals)]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--intervals", type=int, default=2 * HISTORY_LENGTH)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    conditions = {"no processes (baseline)": 0, f"{options.processes:,} busy processes": options.processes}
    runs: dict[str, list[dict[str, int]]] = {name: [] for name in conditions}
    for _ in range(options.rounds):
        for name, processes in conditions.items():
            runs[name].append(run_child(processes, options.intervals))
    columns = [*(str(point) for point in CHECKPOINTS), str(options.intervals), "peak"]
    baseline = median([run[str(options.intervals)] for run in runs["no processes (baseline)"]])
    rows = []
    for name, results in runs.items():
        figures = {column: median([run[column] for run in results]) for column in columns}
        ratio = figures[str(options.intervals)] / baseline
        rows.append([name, *(f"{figures[column] / 1024:.0f} MB" for column in columns), f"x{ratio:.2f}"])
    write_result(
        "ui_memory",
        "\n".join(
            [
                "## TUI memory as the history fills",
                f"{conditions_line()}. A headless Textual app at {SIZE[0]}x{SIZE[1]} fed synthetic snapshots "
                f"as fast as it takes them (the process rows change every interval, all of them busy); "
                f"RSS after that many intervals, each the median of {options.rounds} runs in fresh "
                f"processes, baseline and load alternating. Rows keep {HISTORY_LENGTH} intervals of "
                "history: past that the TUI should stay flat. Goal: <= 45 MB steady state.",
                "",
                table(
                    ["condition", *(f"after {column}" for column in columns[:-1]), "peak", "vs baseline"],
                    rows,
                ),
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
