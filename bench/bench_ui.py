"""UI work per snapshot with 1,000 processes: what the TUI spends on the event loop for each interval.

    .venv/bin/python -m bench.bench_ui [--processes 1000] [--snapshots 40]

Three conditions run interleaved on the same synthetic snapshots (no probe, no root needed):
- model only (the baseline): fold the snapshot into rows and history, filter, sort and format every
  cell as strings, without Textual;
- handler: the app's SnapshotReady handler (the same model work, plus diffing the DataTable and
  updating changed cells, the status line) in a headless Textual app;
- handler + paint: posting the next snapshot's message and waiting until the app is idle again (the
  screen composed), in wall-clock time;
- idle wait alone: the same wait with no message, the test harness's own share of the line above
  (it sleeps until the process stops using the CPU);
- handler + paint, CPU time: the same span as handler + paint in CPU time, which leaves the
  harness's sleeping out: the UI work per snapshot, the figure the goal is about.
Medians in ms per snapshot, and each condition's ratio to the baseline measured beside it.

Then processes arriving and leaving in bulk (a parallel job starting and ending): the CPU time of the
snapshot in which all of them appear, of a steady one after it, and of the one in which all but one
of them leave at once (their rows gone after lingering as exited), with the table's own removal
and, alternating with it, with DataTable.remove_row called for each row (the baseline: it renumbers
every remaining row for each one it removes).

Last, the detail view's list of a process's connections (2,000 of them, every one moving bytes each
interval): the CPU time of showing a new list and painting it, with the list's own widget and, in
turns with it, as it was first done (the baseline): a DataTable cleared and filled again with Rich
Text cells every interval, which measured every cell for its auto-width columns.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from functools import partial

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable

from bench.lib import conditions_line, median, table, write_result
from netwatch_tui.app import NetwatchApp
from netwatch_tui.messages import SnapshotReady
from netwatch_tui.model.cells import row_cells
from netwatch_tui.model.columns import layout
from netwatch_tui.model.monitor import Monitor
from netwatch_tui.model.snapshot import Connection, Snapshot
from netwatch_tui.model.table_rows import KEEP_EXITED
from netwatch_tui.model.view import ViewOptions, visible_rows
from netwatch_tui.synthetic import FakeProcess, SyntheticSource, server_connections
from netwatch_tui.widgets.connection_table import COLUMNS, ConnectionTable, connection_texts
from netwatch_tui.widgets.process_table import ProcessTable

SIZE = (200, 50)


def many_processes(count: int) -> list[FakeProcess]:
    """Processes with different, cycling byte patterns, so the order changes from one interval to the next."""
    return [
        FakeProcess(
            pid=10_000 + index,
            name=f"worker-{index}",
            user=f"user{index % 17}",
            cmdline=f"/usr/bin/worker --id {index}",
            tx=tuple((index * 7919 + step * 104_729) % 500_000 for step in range(3 + index % 5)),
            rx=tuple((index * 6007 + step * 130_003) % 800_000 for step in range(2 + index % 7)),
            conns=1 + index % 4,
        )
        for index in range(count)
    ]


def model_only(monitor: Monitor, snapshot: Snapshot, options: ViewOptions) -> None:
    frame = monitor.ingest(snapshot)
    specs = layout(SIZE[0], options.totals_first)
    for row in visible_rows(frame, options):
        row_cells(row, specs, options, snapshot.interval)


async def measure(processes: int, snapshots: int, warmup: int) -> dict[str, list[float]]:
    source = SyntheticSource(many_processes(processes), count=0)  # the benchmark feeds the app itself
    # Two fresh snapshots per round, one for the handler alone and one for handler + paint: painting
    # a snapshot the handler has just shown would mostly redraw cells already drawn.
    ticks = iter(range(2 * (warmup + snapshots)))
    feed = [(source.snapshot(next(ticks)), source.snapshot(next(ticks))) for _ in range(warmup + snapshots)]
    times: dict[str, list[float]] = {
        "model only (baseline)": [],
        "handler": [],
        "handler + paint": [],
        "idle wait alone": [],
        "handler + paint, CPU time": [],
    }
    baseline = Monitor()
    options = ViewOptions()
    app = NetwatchApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for index, (snapshot, next_snapshot) in enumerate(feed):
            start = time.perf_counter()
            model_only(baseline, snapshot, options)
            model = time.perf_counter() - start

            start = time.perf_counter()
            app.on_snapshot_ready(SnapshotReady(snapshot))
            handler = time.perf_counter() - start
            await pilot.pause()

            start, start_cpu = time.perf_counter(), time.process_time()
            app.post_message(SnapshotReady(next_snapshot))
            await pilot.pause()
            painted, painted_cpu = time.perf_counter() - start, time.process_time() - start_cpu

            start = time.perf_counter()
            await pilot.pause()
            idle = time.perf_counter() - start
            if index >= warmup:
                for name, seconds in zip(times, (model, handler, painted, idle, painted_cpu)):
                    times[name].append(seconds * 1000)
    return times


BULK = ("rows appear", "steady", "rows leave", "rows leave, remove_row for each (baseline)")


def _remove_one_by_one(table: ProcessTable, pids: list[int]) -> None:
    for pid in pids:
        table.remove_row(str(pid))
        table._shown.pop(pid, None)


async def _cpu_ms(pilot: Pilot[None], snapshot: Snapshot) -> float:
    start = time.process_time()
    pilot.app.post_message(SnapshotReady(snapshot))
    await pilot.pause()
    return (time.process_time() - start) * 1000


async def measure_bulk(processes: int, rounds: int) -> dict[str, list[float]]:
    many = SyntheticSource(many_processes(processes), count=0)
    one = SyntheticSource(many_processes(1), count=0)  # the first of them, the one that stays
    times: dict[str, list[float]] = {name: [] for name in BULK}
    ticks = iter(range(1_000_000))
    app = NetwatchApp(many)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        process_table = app.query_one(ProcessTable)
        for _ in range(rounds):
            for baseline in (False, True):
                if baseline:
                    process_table._remove_rows = partial(_remove_one_by_one, process_table)  # type: ignore[method-assign]
                times["rows appear"].append(await _cpu_ms(pilot, many.snapshot(next(ticks))))
                times["steady"].append(await _cpu_ms(pilot, many.snapshot(next(ticks))))
                for _ in range(KEEP_EXITED):  # the others are missing: their rows linger, dimmed
                    await _cpu_ms(pilot, one.snapshot(next(ticks)))
                leave = await _cpu_ms(pilot, one.snapshot(next(ticks)))
                assert process_table.row_count == 1
                times[BULK[3] if baseline else BULK[2]].append(leave)
                if baseline:
                    del process_table._remove_rows
    return times


def bulk_section(processes: int, rounds: int, times: dict[str, list[float]]) -> str:
    steady = median(times["steady"])
    rows = [
        [
            name,
            f"{median(values):.1f}",
            ", ".join(f"{value:.0f}" for value in values),
            f"x{median(values) / steady:.2f}",
        ]
        for name, values in times.items()
    ]
    ratio = median(times[BULK[2]]) / median(times[BULK[3]])
    return "\n".join(
        [
            f"### {processes:,} processes arriving and leaving at once",
            f"Handler + paint, CPU time, {rounds} rounds of each; the two ways of removing rows alternate. "
            f"The table's removal against remove_row for each row: x{ratio:.3f}.",
            "",
            table(["snapshot", "median ms", "each", "vs steady"], rows),
        ]
    )


class _ConnectionList(App[None]):
    """The list alone, as the detail view holds it; ``cleared``: the baseline's DataTable instead."""

    def __init__(self, cleared: bool) -> None:
        super().__init__()
        self.cleared = cleared

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="none", zebra_stripes=True) if self.cleared else ConnectionTable()

    def on_mount(self) -> None:
        if self.cleared:
            self.query_one(DataTable).add_columns(*COLUMNS)

    def show(self, connections: list[Connection]) -> None:
        if not self.cleared:
            self.query_one(ConnectionTable).show(connections)
            return
        table = self.query_one(DataTable)
        table.clear()
        for connection in connections:
            *named, tx, rx = connection_texts(connection)
            table.add_row(
                *(Text(text, no_wrap=True) for text in named),
                Text(tx, justify="right"),
                Text(rx, justify="right"),
            )


async def measure_connections(count: int, rounds: int, intervals: int = 5) -> dict[bool, list[float]]:
    """Median CPU ms per interval of each round, by whether the baseline (cleared) list was used."""
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for cleared in (False, True):
            app = _ConnectionList(cleared)
            async with app.run_test(size=SIZE) as pilot:
                spent = []
                for interval in range(intervals + 1):
                    connections = server_connections(count, 2048 * interval)
                    start = time.process_time()
                    app.show(connections)
                    await pilot.pause()
                    spent.append((time.process_time() - start) * 1000)
                times[cleared].append(median(spent[1:]))  # the first list is built either way
    return times


def connections_section(count: int, rounds: int, times: dict[bool, list[float]]) -> str:
    ours, cleared = median(times[False]), median(times[True])
    rows = [
        [name, f"{median(values):.1f}", ", ".join(f"{value:.0f}" for value in values)]
        for name, values in (
            ("the list's own widget", times[False]),
            ("cleared and filled (baseline)", times[True]),
        )
    ]
    return "\n".join(
        [
            f"### The detail view's list of {count:,} connections",
            f"Showing a new list and painting it, CPU time, median of 5 intervals per round, {rounds} rounds "
            "alternating; every connection's bytes change each interval. "
            f"Against the baseline: x{ours / cleared:.3f}.",
            "",
            table(["list", "median ms", "each round"], rows),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--snapshots", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--bulk-rounds", type=int, default=5)
    options = parser.parse_args()
    times = asyncio.run(measure(options.processes, options.snapshots, options.warmup))
    bulk = asyncio.run(measure_bulk(options.processes, options.bulk_rounds))
    listed = asyncio.run(measure_connections(2 * options.processes, options.bulk_rounds))
    base = median(times["model only (baseline)"])
    rows = [
        [
            name,
            f"{median(values):.1f}",
            f"{min(values):.1f}",
            f"{max(values):.1f}",
            f"x{median(values) / base:.2f}",
        ]
        for name, values in times.items()
    ]
    write_result(
        "bench_ui",
        "\n".join(
            [
                "## UI work per snapshot",
                f"{conditions_line()}. {options.processes} processes, {options.snapshots} snapshots "
                f"per condition (after {options.warmup} warm-up), interleaved; headless Textual app at "
                f"{SIZE[0]}x{SIZE[1]}. Goal: <= 50 ms of UI work per snapshot (the CPU-time line).",
                "",
                table(["condition", "median ms", "min ms", "max ms", "vs baseline"], rows),
                "",
                bulk_section(options.processes, options.bulk_rounds, bulk),
                "",
                connections_section(2 * options.processes, options.bulk_rounds, listed),
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
